"""A database as release 2101cf2 left it: its exact schema (fixtures/schema_2101cf2.sql) filled with
realistic rows, and the report totals those rows must give, counted here in plain Python."""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.assist import catalogue, name_key

SCHEMA = Path(__file__).parent / "fixtures" / "schema_2101cf2.sql"

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE = ["Văn", "Thị", "Đức", "Ngọc", "Minh", "Thu"]
GIVEN = ["An", "Bình", "Cúc", "Dũng", "Hạnh", "Khoa", "Lan", "Mai", "Nam", "Phúc", "Sơn", "Tư", "Yến"]
COMMUNES = [("Tổ CNS Xuân Thượng", "Xã Xuân Thượng", ["Thôn Đông", "Thôn Tây", "Thôn Nam"]),
            ("Tổ CNS Phường Hòa Bình", "Phường Hòa Bình", ["Tổ dân phố 1", "Tổ dân phố 2"]),
            ("Tổ CNS Tân Lập", "Xã Tân Lập", ["Bản Mường", "Bản Pá", "Bản Lự", "Bản Nà"])]
OUTCOMES = ["done"] * 6 + ["unfinished", "followup", "followup"]


@dataclass
class Expected:
    """Per team: totals over all time, computed from what was inserted."""

    records: dict[int, int] = field(default_factory=Counter)
    households: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_outcome: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_service: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_member: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_village: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    followups_open: dict[int, int] = field(default_factory=Counter)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def build(path: Path, seed: int = 2101, records: int = 600) -> Expected:
    """Create the release database at `path`; returns the totals every report must still give."""
    rng = random.Random(seed)
    cat = catalogue()
    codes = [s.code for s in cat.services]
    skill = {s.code: s.skill for s in cat.services}
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA.read_text(encoding="utf-8"))
    start = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
    expected = Expected()
    members: dict[int, list[int]] = {}
    villages: dict[int, list[int]] = {}
    households: dict[int, list[tuple[int, int]]] = defaultdict(list)
    member_id = 0
    for team_id, (team, commune, names) in enumerate(COMMUNES, 1):
        conn.execute("INSERT INTO teams VALUES (?, ?, ?, ?)", (team_id, team, commune, iso(start)))
        villages[team_id] = []
        for name in names:
            cur = conn.execute("INSERT INTO villages (team_id, name, households) VALUES (?, ?, ?)",
                               (team_id, name, rng.choice([None, 120, 250, 480])))
            villages[team_id].append(cur.lastrowid)
        members[team_id] = []
        for i in range(5):
            member_id += 1
            role = "leader" if i == 0 else "member"
            conn.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?)",
                         (member_id, team_id, f"{rng.choice(MIDDLE)} {rng.choice(GIVEN)}", role, int(i != 4),
                          iso(start)))
            members[team_id].append(member_id)
            channel = "telegram" if i % 2 == 0 else "zalo"
            user = str(700000 + member_id) if channel == "telegram" else f"{member_id:04x}e9afa66b88fe6d6a9"
            conn.execute("INSERT INTO identities VALUES (?, ?, ?, ?)",
                         (f"{channel}:{user}", member_id, user, iso(start)))
        conn.execute("INSERT INTO invites VALUES (?, ?, 'member', ?, ?, ?, 3, 1)",
                     (f"K{team_id}X9QZ", team_id, members[team_id][0], iso(start), iso(start + dt.timedelta(days=7))))
    for n in range(records):
        team_id = rng.choice(list(members))
        member = rng.choice(members[team_id][:4])
        when = start + dt.timedelta(days=rng.randrange(0, 600), hours=rng.randrange(0, 9))
        if households[team_id] and rng.random() < 0.35:
            household_id, village_id = rng.choice(households[team_id])
        else:
            village_id = rng.choice(villages[team_id])
            head = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            erased = int(rng.random() < 0.03)
            household_id = conn.execute(
                "INSERT INTO households (team_id, village_id, head_name, head_key, phone_last3, erased, "
                "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (team_id, village_id, "" if erased else head, "" if erased else name_key(head),
                 None if erased else f"{rng.randrange(1000):03d}", erased, member, iso(when))).lastrowid
            households[team_id].append((household_id, village_id))
            conn.execute("INSERT INTO audit (at, actor_member_id, table_name, row_id, action, before, after) "
                         "VALUES (?, ?, 'households', ?, 'create', NULL, ?)",
                         (iso(when), member, household_id, json.dumps({"village_id": village_id})))
        services = rng.sample(codes, rng.choice([1, 1, 2, 3]))
        outcome = rng.choice(OUTCOMES)
        deleted = int(rng.random() < 0.05)
        followup = (when.date() + dt.timedelta(days=rng.randrange(3, 30))).isoformat() if outcome == "followup" else None
        record_id = conn.execute(
            "INSERT INTO records (request_id, team_id, member_id, household_id, village_id, helped_on, services, "
            "outcome, reason, followup_on, note, created_at, updated_at, deleted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (f"req-{seed}-{n}", team_id, member, household_id, village_id, when.date().isoformat(),
             ",".join(services), outcome, "thiếu giấy tờ" if outcome == "unfinished" else None, followup,
             rng.choice([None, None, "bà cụ cần con cháu hỗ trợ", "đã hẹn chiều thứ Bảy; mang điện thoại"]),
             iso(when), iso(when), deleted)).lastrowid
        for code in services:
            conn.execute("INSERT INTO record_services VALUES (?, ?, ?)", (record_id, code, skill[code]))
        conn.execute("INSERT INTO audit (at, actor_member_id, table_name, row_id, action, before, after) "
                     "VALUES (?, ?, 'records', ?, 'create', NULL, ?)",
                     (iso(when), member, record_id, json.dumps({"services": services, "outcome": outcome})))
        if not deleted:
            expected.records[team_id] += 1
            expected.households[team_id].add(household_id)
            expected.by_outcome[team_id][outcome] += 1
            expected.by_member[team_id][member] += 1
            expected.by_village[team_id][village_id] += 1
            for code in services:
                expected.by_service[team_id][code] += 1
            if outcome == "followup":
                expected.followups_open[team_id] += 1
    for i in range(40):
        conn.execute("INSERT INTO unanswered (asked_at, channel, user_key, question, norm, team_id, status) "
                     "VALUES (?, 'zalo', ?, ?, ?, ?, ?)",
                     (iso(start + dt.timedelta(hours=i)), f"zalo:u{i}", f"làm sao đổi sdt vneid lần {i}",
                      f"lam sao doi sdt vneid lan {i}", rng.choice([None, 1, 2, 3]), rng.choice(["open", "ignored"])))
        conn.execute("INSERT INTO feedback (at, user_key, entry_id, helpful, team_id) VALUES (?, ?, ?, ?, ?)",
                     (iso(start + dt.timedelta(hours=i)), f"telegram:{i}", "vneid-kich-hoat", i % 3 != 0, None))
        conn.execute("INSERT INTO sessions VALUES (?, ?, ?)",
                     (f"telegram:{800 + i}", json.dumps({"choices": [["1", "faq:x"]]}), iso(start)))
        conn.execute("INSERT INTO seen_messages VALUES (?, ?)", (f"zalo:msg{i}", iso(start)))
    conn.execute("INSERT INTO sent_digests VALUES ('leader:1:2026-W46', ?)", (iso(start),))
    conn.execute("INSERT INTO link_codes VALUES ('L1NK42', 2, 'telegram:700002', ?)", (iso(start),))
    conn.execute("INSERT INTO downloads VALUES ('tok123', '/data/exports/a.xlsx', 'a.xlsx', ?)", (iso(start),))
    conn.commit()
    conn.close()
    return expected


def snapshot(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every row of every table, with the column names, as the database holds them now."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                     "AND name NOT LIKE 'sqlite_%' ORDER BY name"):
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            rows = conn.execute(f'SELECT {", ".join(columns)} FROM "{table}" ORDER BY rowid').fetchall()
            out[table] = (columns, rows)
        return out
    finally:
        conn.close()
