"""One audit writer (bot/audit.py) for every change of data: each write function of bot/ adds exactly one audit
row for the one row it changes, in the same transaction; the few writes that are not the team's data (sessions,
seen messages, send-once claims, sign-in tokens...) are listed with the reason. A new write function fails the
structural test until it is put in one list or the other."""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import activities, asks, assist, export, followups, inbox, links, retention, review, teams, units
from bot.access import Admin
from bot.reports import Period
from bot.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 18, 2, 0, tzinfo=dt.UTC)

# module.function -> the audit table_name its one row names.
AUDITED = {
    "teams.create_team": "teams", "teams.set_village_size": "villages", "teams.create_invite": "invites",
    "teams.redeem_invite": "members", "teams.unlink": "identities", "teams.remove_member": "members",
    "assist.save_record": "records", "assist.update_record": "records", "assist.delete_record": "records",
    "assist.erase_household": "households", "review.approve": "records", "review.send_back": "records",
    "links.issue_code": "link_codes", "links.use_code": "identities", "links.drop_code": "link_codes",
    "asks.create": "leader_questions", "asks.answer": "leader_questions", "activities.log_activity": "activities",
    "followups.close": "followup_closes", "units.create_province": "units", "units.create_commune": "units",
    "units.place_team": "teams", "units.set_denominators": "villages", "inbox.close": "unanswered",
    "export.audit_export": "exports", "retention.apply": "households",
}
# Writes that are not a change of the teams' data, or that run inside an audited one.
NOT_AUDITED = {
    "storage.migrate": "schema upgrades, recorded in schema_version",
    "storage.save_session": "conversation state", "storage.prune_sessions": "conversation state",
    "storage.remember_delivered": "seen message ids (de-duplication; first_delivery writes through it)",
    "storage.add_unanswered": "questions anyone asks, redacted, for the inbox",
    "storage.add_feedback": "👍/👎 on answers",
    "scheduler._claim": "send-once claim of a digest", "followups._claim": "send-once claim of a reminder",
    "downloads.link_for": "a download token for a file just made", "export.forget_team_exports":
    "drops download tokens of deleted files", "web.auth.create_login": "sign-in token",
    "web.auth.redeem_login": "sign-in token", "web.auth.end_session": "sign-in session",
    "web.auth.revoke_member": "sign-in sessions of a removed member",
    "assist._services_rows": "inside save_record / update_record", "review._set": "inside approve / send_back", "assist.set_achievements": "inside update_record",
    "places.commune_in": "inside audited callers (audits what it creates)",
    "places.adopt_team_communes": "the units migration", "demo.seed": "a demo database", "audit.audit": "the writer",
}


def write_functions() -> set[str]:
    """Functions of bot/ that open a transaction or hold a write statement."""
    found = set()
    for path in (ROOT / "bot").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        module = ".".join(path.relative_to(ROOT / "bot").with_suffix("").parts)
        for fn in ast.walk(ast.parse(source)):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                body = ast.get_source_segment(source, fn) or ""
                if ".transaction()" in body or any(f'"{w} ' in body for w in ("INSERT", "UPDATE", "DELETE")):
                    found.add(f"{module}.{fn.name}")
    return found - {"storage.transaction", "storage.new_row_id", "unitschema._span_refresh"}


def test_every_write_function_is_audited_or_says_why_not():
    assert write_functions() == set(AUDITED) | set(NOT_AUDITED)


def _team(storage: Storage) -> dict[str, int]:
    team = teams.create_team(storage, "Tổ CNS Xuân", "Xã Xuân Thượng", ["Xuân Hạ", "Đồng Tâm"], None, NOW)
    code, _ = teams.create_invite(storage, team, "leader", None, NOW)
    leader, _, _ = teams.redeem_invite(storage, code, "console:lead", "lead", "Hoa", NOW)
    code, _ = teams.create_invite(storage, team, "member", leader, NOW)
    member, _, _ = teams.redeem_invite(storage, code, "console:m0", "m0", "Lan", NOW)
    village = teams.villages(storage, team)[0].id
    record = assist.save_record(storage, assist.Draft("r1", team, member, village, ["vneid2"], head_name="An",
                                                      outcome="followup", helped_on="2026-11-17"), NOW).record_id
    return {"team": team, "leader": leader, "member": member, "village": village, "record": record,
            "household": storage.db["records"].get(record)["household_id"]}


def _unanswered(storage: Storage, team: int) -> int:
    with storage.transaction() as conn:
        return conn.execute("INSERT INTO unanswered (asked_at, channel, user_key, question, norm, team_id) "
                            "VALUES ('2026-11-18', 'console', 'console:m0', 'hỏi gì', 'hoi gi', ?)", (team,)).lastrowid


