"""WAL checkpoints from a thread of their own (bot/checkpoint.py): commits on the event loop no longer copy
the log into the database, the log stays bounded when the thread cannot keep up, and a process killed
while checkpoints run loses no commit."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
FRAME = 4096 + 24  # a WAL frame: one page and its header


def wait_for(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def save_many(store: Storage, count: int, start: int = 0) -> None:
    for i in range(start, start + count):  # ~2 KB each: a page or more per commit
        store.save_session(f"telegram:{i}", {"n": i, "pad": "x" * 2000}, NOW)


def test_commits_leave_the_checkpoint_to_the_thread(tmp_path):
    db = tmp_path / "bot.db"
    store = Storage(db)
    try:
        store.CHECKPOINT_COMMITS, store.CHECKPOINT_SECONDS = 10**9, 3600.0  # only when asked
        store.WAL_MAX_PAGES = 100_000
        store.start_checkpoints()
        assert store.checkpoints is not None and store.checkpoints.running
        size = db.stat().st_size
        save_many(store, 1500)  # past SQLite's own 1,000-page checkpoint
        assert db.stat().st_size == size  # no commit copied the log into the file
        assert os.path.getsize(f"{db}-wal") > 1000 * FRAME
        assert store.checkpoints.runs == 0
        store.checkpoints.request()
        assert wait_for(lambda: store.checkpoints is not None and store.checkpoints.runs >= 1)
        busy, frames, copied = store.checkpoints.last or (1, 0, -1)
        assert busy == 0 and frames == copied > 1000  # the whole log, from the other thread
        assert db.stat().st_size > size + 1500 * 2000
        save_many(store, 10, start=1500)  # the emptied log is reused from its start
        assert store.load_session("telegram:1509")["n"] == 1509
    finally:
        store.close()
    assert store.checkpoints is None
    wal = Path(f"{db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # close still folds the log in and empties it


def test_the_thread_checkpoints_every_so_many_commits(tmp_path):
    store = Storage(tmp_path / "bot.db")
    try:
        store.CHECKPOINT_COMMITS, store.CHECKPOINT_SECONDS = 50, 3600.0
        store.start_checkpoints()
        assert store.checkpoints is not None
        save_many(store, 49)
        time.sleep(0.05)
        assert store.checkpoints.runs == 0
        save_many(store, 1, start=49)
        assert wait_for(lambda: store.checkpoints is not None and store.checkpoints.runs == 1)
    finally:
        store.close()


def test_the_log_stays_bounded_without_the_thread(tmp_path):
    """The thread stopped or behind: the bot's own connection still checkpoints at WAL_MAX_PAGES."""
    db = tmp_path / "bot.db"
    store = Storage(db)
    try:
        store.WAL_MAX_PAGES = 200
        store.CHECKPOINT_COMMITS, store.CHECKPOINT_SECONDS = 10**9, 3600.0
        store.start_checkpoints()
        save_many(store, 1500)
        assert store.checkpoints is not None and store.checkpoints.runs == 0
        assert os.path.getsize(f"{db}-wal") < 300 * FRAME  # ~1,500 pages written, the log reused
        assert db.stat().st_size > 1500 * 2000
    finally:
        store.close()


def test_a_stopped_thread_hands_checkpoints_back_to_sqlite(tmp_path):
    db = tmp_path / "bot.db"
    store = Storage(db)
    try:
        store.CHECKPOINT_SECONDS = 3600.0
        store.start_checkpoints()
        thread = store.checkpoints
        store.stop_checkpoints()
        assert thread is not None and not thread.running and store.checkpoints is None
        assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        save_many(store, 1500)
        assert os.path.getsize(f"{db}-wal") < 1100 * FRAME
    finally:
        store.close()


def test_no_thread_for_a_database_in_memory():
    store = Storage(":memory:")
    store.start_checkpoints()
    assert store.checkpoints is None
    store.close()


def test_a_kill_while_checkpoints_run_loses_no_commit(tmp_path):
    """Killed at once (no close) with the thread checkpointing every few commits: every commit is there."""
    db = tmp_path / "bot.db"
    script = (
        "import datetime as dt, os\n"
        "from bot.storage import Storage\n"
        f"s = Storage({str(db)!r})\n"
        "s.CHECKPOINT_COMMITS = 7\n"
        "s.start_checkpoints()\n"
        "now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)\n"
        "for i in range(400):\n"
        "    s.save_session(f'telegram:{i}', {'n': i, 'pad': 'x' * 3000}, now)\n"
        "    s.first_delivery('telegram', str(i), now)\n"
        "assert s.checkpoints.running and s.checkpoints.error is None\n"
        "os._exit(9)  # no close: the thread may be mid-checkpoint\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=120)
    assert done.returncode == 9
    store = Storage(db)
    try:
        assert store.db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 400
        assert all(store.seen("telegram", str(i)) for i in range(400))
        assert store.load_session("telegram:399")["n"] == 399
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()
