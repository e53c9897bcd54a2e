"""Time leaders' reports on a big database: 1,000,000 records across 500 teams.

    python benchmarks/reports_bench.py [--records 1000000] [--teams 500] [--db PATH] [--keep]
    python benchmarks/reports_bench.py --province [--records 5000000] [--teams 1000] [--communes 100]

With --province: one province of 1,000 teams in 100 communes and 5,000,000 records over a year,
built with bulk SQL (recursive CTEs, indexes created after the insert), then times the roll-up of
the province (broken down by commune) and of one commune (by team) for a month and a quarter, and
the province's official Excel. Aims (issue 15): province report <= 1 s, commune <= 200 ms, province
Excel <= 10 s.

Builds a temporary SQLite file (bulk insert, one transaction), then times for one team:
`team_report` for this month, `/baocao thang` through `respond`, `/xuat thang` (Excel) and
`/bieudo thang` (PNG) through `respond`. Prints the figures; asserts nothing about speed.
Aims: report under 200 ms, export of a month under 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import reports, scheduler
from bot.app import compose
from bot.config import Settings
from bot.core import Incoming, respond
from bot.storage import Storage
from knowledge.kb import KnowledgeBase
from knowledge.loader import load
from knowledge.services import load_catalogue

TODAY = dt.date(2026, 11, 18)
DAYS = 365
VILLAGES, MEMBERS, HOUSEHOLDS = 6, 12, 400  # per team
NOW = "2026-11-18T00:00:00+00:00"
OUTCOMES = ("done",) * 7 + ("unfinished",) * 2 + ("followup",)


def build(store: Storage, n_records: int, n_teams: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    services = [(s.code, s.skill) for s in load_catalogue().services]
    conn = store.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO teams (id, name, commune, created_at) VALUES (?, ?, ?, ?)",
                     [(t, f"Tổ CNS xã Số {t}", f"Xã Số {t}", NOW) for t in range(1, n_teams + 1)])
    conn.executemany("INSERT INTO villages (id, team_id, name, households) VALUES (?, ?, ?, ?)",
                     [((t - 1) * VILLAGES + v, t, f"Thôn {v}", rnd.choice((None, 150, 300, 500)))
                      for t in range(1, n_teams + 1) for v in range(1, VILLAGES + 1)])
    members = [((t - 1) * MEMBERS + m, t, f"Thành viên {m}", "leader" if m == 1 else "member", 1, NOW)
               for t in range(1, n_teams + 1) for m in range(1, MEMBERS + 1)]
    conn.executemany("INSERT INTO members (id, team_id, display_name, role, active, joined_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", members)
    conn.executemany("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                     [(f"console:m{m[0]}", m[0], f"m{m[0]}", NOW) for m in members])
    conn.executemany(
        "INSERT INTO households (id, team_id, village_id, head_name, head_key, phone_last3, erased, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
        [((t - 1) * HOUSEHOLDS + h, t, (t - 1) * VILLAGES + 1 + h % VILLAGES, f"Nguyễn Văn Hộ {h}",
          f"nguyen van ho {h}", f"{h % 1000:03d}", NOW)
         for t in range(1, n_teams + 1) for h in range(1, HOUSEHOLDS + 1)])
    start = TODAY - dt.timedelta(days=DAYS - 1)
    days = [(start + dt.timedelta(days=d)).isoformat() for d in range(DAYS)]
    batch_r, batch_s = [], []
    for rid in range(1, n_records + 1):
        t = rnd.randint(1, n_teams)
        h = (t - 1) * HOUSEHOLDS + rnd.randint(1, HOUSEHOLDS)
        village = (t - 1) * VILLAGES + 1 + (h - (t - 1) * HOUSEHOLDS) % VILLAGES
        chosen = rnd.sample(services, rnd.choice((1, 1, 2, 3)))
        outcome = rnd.choice(OUTCOMES)
        day = rnd.choice(days)
        batch_r.append((rid, f"r{rid}", t, (t - 1) * MEMBERS + rnd.randint(1, MEMBERS), h, village, day,
                        ",".join(c for c, _ in chosen), outcome, day if outcome == "followup" else None,
                        "Ghi chú ngắn", NOW, NOW, int(rnd.random() < 0.01)))
        batch_s.extend((rid, c, s) for c, s in chosen)
        if len(batch_r) == 50_000:
            _flush(conn, batch_r, batch_s)
    _flush(conn, batch_r, batch_s)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA synchronous = NORMAL")


def _flush(conn, records: list, services: list) -> None:
    conn.executemany(
        "INSERT INTO records (id, request_id, team_id, member_id, household_id, village_id, helped_on, services, "
        "outcome, followup_on, note, created_at, updated_at, deleted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        records)
    conn.executemany("INSERT INTO record_services (record_id, service, skill) VALUES (?, ?, ?)", services)
    records.clear()
    services.clear()


def timed(fn, runs: int) -> tuple[float, float]:
    """Median and max wall time in milliseconds."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