WRITES: dict[str, Callable[[Storage, dict[str, int]], object]] = {
    "teams.create_team": lambda s, t: teams.create_team(s, "Tổ 2", "Xã Xuân Thượng", ["Thôn 2"], None, NOW),
    "teams.set_village_size": lambda s, t: teams.set_village_size(s, (t["village"], "Xuân Hạ", None), 120,
                                                                  t["leader"], NOW),
    "teams.create_invite": lambda s, t: teams.create_invite(s, t["team"], "member", t["leader"], NOW),
    "teams.redeem_invite": lambda s, t: teams.redeem_invite(
        s, teams.create_invite(s, t["team"], "member", t["leader"], NOW)[0], "zalo:9", "9", "Bình", NOW),
    "teams.unlink": lambda s, t: teams.unlink(s, "telegram:5", NOW),
    "teams.remove_member": lambda s, t: teams.remove_member(s, t["member"], t["team"], t["leader"], NOW),
    "assist.save_record": lambda s, t: assist.save_record(s, assist.Draft(
        "r2", t["team"], t["member"], t["village"], ["bank_account"], household_id=t["household"],
        helped_on="2026-11-17"), NOW),  # a household helped again: one new row
    "assist.update_record": lambda s, t: assist.update_record(s, t["record"], t["member"], {"note": "đã gọi"}, NOW),
    "assist.delete_record": lambda s, t: assist.delete_record(s, t["record"], t["member"], NOW),
    "assist.erase_household": lambda s, t: assist.erase_household(s, t["household"], t["team"], t["leader"], NOW),
    "review.approve": lambda s, t: review.approve(s, t["team"], [t["record"]], t["leader"], NOW),
    "review.send_back": lambda s, t: review.send_back(s, t["team"], t["record"], "thiếu việc", t["leader"], NOW),
    "links.issue_code": lambda s, t: links.issue_code(s, t["member"], "console:m0", NOW),
    "links.use_code": lambda s, t: links.use_code(
        s, "ABCDEF", links.LinkCode(t["member"], "console:m0", "2026-11-18T03:00:00+00:00"), "zalo:7", "7", NOW, True),
    "links.drop_code": lambda s, t: links.drop_code(s, links.issue_code(s, t["member"], "console:m0", NOW), NOW),
    "asks.create": lambda s, t: asks.create(s, t["member"], t["team"], "Làm sao đổi mật khẩu VNeID?", NOW),
    "asks.answer": lambda s, t: asks.answer(s, asks.create(s, t["member"], t["team"], "Hỏi?", NOW) or 0,
                                            t["leader"], "Đáp.", NOW),
    "activities.log_activity": lambda s, t: activities.log_activity(
        s, "a1", t["team"], t["member"], "hop", dt.date(2026, 11, 17), t["village"], 12, None, NOW),
    "followups.close": lambda s, t: followups.close(s, t["record"], t["member"], "done", None, NOW),
    "units.create_province": lambda s, t: units.create_province(s, "Tỉnh Phú Thọ", None, NOW, adopt_orphans=False),
    "units.create_commune": lambda s, t: units.create_commune(s, None, "Xã Mới", None, NOW),
    "units.place_team": lambda s, t: units.place_team(s, t["team"], units.create_commune(s, None, "Xã Khác", None, NOW),
                                                      None, NOW),
    "units.set_denominators": lambda s, t: units.set_denominators(s, "villages", t["village"], 100, 250,
                                                                  dt.date(2026, 10, 1), t["leader"], NOW),
    "inbox.close": lambda s, t: inbox.close(s, Admin(), [_unanswered(s, t["team"])], "ignored", NOW),
    "export.audit_export": lambda s, t: export.audit_export(
        s, t["leader"], "team", t["team"], Period(dt.date(2026, 11, 1), dt.date(2026, 11, 18), "", "thang"), NOW),
    "retention.apply": lambda s, t: retention.apply(s, NOW + dt.timedelta(days=800), 24),
}
# Steps a scenario needs first (their own audit rows are not counted).
SETUP = {
    "teams.unlink": lambda s, t: links.use_code(
        s, links.issue_code(s, t["member"], "console:m0", NOW),
        links.LinkCode(t["member"], "console:m0", "2026-11-18T03:00:00+00:00"), "telegram:5", "5", NOW, True),
    "asks.answer": lambda s, t: None, "links.drop_code": lambda s, t: None,
    "units.place_team": lambda s, t: None,
}


def test_the_table_covers_every_audited_function():
    assert set(WRITES) == set(AUDITED)


def audit_rows(storage: Storage) -> list[tuple[str, str]]:
    return storage.db.execute("SELECT table_name, action FROM audit ORDER BY id").fetchall()


@pytest.mark.parametrize("name", sorted(AUDITED))
def test_each_write_adds_exactly_one_audit_row(storage, name):
    team = _team(storage)
    SETUP.get(name, lambda s, t: None)(storage, team)
    before = audit_rows(storage)
    WRITES[name](storage, team)
    added = audit_rows(storage)[len(before):]
    # Scenarios that first make what they change (a question, a code, a commune, an invite) count the write only.
    if name in ("asks.answer", "links.drop_code", "units.place_team", "teams.redeem_invite"):
        added = added[1:]
    assert [table for table, _ in added] == [AUDITED[name]], added
