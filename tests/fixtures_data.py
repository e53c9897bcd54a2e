"""Known assistance-log data inserted straight into the schema (no dependency on the logging flow).

Two teams. Team A ("Tổ CNS xã Xuân Thượng"), leader Hoa, members Lan and Minh (Minh logs nothing),
villages Thôn 1 (size 50) and Thôn 2 (no size). Team B ("Tổ CNS xã Yên Bình") with its own leader
and records, so a test can check team A never sees them. Dates are in November 2026; the test
clock's "today" is Wednesday 18/11/2026.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from bot.storage import Storage
from knowledge.services import load_catalogue

NOW = "2026-11-01T00:00:00+00:00"
TODAY = dt.date(2026, 11, 18)
_request_ids = itertools.count(1)


def clock(day: dt.date = TODAY, hour: int = 9, minute: int = 0):
    tz = dt.timezone(dt.timedelta(hours=7))
    return lambda: dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


@dataclass
class Data:
    teams: dict[str, int] = field(default_factory=dict)
    villages: dict[str, int] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    households: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)


def team(store: Storage, data: Data, name: str) -> int:
    with store.transaction() as conn:
        data.teams[name] = conn.execute("INSERT INTO teams (name, commune, created_at) VALUES (?, ?, ?)",
                                        (name, name.split("xã")[-1].strip(), NOW)).lastrowid
    return data.teams[name]


def village(store: Storage, data: Data, team_id: int, name: str, size: int | None = None) -> int:
    with store.transaction() as conn:
        data.villages[name] = conn.execute("INSERT INTO villages (team_id, name, households) VALUES (?, ?, ?)",
                                           (team_id, name, size)).lastrowid
    return data.villages[name]


def member(store: Storage, data: Data, team_id: int | None, name: str, role: str = "member",
           key: str | None = None, active: int = 1) -> int:
    with store.transaction() as conn:
        mid = conn.execute("INSERT INTO members (team_id, display_name, role, active, joined_at) "
                           "VALUES (?, ?, ?, ?, ?)", (team_id, name, role, active, NOW)).lastrowid
        if key:
            conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                         (key, mid, key.split(":", 1)[1], NOW))
    data.members[name] = mid
    return mid


def household(store: Storage, data: Data, team_id: int, village_id: int, name: str,
              erased: bool = False) -> int:
    with store.transaction() as conn:
        data.households[name] = conn.execute(
            "INSERT INTO households (team_id, village_id, head_name, head_key, phone_last3, erased, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (team_id, village_id, "" if erased else name, name.lower(), "123", int(erased), NOW)).lastrowid
    return data.households[name]


def record(store: Storage, data: Data, label: str, member_id: int, household_id: int, day: str,
           services: list[str], outcome: str = "done", followup_on: str | None = None, note: str = "",
           deleted: bool = False) -> int:
    """One record plus its record_services rows (skill from the catalogue)."""
    skills = {s.code: s.skill for s in load_catalogue().services}
    with store.transaction() as conn:
        team_id, village_id = conn.execute("SELECT team_id, village_id FROM households WHERE id = ?",
                                           (household_id,)).fetchone()
        rid = conn.execute(
            "INSERT INTO records (request_id, team_id, member_id, household_id, village_id, helped_on, services, "
            "outcome, followup_on, note, created_at, updated_at, deleted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (f"req-{next(_request_ids)}", team_id, member_id, household_id, village_id, day, ",".join(services),
             outcome, followup_on, note, NOW, NOW, int(deleted))).lastrowid
        conn.executemany("INSERT INTO record_services (record_id, service, skill) VALUES (?, ?, ?)",
                         [(rid, s, skills[s]) for s in services])
    data.records[label] = rid
    return rid


def build(store: Storage) -> Data:
    """The standard data set; the expected numbers are spelled out in tests/test_reports.py."""
    d = Data()
    a = team(store, d, "Tổ CNS xã Xuân Thượng")
    b = team(store, d, "Tổ CNS xã Yên Bình")
    t1 = village(store, d, a, "Thôn 1", 50)
    t2 = village(store, d, a, "Thôn 2")
    tb = village(store, d, b, "Thôn Bắc", 80)
    hoa = member(store, d, a, "Hoa", "leader", "console:hoa")
    lan = member(store, d, a, "Lan", "member", "telegram:200")
    member(store, d, a, "Minh", "member", "zalo:minh")
    member(store, d, a, "Cũ", "member", None, active=0)
    bao = member(store, d, b, "Khánh", "leader", "console:bao")
    bich = member(store, d, b, "Bích", "member", "console:bich")
    h1 = household(store, d, a, t1, "Nguyễn Văn An")
    h2 = household(store, d, a, t1, "Trần Thị Bình")
    h3 = household(store, d, a, t2, "Lê Văn Cường")
    h4 = household(store, d, a, t2, "Đã xóa", erased=True)
    hb = household(store, d, b, tb, "Phạm Văn Dũng")
    # Team A, November 2026 (today 18/11; this week is 16/11..18/11).
    record(store, d, "a1", lan, h1, "2026-11-02", ["vneid2", "bank_account"])
    record(store, d, "a2", lan, h1, "2026-11-10", ["qr_payment"], "followup", "2026-11-15")
    record(store, d, "a3", lan, h2, "2026-11-16", ["vneid2"], note="CCCD 001203004567, sđt 0912345678")
    record(store, d, "a4", hoa, h3, "2026-11-17", ["scam_awareness", "smartphone"], "unfinished")
    record(store, d, "a5", hoa, h4, "2026-11-18", ["dvc_dossier"], "followup", "2026-11-25")
    record(store, d, "a6", lan, h2, "2026-11-18", ["online_shopping"], deleted=True)  # never counted
    record(store, d, "a7", hoa, h3, "2026-10-30", ["bills"])  # last month
    # Team B: must never show up in team A's numbers.
    record(store, d, "b1", bich, hb, "2026-11-17", ["vneid2", "ewallet", "bills"])
    record(store, d, "b2", bao, hb, "2026-11-18", ["biometric"], "followup", "2026-11-18")
    return d
