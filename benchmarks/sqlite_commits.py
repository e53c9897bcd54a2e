"""How long the bot's SQLite writes hold the committing thread (the event loop), with WAL checkpoints left to
SQLite inside the commits ("inline") or run by the checkpoint thread (`Storage.start_checkpoints`, "thread").

Each update of the Telegram benchmark's kind saves its conversation state (one commit), and every tenth also
records ten answered update ids (the poller's batch commit). The time counted is the committing thread's
wall time less its wait for a core (Linux schedstat): its CPU and its time blocked in I/O, which is what
every other update on the loop waits behind on a quiet machine, and much less noisy than latency on a
shared one. The two modes alternate in one process.

    python benchmarks/sqlite_commits.py [--saves 6000] [--rounds 3] [--gap 0.003] [--every N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram_throughput import WriteClock  # noqa: E402

from bot.storage import Storage  # noqa: E402

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def run(mode: str, saves: int, folder: str, gap: float, every: int | None) -> str:
    store = Storage(Path(folder) / f"{mode}.db")
    if every:
        store.CHECKPOINT_COMMITS = every
    if mode == "thread":
        store.start_checkpoints()
    state = {"history": ["x" * 40] * 10, "n": 0}
    held = []
    try:
        for i in range(saves):
            state["n"] = i
            start, (_, waited) = time.perf_counter(), WriteClock.sched()
            store.save_session(f"telegram:{10_000 + i % 400}", state, NOW)
            if i % 10 == 9:
                store.remember_delivered("telegram", [str(i * 10 + k) for k in range(10)], NOW)
            wall, (_, waited2) = time.perf_counter() - start, WriteClock.sched()
            held.append((wall - (waited2 - waited)) * 1000)
            time.sleep(gap)  # the loop waits for the network between updates; the thread gets its turn
        runs = store.checkpoints.runs if store.checkpoints is not None else 0
    finally:
        store.close()
    held.sort()
    return (f"{mode:6}: {saves} updates, held the thread mean {statistics.mean(held):.3f} ms, p99 "
            f"{held[int(0.99 * (saves - 1))]:.2f}, p99.9 {held[int(0.999 * (saves - 1))]:.2f}, max {held[-1]:.1f} ms, "
            f"{sum(x > 2 for x in held)} over 2 ms; {sum(held):.0f} ms in all; checkpoints by the thread: {runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=6000, help="updates per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode, alternating")
    parser.add_argument("--gap", type=float, default=0.003, help="seconds between two updates (0.003: ~300/s)")
    parser.add_argument("--every", type=int, help="commits between the thread's checkpoints (default: Storage's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            for mode in ("inline", "thread"):
                print(run(mode, args.saves, folder, args.gap, args.every), flush=True)
                for suffix in ("", "-wal", "-shm"):
                    Path(folder, f"{mode}.db{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