def build_province(store: Storage, n_records: int, n_teams: int, n_communes: int) -> None:
    """Bulk SQL: no Python loop per row. Deterministic (arithmetic on the row number, no random())."""
    conn = store.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -200000")
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
                           "tbl_name IN ('records', 'record_services')").fetchall()
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'records'"
                            ).fetchall()
    conn.execute("BEGIN")
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    for name, _ in triggers:  # the tallies and spans are filled in one statement each after the insert
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("INSERT INTO units (id, kind, name, key, households, adults, figures_on, created_at) "
                 "VALUES (1, 'province', 'Tỉnh Đo Tải', 'do tai', NULL, NULL, NULL, ?)", (NOW,))
    conn.execute(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?) "
        "INSERT INTO units (id, kind, name, commune_type, parent_id, key, created_at) "
        "SELECT n + 1, 'commune', 'Số ' || n, 'xa', 1, 'so ' || n, ? FROM c", (n_communes, NOW))
    conn.execute(
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < ?) "
        "INSERT INTO teams (id, name, commune, commune_id, created_at) "
        "SELECT n, 'Tổ CNS số ' || n, 'Xã Số ' || ((n - 1) % ? + 1), (n - 1) % ? + 2, ? FROM t",
        (n_teams, n_communes, n_communes, NOW))
    conn.execute(
        "WITH RECURSIVE v(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM v WHERE n < ?) "
        "INSERT INTO villages (id, team_id, name, households, adults, figures_on) "
        "SELECT n, (n - 1) / ? + 1, 'Thôn ' || ((n - 1) % ? + 1), 150 + n % 300, 400 + n % 700, '2026-01-01' FROM v",
        (n_teams * VILLAGES, VILLAGES, VILLAGES))
    conn.execute(
        "WITH RECURSIVE m(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM m WHERE n < ?) "
        "INSERT INTO members (id, team_id, display_name, role, active, joined_at) "
        "SELECT n, (n - 1) / ? + 1, 'Thành viên ' || n, CASE WHEN (n - 1) % ? = 0 THEN 'leader' ELSE 'member' END, "
        "1, ? FROM m", (n_teams * MEMBERS, MEMBERS, MEMBERS, NOW))
    conn.execute(
        "WITH RECURSIVE h(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM h WHERE n < ?) "
        "INSERT INTO households (id, team_id, village_id, head_name, head_key, phone_last3, erased, created_at) "
        "SELECT n, (n - 1) / ? + 1, ((n - 1) / ?) * ? + (n % ?) + 1, 'Hộ ' || n, 'ho ' || n, '123', 0, ? FROM h",
        (n_teams * HOUSEHOLDS, HOUSEHOLDS, HOUSEHOLDS, VILLAGES, VILLAGES, NOW))
    start = (TODAY - dt.timedelta(days=DAYS - 1)).isoformat()
    # Record n: a team, one of its households (and that household's village), a member, a day of the year.
    # The household comes from n / teams, not n, so that a team's records reach all its households.
    conn.execute(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < ?), "
        "p AS (SELECT n, (n * 7919) % ? + 1 AS t, ((n / ?) * 104729) % ? AS h FROM r) "
        "INSERT INTO records (id, request_id, team_id, member_id, household_id, village_id, helped_on, services, "
        "outcome, followup_on, note, created_at, updated_at, deleted, people, achieved) "
        "SELECT n, 'r' || n, t, (t - 1) * ? + (n * 31) % ? + 1, (t - 1) * ? + h + 1, (t - 1) * ? + ((h + 1) % ?) + 1, "
        "date(?, '+' || ((n * 37) % ?) || ' days'), "
        "CASE n % 4 WHEN 0 THEN 'vneid2' WHEN 1 THEN 'bank_account' WHEN 2 THEN 'vneid2,bank_account' "
        "ELSE 'dvc_dossier' END, CASE WHEN n % 10 < 7 THEN 'done' WHEN n % 10 < 9 THEN 'unfinished' "
        "ELSE 'followup' END, NULL, NULL, ?, ?, n % 100 = 0, 1 + n % 3, "
        "CASE WHEN n % 10 >= 7 THEN '' WHEN n % 4 = 0 THEN 'vneid2_active:' || (1 + n % 3) "
        "WHEN n % 4 = 1 THEN 'payment_account:1' WHEN n % 4 = 2 THEN 'payment_account:1,vneid2_active:' "
        "|| (1 + n % 3) ELSE '' END FROM p",
        (n_records, n_teams, n_teams, HOUSEHOLDS, MEMBERS, MEMBERS, HOUSEHOLDS, VILLAGES, VILLAGES, start, DAYS, NOW, NOW))
    conn.execute("INSERT INTO record_services (record_id, service, skill) "
                 "SELECT id, 'vneid2', 'dichvucong' FROM records WHERE id % 4 IN (0, 2)")
    conn.execute("INSERT INTO record_services (record_id, service, skill) "
                 "SELECT id, 'bank_account', 'thanhtoan' FROM records WHERE id % 4 IN (1, 2)")
    conn.execute("INSERT INTO record_services (record_id, service, skill) "
                 "SELECT id, 'dvc_dossier', 'dichvucong' FROM records WHERE id % 4 = 3")
    conn.execute("INSERT INTO record_achievements (record_id, achievement, count) "
                 "SELECT id, 'vneid2_active', people FROM records WHERE id % 4 IN (0, 2) AND id % 10 < 7")
    conn.execute("INSERT INTO record_achievements (record_id, achievement, count) "
                 "SELECT id, 'payment_account', 1 FROM records WHERE id % 4 IN (1, 2) AND id % 10 < 7")
    conn.execute(
        "WITH RECURSIVE a(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM a WHERE n < ?) "
        "INSERT INTO activities (id, request_id, team_id, member_id, kind, held_on, village_id, attendees, "
        "created_at) SELECT n, 'a' || n, (n - 1) % ? + 1, ((n - 1) % ?) * ? + 1, "
        "CASE n % 3 WHEN 0 THEN 'tuyen_truyen' WHEN 1 THEN 'binh_dan_hoc_vu_so' ELSE 'luu_dong' END, "
        "date(?, '+' || ((n * 13) % ?) || ' days'), ((n - 1) % ?) * ? + 1, 10 + n % 60, ? FROM a",
        (n_teams * 50, n_teams, n_teams, MEMBERS, start, DAYS, n_teams, VILLAGES, NOW))
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("INSERT INTO tallies (team_id, month, services, achieved, records, people) "
                 "SELECT team_id, substr(helped_on, 1, 7), services, achieved, count(*), sum(people) FROM records "
                 "WHERE deleted = 0 GROUP BY 1, 2, 3, 4")
    conn.execute("INSERT INTO household_spans (team_id, household_id, records, first_on, last_on) "
                 "SELECT team_id, household_id, count(*), min(helped_on), max(helped_on) FROM records "
                 "WHERE deleted = 0 GROUP BY 1, 2")
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA synchronous = NORMAL")


