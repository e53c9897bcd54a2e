"""Time leaders' reports on a big database: 1,000,000 records across 500 teams.

    python benchmarks/reports_bench.py [--records 1000000] [--teams 500] [--db PATH] [--keep]

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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the database file")
    args = parser.parse_args()
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
