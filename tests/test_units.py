"""Units, officials' roles and invites, the scope helper, indicators, roll-ups, the demo and `report`."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from bot import demo, teams, unitreport, units
from bot.__main__ import main
from bot.access import member_for
from bot.assist import catalogue
from bot.core import Deps
from bot.reports import parse_period
from bot.scope import Scope, for_member
from bot.storage import MIGRATIONS, Storage
from bot.when import Period
from knowledge.indicators import INDICATORS_FILE, check, load_indicators, parse

TODAY = dt.date(2026, 11, 18)
NOW = dt.datetime(2026, 11, 18, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def demo_store(tmp_path: Path) -> Storage:
    store = Storage(tmp_path / "demo.db")
    demo.seed(store, catalogue(), load_indicators(), TODAY)
    yield store
    store.close()


def commune_id(db, name: str) -> int:
    return units.find_units(db, "commune", name)[0].id


# --- migration of existing teams ------------------------------------------------------------------

def test_existing_teams_get_a_commune_from_their_name(tmp_path: Path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO schema_version VALUES (1, '2026-01-01')")
    for name, commune in (("Tổ A", "Xã Xuân Thượng"), ("Tổ B", "xa xuan thuong"), ("Tổ C", "Phường An Cựu"),
                          ("Tổ D", "Đặc khu Phú Quốc")):
        conn.execute("INSERT INTO teams (name, commune, created_at) VALUES (?, ?, '2026-01-01')", (name, commune))
    conn.execute("INSERT INTO invites (code, team_id, role, created_at, expires_at) "
                 "VALUES ('ABC234', 1, 'member', '2026-01-01', '2030-01-01')")
    conn.commit()
    conn.close()
    store = Storage(path)
    db = store.db
    rows = db.execute("SELECT t.name, u.name, u.commune_type FROM teams t JOIN units u ON u.id = t.commune_id "
                      "ORDER BY t.id").fetchall()
    assert rows == [("Tổ A", "Xuân Thượng", "xa"), ("Tổ B", "Xuân Thượng", "xa"), ("Tổ C", "An Cựu", "phuong"),
                    ("Tổ D", "Phú Quốc", "dackhu")]
    assert db.execute("SELECT count(*) FROM units").fetchone() == (3,)
    assert db.execute("SELECT team_id, unit_id FROM invites").fetchall() == [(1, None)]  # invites kept
    # The one-time admin step: a province adopts every commune without one.
    province, adopted = units.create_province(store, "Tỉnh Thừa Thiên Huế", None, NOW)
    assert adopted == 3
    assert {c.title for c in units.communes(db, province)} == {"Xã Xuân Thượng", "Phường An Cựu",
                                                                "Đặc khu Phú Quốc"}
    # And a team moved to another commune.
    target = units.create_commune(store, province, "Phường Thuận Hóa", None, NOW)
    assert units.place_team(store, 3, target, None, NOW)
    assert units.commune_of_team(db, 3).title == "Phường Thuận Hóa"
    assert not units.place_team(store, 3, province, None, NOW)  # a province is not a commune
    store.close()


def test_new_team_joins_the_only_province(storage):
    province, _ = units.create_province(storage, "Tỉnh Lào Cai", None, NOW)
    team = teams.create_team(storage, "Tổ CNS Bảo Hà", "Xã Bảo Hà", ["Thôn 1"], None, NOW)
    commune = units.commune_of_team(storage.db, team)
    assert commune.title == "Xã Bảo Hà" and commune.parent_id == province
    again = teams.create_team(storage, "Tổ CNS Bảo Hà 2", "bao ha", ["Thôn 2"], None, NOW)
    assert units.commune_of_team(storage.db, again).id == commune.id


# --- roles, invites, scope ------------------------------------------------------------------------

def test_official_invites_are_one_use_and_scoped(deps: Deps, demo_store):
    deps.storage = demo_store
    db = demo_store.db
    a = commune_id(db, "Tiên Tiến")
    code, _ = teams.create_invite(demo_store, None, "commune", None, NOW, unit_id=a)
    member_id, place, role = teams.redeem_invite(demo_store, code, "telegram:77", "77", "Chị Hạnh", NOW)
    assert role == "commune" and place.title == "Xã Tiên Tiến"
    me = member_for(deps, "telegram:77")
    assert (me.role, me.unit_id, me.team_id, me.is_official, me.is_leader) == ("commune", a, None, True, False)
    with pytest.raises(teams.InviteError) as err:
        teams.redeem_invite(demo_store, code, "telegram:78", "78", "Khác", NOW)
    assert err.value.reason == "used"
    with pytest.raises(teams.InviteError) as err:
        teams.redeem_invite(demo_store, code, "telegram:77", "77", "Chị Hạnh", NOW)
    assert err.value.reason == "already"
    with pytest.raises(ValueError):
        teams.create_invite(demo_store, 1, "commune", None, NOW)  # officials name a unit, not a team
    scope = for_member(me)
    mine = set(scope.team_ids(db))
    assert mine == {t for t, in db.execute("SELECT id FROM teams WHERE commune_id = ?", [a]).fetchall()}
    other = commune_id(db, "Phố Hiến")
    assert not scope.has_unit(db, other) and scope.has_unit(db, a)
    assert not any(scope.has_team(db, t) for t, in db.execute("SELECT id FROM teams WHERE commune_id = ?", [other]))


@pytest.mark.parametrize("key, level, teams_seen", [
    ("console:local", "province", 8), ("console:xa1", "commune", 3), ("console:xa2", "commune", 3),
    ("console:xa3", "commune", 2), ("console:to1", "team", 1), ("console:to1m1", "none", 0),
    ("console:admin", "all", 8), ("console:nobody", "none", 0),
])
def test_scope_for_every_role(deps: Deps, demo_store, key, level, teams_seen):
    deps.storage = demo_store
    scope = for_member(member_for(deps, key))
    assert scope.level == level and len(scope.team_ids(demo_store.db)) == teams_seen


# --- indicators -----------------------------------------------------------------------------------

def test_shipped_indicators_are_valid():
    result, errors = check()
    assert errors == [] and len(result.indicators) >= 10
    names = {i.name for i in result.indicators}
    assert "Số người được hỗ trợ kích hoạt tài khoản định danh điện tử mức 2" in names


def _file(**changes) -> dict:
    data = yaml.safe_load(INDICATORS_FILE.read_text(encoding="utf-8"))
    data["indicators"][0].update(changes)
    return data


@pytest.mark.parametrize("changes, problem", [
    ({"formula": "people / population.adult"}, "tên không có: population.adult"),
    ({"formula": "__import__('os').system('x')"}, "không dùng được"),
    ({"formula": "people **"}, "sai cú pháp"),
    ({"formula": "people ** 2"}, "không dùng được"),
    ({"unit": "cái"}, "'unit'"),
    ({"name": ""}, "thiếu 'name'"),
    ({"targets": [{"unit": "*", "period": "2026-13", "value": 5}]}, "'period'"),
    ({"targets": [{"period": "2026", "value": -1}]}, "số không âm"),
    ({"unit": "%", "targets": [{"period": "2026", "value": 120}]}, "lớn hơn 100"),
    ({"id": "vneid2"}, "bị trùng"),
])
def test_indicator_file_problems_are_found(changes, problem):
    _, errors = parse(_file(**changes), catalogue())
    assert any(problem in e for e in errors), errors


def test_indicator_cli_check(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "local"
    bad.mkdir()
    (bad / "indicators.yaml").write_text(yaml.safe_dump(_file(formula="people / nobody"), allow_unicode=True),
                                         encoding="utf-8")
    monkeypatch.setenv("KNOWLEDGE_LOCAL_DIR", str(bad))
    assert main(["indicators", "check"]) == 1
    assert "nobody" in capsys.readouterr().out
    monkeypatch.delenv("KNOWLEDGE_LOCAL_DIR")
    assert main(["indicators", "check"]) == 0


def test_indicator_values_and_targets():
    ind = next(i for i in load_indicators().indicators if i.id == "ty_le_vneid2")
    assert ind.evaluate({"achieved.vneid2_active": 30, "population.adults": 200}) == 15.0
    assert ind.evaluate({"achieved.vneid2_active": 30, "population.adults": None}) is None
    assert ind.evaluate({"achieved.vneid2_active": 30, "population.adults": 0}) is None
    target = ind.target_for(dt.date(2026, 11, 1), dt.date(2026, 11, 30), "Xã A", "commune")
    assert target.value == 60 and target.label == "năm 2026"
    assert ind.target_for(dt.date(2025, 12, 1), dt.date(2026, 1, 31), "Xã A", "commune") is None


# --- roll-ups -------------------------------------------------------------------------------------

def stored(db, where: str = "1 = 1", params=()) -> tuple[int, int]:
    return db.execute(f"SELECT count(*), coalesce(sum(people), 0) FROM records r WHERE r.deleted = 0 AND {where}",
                      list(params)).fetchone()


def test_demo_is_deterministic_and_realistic(tmp_path):
    first, second = Storage(tmp_path / "a.db"), Storage(tmp_path / "b.db")
    for store in (first, second):
        seeded = demo.seed(store, catalogue(), load_indicators(), TODAY)
    assert (seeded.communes, seeded.teams, seeded.members, seeded.records, seeded.activities) == (3, 8, 40, 2000, 60)
    dump = "SELECT team_id, member_id, household_id, helped_on, services, outcome, people FROM records ORDER BY id"
    assert first.db.execute(dump).fetchall() == second.db.execute(dump).fetchall()
    days = first.db.execute("SELECT min(helped_on), max(helped_on) FROM records").fetchone()
    assert days == ((TODAY - dt.timedelta(days=89)).isoformat(), TODAY.isoformat())
    assert first.db.execute("SELECT count(*) FROM members WHERE team_id IS NOT NULL").fetchone() == (40,)
    with pytest.raises(ValueError):
        demo.seed(first, catalogue(), load_indicators(), TODAY)
    first.close()
    second.close()


def test_every_total_is_the_sum_of_its_parts(demo_store):
    db = demo_store.db
    period = parse_period("tatca", TODAY)
    ind = load_indicators()
    province = units.provinces(db)[0]
    top = unitreport.build(db, Scope("province", province.id), period, ind)
    assert [r.level for r in top.units] == ["commune"] * 3
    t = top.totals.numbers
    assert (t.records, t.people) == stored(db) == (2000, stored(db)[1])
    assert t.households == db.execute("SELECT count(DISTINCT household_id) FROM records WHERE deleted = 0").fetchone()[0]
    assert t.records == sum(r.numbers.records for r in top.units)
    assert t.households == sum(r.numbers.households for r in top.units)
    assert t.achieved == {k: sum(r.numbers.achieved.get(k, 0) for r in top.units) for k in t.achieved}
    assert sum(t.sessions.values()) == 60 and sum(t.attendees.values()) == db.execute(
        "SELECT sum(attendees) FROM activities").fetchone()[0]
    assert t.achieved["vneid2_active"] == db.execute(
        "SELECT sum(count) FROM record_achievements WHERE achievement = 'vneid2_active'").fetchone()[0]
    for row in top.units:
        commune = unitreport.build(db, Scope("commune", row.id), period, ind)
        assert commune.totals.numbers.as_dict() == row.numbers.as_dict()
        assert [r.level for r in commune.units] == ["team"] * len(commune.units)
        assert commune.totals.numbers.records == sum(r.numbers.records for r in commune.units) == stored(
            db, "r.team_id IN (SELECT id FROM teams WHERE commune_id = ?)", [row.id])[0]
        for team_row in commune.units:
            team = unitreport.build(db, Scope("team", team_row.id), period, ind)
            assert team.totals.numbers.records == team_row.numbers.records
            assert team.totals.numbers.households == team_row.numbers.households
            assert team.totals.numbers.households == sum(r.numbers.households for r in team.units)
            assert team.totals.numbers.people == sum(r.numbers.people for r in team.units)
    # Percentages come from the summed numbers, never from summing percentages.
    share = next(i for i in top.totals.indicators if i.id == "ty_le_vneid2")
    assert share.value == pytest.approx(100 * t.achieved["vneid2_active"] / t.population_adults)
    assert share.target is None  # "from the start" is not inside the 2026 target's year
    month = unitreport.build(db, Scope("province", province.id), parse_period("thang", TODAY), ind)
    share = next(i for i in month.totals.indicators if i.id == "ty_le_vneid2")
    assert share.target == 60 and share.achieved_pct == pytest.approx(share.value / 60 * 100)


def test_a_period_counts_only_its_days(demo_store):
    db = demo_store.db
    period = parse_period("01/11/2026-18/11/2026", TODAY)
    report = unitreport.build(db, Scope("all"), period)
    assert report.totals.numbers.records == stored(db, "r.helped_on BETWEEN '2026-11-01' AND '2026-11-18'")[0]
    assert [r.level for r in report.units] == ["province"]


def test_report_command_json_equals_sum_over_communes_and_teams(tmp_path, capsys):
    db_path = tmp_path / "cli.db"
    assert main(["demo", "--db", str(db_path)]) == 0
    capsys.readouterr()
    assert main(["report", "--province", "Hưng Yên", "--period", "tatca", "--format", "json",
                 "--db", str(db_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"units", "totals", "indicators"} and doc["scope"]["level"] == "province"
    assert doc["totals"]["records"] == 2000 == sum(u["records"] for u in doc["units"])
    team_sum = 0
    for unit in doc["units"]:
        name = unit["name"].split(" ", 1)[1] if unit["name"].startswith("Xã") else unit["name"]
        assert main(["report", "--commune", name, "--period", "tatca", "--db", str(db_path)]) == 0
        commune = json.loads(capsys.readouterr().out)
        assert commune["totals"] == {k: v for k, v in unit.items() if k in commune["totals"]}
        team_sum += sum(t["records"] for t in commune["units"])
        assert sum(t["households"] for t in commune["units"]) == unit["households"]
    assert team_sum == doc["totals"]["records"]
    # A commune's report names only its own teams.
    assert main(["report", "--commune", "Tiên Tiến", "--period", "tatca", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert "Tổ CNS khu phố" not in out and "Phố Hiến" not in out and "Tổ CNS thôn Đông" in out
    assert main(["report", "--commune", "Không Có", "--db", str(db_path)]) == 2
    assert "không tìm thấy" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # one scope at a time
        main(["report", "--province", "X", "--team", "Y", "--db", str(db_path)])


def test_month_split():
    split = unitreport.month_split
    assert split(dt.date(2026, 8, 1), dt.date(2026, 10, 31)) == ("2026-08", "2026-10", [])
    assert split(dt.date(2026, 8, 15), dt.date(2026, 11, 18)) == (
        "2026-09", "2026-10", [(dt.date(2026, 8, 15), dt.date(2026, 8, 31)), (dt.date(2026, 11, 1), dt.date(2026, 11, 18))])
    assert split(dt.date(2026, 11, 1), dt.date(2026, 11, 18)) == (None, None, [(dt.date(2026, 11, 1), dt.date(2026, 11, 18))])
    assert split(dt.date(2026, 2, 1), dt.date(2026, 2, 28)) == ("2026-02", "2026-02", [])
    assert split(dt.date(2026, 12, 1), dt.date(2027, 1, 31)) == ("2026-12", "2027-01", [])


def test_tallies_follow_every_change_of_the_records(demo_store):
    from bot import assist

    db = demo_store.db
    ids = [r for r, in db.execute("SELECT id FROM records ORDER BY id LIMIT 6")]
    assist.update_record(demo_store, ids[0], 1, {"services": ["bills", "vneid2"]}, NOW)
    assist.delete_record(demo_store, ids[1], 1, NOW)
    with demo_store.transaction() as conn:
        conn.execute("UPDATE records SET helped_on = '2026-01-05', people = 4 WHERE id = ?", (ids[2],))
        conn.execute("UPDATE records SET team_id = 2 WHERE id = ?", (ids[3],))
        conn.execute("UPDATE records SET deleted = 0 WHERE id = ?", (ids[1],))  # undeleted again
        assist.set_achievements(conn, ids[4], {"vneid2_active": 3, "payment_account": 1})
        conn.execute("DELETE FROM record_services WHERE record_id = ?", (ids[5],))
        conn.execute("DELETE FROM record_achievements WHERE record_id = ?", (ids[5],))
        conn.execute("DELETE FROM records WHERE id = ?", (ids[5],))
        other = conn.execute("SELECT id FROM households WHERE team_id = 1 ORDER BY id DESC").fetchone()[0]
        conn.execute("UPDATE records SET household_id = ? WHERE id = ?", (other, ids[0]))
        conn.execute("UPDATE records SET deleted = 1 WHERE household_id = (SELECT household_id FROM records "
                     "WHERE id = ?)", (ids[2],))  # every visit of a household deleted: it leaves the spans
    household, team = db.execute("SELECT household_id, team_id FROM records WHERE id = ?", (ids[4],)).fetchone()
    assert assist.erase_household(demo_store, household, team, 1, NOW)
    raw = db.execute("SELECT team_id, substr(helped_on, 1, 7), services, achieved, count(*), sum(people) FROM records "
                     "WHERE deleted = 0 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4").fetchall()
    kept = db.execute("SELECT team_id, month, services, achieved, records, people FROM tallies WHERE records > 0 "
                      "ORDER BY 1, 2, 3, 4").fetchall()
    assert kept == raw
    assert db.execute("SELECT count(*) FROM tallies WHERE records < 0 OR (records = 0 AND people != 0)").fetchone() == (0,)
    # And a report over whole months (tallies) equals one over the same days read from the records.
    year = parse_period("01/01/2026-31/10/2026", TODAY)
    fast = unitreport.build(db, Scope("all"), year).totals.numbers
    assert (fast.records, fast.people) == stored(db, "r.helped_on BETWEEN '2026-01-01' AND '2026-10-31'")
    assert fast.achieved == dict(db.execute(
        "SELECT a.achievement, sum(a.count) FROM record_achievements a JOIN records r ON r.id = a.record_id "
        "WHERE r.deleted = 0 AND r.helped_on BETWEEN '2026-01-01' AND '2026-10-31' GROUP BY 1").fetchall())
    # The household spans (migration 6) match the live records, and distinct households per team read
    # from them equal those counted from the records, for periods cutting any way through the spans.
    assert db.execute("SELECT team_id, household_id, records, first_on, last_on FROM household_spans "
                      "ORDER BY 1, 2").fetchall() == db.execute(
        "SELECT team_id, household_id, count(*), min(helped_on), max(helped_on) FROM records WHERE deleted = 0 "
        "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    days = [d for d, in db.execute("SELECT DISTINCT helped_on FROM records ORDER BY 1")]
    assert len(days) > 5
    cuts = [(days[0], days[-1]), (days[1], days[-2]), (days[len(days) // 2], days[len(days) // 2]),
            (days[2], days[len(days) // 2]), ("2020-01-01", "2030-12-31"), ("2020-01-01", "2020-12-31")]
    for start, end in cuts:
        period = Period(dt.date.fromisoformat(start), dt.date.fromisoformat(end), "", "")
        for scope in (Scope("all"), Scope("province", units.provinces(db)[0].id), Scope("team", team)):
            fast = sorted(unitreport.households_per_team(db, scope, period, spans=True))
            assert fast == sorted(unitreport.households_per_team(db, scope, period, spans=False))
        expected = db.execute("SELECT count(DISTINCT team_id || ':' || household_id) FROM records "
                              "WHERE deleted = 0 AND helped_on BETWEEN ? AND ?", (start, end)).fetchone()[0]
        assert sum(n for _, n in unitreport.households_per_team(db, Scope("all"), period, spans=True)) == expected


def test_report_without_a_unit_extends_the_national_roll_up(tmp_path, capsys):
    db_path = tmp_path / "all.db"
    assert main(["demo", "--db", str(db_path)]) == 0
    capsys.readouterr()
    assert main(["report", "tatca", "--db", str(db_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "tcns-report/1" and len(doc["teams"]) == 8
    assert [u["name"] for u in doc["units"]] == [demo.PROVINCE] and doc["scope"]["level"] == "all"
    assert doc["totals"]["records"] == sum(t["records"] for t in doc["teams"]) == doc["units"][0]["records"] == 2000
    assert doc["totals"]["people"] == doc["units"][0]["people"] and doc["indicators"]


def test_teams_without_a_commune_and_villages_in_a_scope(storage):
    bao_ha = teams.create_team(storage, "Tổ CNS Bảo Hà", "Xã Bảo Hà", ["Thôn 2", "Thôn 1"], None, NOW)
    other = teams.create_team(storage, "Tổ CNS Xuân Quang", "Xã Xuân Quang", ["Bản Mới"], None, NOW)
    with storage.transaction() as conn:  # as the units migration leaves a team whose commune text was empty
        conn.execute("INSERT INTO teams (name, commune, created_at) VALUES ('Tổ Z', '', '2026-01-01')")
        conn.execute("INSERT INTO teams (name, commune, created_at) VALUES ('Tổ A', '', '2026-01-01')")
    assert units.teams_without_commune(storage.db) == ["Tổ A", "Tổ Z"]
    names = lambda scope: [name for _, name in units.villages_in(storage.db, scope)]  # noqa: E731
    assert names(Scope("team", bao_ha)) == ["Thôn 1", "Thôn 2"]
    assert names(Scope("commune", units.commune_of_team(storage.db, other).id)) == ["Bản Mới"]
    assert names(Scope("all", None)) == ["Bản Mới", "Thôn 1", "Thôn 2"]
    assert names(Scope("none", None)) == []
