"""Assistance-log benchmark: records/second through `respond`, and database size per 100,000 records.

    python benchmarks/assist_log_bench.py [--records 3000] [--members 30] [--bulk 100000]

1. Logging through the core, as members do it: the one-line form "/ghi <tên>; <thôn>; <việc>", the
   "Có phải hộ này không?" answer when a close household exists, then "Lưu". Realistic Vietnamese
   names; about a third of the visits are to a household already logged.
2. Size: `--bulk` records (with their households, service rows and audit rows, as `save_record`
   writes them) inserted in one transaction; the file size after a WAL checkpoint is scaled to 100,000.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import assist  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core import Deps, Incoming, respond  # noqa: E402
from bot.storage import Storage  # noqa: E402
from knowledge.kb import KnowledgeBase  # noqa: E402

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
            "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Đức", "Ngọc", "Minh", "Quang", "Hữu", "Thanh", "Xuân", "Công", "Đình", "Kim"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Lan", "Long", "Mai", "Nam", "Nga",
         "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vân", "Yến", "Khánh", "Lộc", "Thắng"]
VILLAGES = ["Xuân Thượng", "Xuân Hạ", "Đồng Tâm", "Thượng Lâm", "Bình Minh", "Phú Lợi", "Tân Lập", "Hòa Bình"]
ALIASES = ["vneid", "vneid1", "vneid2", "giayto", "dvc", "hoso", "nganhang", "sth", "momo", "qr", "hoadon",
           "ansinh", "dienthoai", "chukyso", "luadao"]
VN = dt.timezone(dt.timedelta(hours=7))


def name(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


async def say(deps: Deps, user: str, text: str = "", payload: str | None = None):
    replies = await respond(Incoming("console", user, user, text=text, payload=payload, display_name=user), deps)
    return replies, [c for r in replies for c in r.choices]


async def through_respond(records: int, members: int, rng: random.Random) -> tuple[float, list[float], Path]:
    tmp = Path(tempfile.mkdtemp(prefix="assistbench-"))
    settings = Settings(database_path=tmp / "bench.db", admin_ids=frozenset({"console:admin"}))
    deps = Deps(settings=settings, storage=Storage(settings.database_path), kb=KnowledgeBase.load(),
                clock=lambda: dt.datetime(2026, 11, 18, 9, 0, tzinfo=VN))
    await say(deps, "admin", f"/taoto Tổ CNS; Xã Xuân Thượng; {', '.join(VILLAGES)}")
    users = []
    for i in range(members):
        replies, _ = await say(deps, "admin", "/moi")
        code = replies[0].text.rsplit(" ", 1)[-1]
        await say(deps, f"m{i}", f"/thamgia {code}")
        users.append(f"m{i}")
    known: list[tuple[str, str]] = []
    latencies: list[float] = []
    start = time.perf_counter()
    for n in range(records):
        user = users[n % members]
        if known and rng.random() < 0.33:
            head, village = rng.choice(known)
        else:
            head, village = name(rng), rng.choice(VILLAGES)
        services = ", ".join(rng.sample(ALIASES, rng.randint(1, 3)))
        t0 = time.perf_counter()
        replies, choices = await say(deps, user, f"/ghi {head}; {village}; {services}")
        if choices and "Có phải hộ này" in replies[-1].text:
            pick = next((c for c in choices if c.label.split(" (…")[0] == head), None)
            pick = pick or next(c for c in choices if "hộ mới" in c.label)
            replies, choices = await say(deps, user, payload=pick.payload)
        save = next(c for c in choices if "Lưu" in c.label)
        replies, _ = await say(deps, user, payload=save.payload)
        latencies.append(time.perf_counter() - t0)
        if "Số phiếu" not in replies[0].text:
            raise SystemExit(f"not saved: {replies[0].text}")
        known.append((head, village))
    elapsed = time.perf_counter() - start
    deps.storage.close()
    return elapsed, latencies, tmp


def bulk_size(total: int, rng: random.Random) -> tuple[int, float]:
    """Insert `total` records the way save_record shapes them; return (bytes, seconds)."""
    tmp = Path(tempfile.mkdtemp(prefix="assistsize-"))
    store = Storage(tmp / "size.db")
    cat = assist.catalogue()
    codes = [s.code for s in cat.services]
    now = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)
    stamp = now.isoformat(timespec="seconds")
    start = time.perf_counter()
    with store.transaction() as conn:
        teams = 10
        for t in range(1, teams + 1):
            conn.execute("INSERT INTO teams (id, name, commune, created_at) VALUES (?, ?, ?, ?)",
                         (t, f"Tổ CNS {t}", f"Xã {t}", stamp))
            for v, village in enumerate(VILLAGES):
                conn.execute("INSERT INTO villages (id, team_id, name) VALUES (?, ?, ?)", (t * 100 + v, t, village))
            for m in range(15):
                conn.execute("INSERT INTO members (id, team_id, display_name, role, joined_at) VALUES (?, ?, ?, ?, ?)",
                             (t * 100 + m, t, name(rng), "member", stamp))
        households = []
        for h in range(1, int(total * 0.6) + 1):
            t = rng.randint(1, teams)
            head = name(rng)
            phone = f"{rng.randint(0, 999):03d}" if rng.random() < 0.5 else None
            households.append((h, t, t * 100 + rng.randrange(len(VILLAGES)), head, assist.name_key(head), phone,
                               t * 100 + rng.randrange(15), stamp))
        conn.executemany("INSERT INTO households (id, team_id, village_id, head_name, head_key, phone_last3, "
                         "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", households)
        conn.executemany("INSERT INTO audit (at, actor_member_id, table_name, row_id, action, before, after) "
                         "VALUES (?, ?, 'households', ?, 'create', NULL, ?)",
                         [(stamp, h[6], h[0], json.dumps({"village_id": h[2]})) for h in households])
        records, services_rows, audits = [], [], []
        notes = ["", "", "", "Hẹn mang căn cước ra xã", "Con trai hỗ trợ cài app", "Điện thoại yếu pin"]
        for r in range(1, total + 1):
            h = rng.choice(households)
            chosen = rng.sample(codes, rng.randint(1, 3))
            outcome = rng.choices(["done", "unfinished", "followup"], [80, 12, 8])[0]
            day = (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(320))).isoformat()
            row = {"id": r, "request_id": f"{rng.getrandbits(64):016x}", "team_id": h[1], "member_id": h[6],
                   "household_id": h[0], "village_id": h[2], "helped_on": day, "services": ",".join(chosen),
                   "outcome": outcome, "reason": "Thiếu giấy tờ" if outcome == "unfinished" else None,
                   "followup_on": "2026-12-01" if outcome == "followup" else None,
                   "note": rng.choice(notes) or None, "created_at": stamp, "updated_at": stamp, "deleted": 0,
                   "logged_on": day}
            records.append(tuple(row.values()))
            services_rows += [(r, c, cat.get(c).skill) for c in chosen]
            audits.append((stamp, h[6], r, json.dumps(assist.audit_state(row), ensure_ascii=False)))
        columns = ", ".join(row)
        conn.executemany(f"INSERT INTO records ({columns}) VALUES ({', '.join('?' * len(row))})", records)
        conn.executemany("INSERT INTO record_services VALUES (?, ?, ?)", services_rows)
        conn.executemany("INSERT INTO audit (at, actor_member_id, table_name, row_id, action, before, after) "
                         "VALUES (?, ?, 'records', ?, 'create', NULL, ?)", audits)
    elapsed = time.perf_counter() - start
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    size = (tmp / "size.db").stat().st_size
    shutil.rmtree(tmp, ignore_errors=True)
    return size, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--members", type=int, default=30)
    parser.add_argument("--bulk", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    elapsed, latencies, tmp = asyncio.run(through_respond(args.records, args.members, rng))
    shutil.rmtree(tmp, ignore_errors=True)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p95 = latencies[int(len(latencies) * 0.95)] * 1000
    print(f"logging through respond: {args.records} records by {args.members} members in {elapsed:.1f} s "
          f"= {args.records / elapsed:.0f} records/s (one-line form [+ match] + Lưu; "
          f"per record p50 {p50:.1f} ms, p95 {p95:.1f} ms)")

    size, seconds = bulk_size(args.bulk, rng)
    per_100k = size * 100_000 / args.bulk
    print(f"database size: {size / 1e6:.1f} MB for {args.bulk} records (+ households, service rows, audit) "
          f"= {per_100k / 1e6:.1f} MB per 100,000 records (bulk insert took {seconds:.1f} s)")


if __name__ == "__main__":
    main()