def province_bench(store: Storage, path: Path, folder: Path) -> None:
    from bot import official, unitreport, units
    from bot.scope import Scope
    from knowledge.indicators import load_indicators

    db = store.db
    ind = load_indicators()
    cat = load_catalogue()
    province = units.provinces(db)[0]
    commune = units.communes(db, province.id)[len(units.communes(db, province.id)) // 2]
    for arg in ("thang", "01/10/2026-31/10/2026", "01/08/2026-31/10/2026", "01/01/2026-18/11/2026"):
        period = reports.parse_period(arg, TODAY)
        big = unitreport.build(db, Scope("province", province.id), period, ind)
        assert big.totals.numbers.records == sum(r.numbers.records for r in big.units)
        print(f"{period.label}: province {big.totals.numbers.records:,} records in {len(big.units)} communes")
        med, worst = timed(lambda p=period: unitreport.build(db, Scope("province", province.id), p, ind), 5)
        print(f"  province report: median {med:7.1f} ms  max {worst:7.1f} ms   (aim <= 1000 ms)")
        med, worst = timed(lambda p=period: unitreport.build(db, Scope("commune", commune.id), p, ind), 10)
        print(f"  commune report:  median {med:7.1f} ms  max {worst:7.1f} ms   (aim <= 200 ms)")
        out = folder / "province.xlsx"
        med, worst = timed(lambda p=period, out=out: official.write_official(
            db, unitreport.build(db, Scope("province", province.id), p, ind), cat, ind, TODAY, out), 3)
        print(f"  province Excel:  median {med:7.1f} ms  max {worst:7.1f} ms   (aim <= 10000 ms)")
        med, worst = timed(lambda p=period, out=out: official.write_official(
            db, unitreport.build(db, Scope("commune", commune.id), p, ind), cat, ind, TODAY, out), 3)
        print(f"  commune Excel (one row per record): median {med:7.1f} ms  max {worst:7.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--teams", type=int, default=None)
    parser.add_argument("--communes", type=int, default=100)
    parser.add_argument("--province", action="store_true", help="the province roll-up benchmark")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the database file")
    args = parser.parse_args()
    if args.province:
        args.records = args.records or 5_000_000
        args.teams = args.teams or 1000
        folder = Path(tempfile.mkdtemp(prefix="province_bench_"))
        path = args.db or folder / "province.db"
        fresh = not path.exists()
        store = Storage(path)
        if fresh:
            t0 = time.perf_counter()
            build_province(store, args.records, args.teams, args.communes)
            print(f"built {args.records:,} records, {args.teams} teams, {args.communes} communes in "
                  f"{time.perf_counter() - t0:.0f} s ({path.stat().st_size / 1e6:.0f} MB)")
        province_bench(store, path, folder)
        store.close()
        if not args.keep and args.db is None:
            for f in sorted(folder.rglob("*"), reverse=True):
                f.unlink() if f.is_file() else f.rmdir()
            folder.rmdir()
        return
    args.records = args.records or 1_000_000
    args.teams = args.teams or 500
    folder = Path(tempfile.mkdtemp(prefix="reports_bench_"))
    path = args.db or folder / "bench.db"
    fresh = not path.exists()
    store = Storage(path)
    if fresh:
        t0 = time.perf_counter()
        build(store, args.records, args.teams)
        print(f"built {args.records:,} records across {args.teams} teams in {time.perf_counter() - t0:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB)")
    fixture_kb = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "kb"
    settings = Settings(database_path=path, export_dir=folder / "exports")
    tz = dt.timezone(dt.timedelta(hours=7))
    deps = compose(settings=settings, storage=store, kb=KnowledgeBase(load(shipped_dir=fixture_kb)),
                clock=lambda: dt.datetime(2026, 11, 18, 9, 0, tzinfo=tz))
    team = min(250, args.teams)
    leader = f"m{(team - 1) * MEMBERS + 1}"
    period = reports.parse_period("thang", TODAY)
    cat = load_catalogue()
    report = reports.team_report(store.db, team, period, cat, TODAY)
    print(f"team {team}, {period.label}: {report.records} records, {report.households} households, "
          f"{report.service_times} services, {report.followups_open} open follow-ups")

    med, worst = timed(lambda: reports.team_report(store.db, team, period, cat, TODAY), 30)
    print(f"team_report thang:        median {med:7.1f} ms  max {worst:7.1f} ms   (aim < 200 ms)")

    async def ask(text: str) -> float:
        t0 = time.perf_counter()
        replies = await respond(Incoming("console", leader, leader, text=text), deps)
        elapsed = (time.perf_counter() - t0) * 1000
        assert replies and "tổ trưởng" not in replies[0].text[:40], replies[0].text
        return elapsed

    for label, command, runs, aim in (("/baocao thang via respond", "/baocao thang", 30, "< 200 ms"),
                                      ("/xuat thang via respond", "/xuat thang", 5, "< 3000 ms"),
                                      ("/bieudo thang via respond", "/bieudo thang", 5, ""),
                                      ("/xuat tatca via respond", "/xuat tatca", 3, "")):
        times = [await ask(command) for _ in range(runs)]
        print(f"{label:26s} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms   "
              f"{'(aim ' + aim + ')' if aim else ''}")
    slot = dt.datetime(2026, 11, 16, 7, 0, tzinfo=tz)
    t0 = time.perf_counter()
    digests = scheduler.build_digests(store.db, cat, slot)
    print(f"weekly digests, all teams: {len(digests)} built in {(time.perf_counter() - t0) * 1000:.0f} ms "
          "(off the event loop)")
    store.close()
    if not args.keep and args.db is None:
        for f in sorted(folder.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
        folder.rmdir()
    else:
        print(f"database kept at {path}")


if __name__ == "__main__":
    asyncio.run(main())
