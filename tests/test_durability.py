"""Atomic writes and at-most-once digests under concurrency: the guarantees storage and the scheduler claim."""

from __future__ import annotations

import asyncio

import pytest

from bot import scheduler
from bot.app import compose
from bot.storage import Storage
from tests import fixtures_data as fx
from tests.test_scheduler import Outbox, at


def test_a_failed_transaction_leaves_nothing_behind(storage: Storage):
    before = storage.db.execute("SELECT COUNT(*) FROM teams").fetchone()[0]
    with pytest.raises(RuntimeError), storage.transaction() as conn:
        conn.execute("INSERT INTO teams (name, commune, created_at) VALUES ('Tổ thử', 'Xã thử', '2026-11-30')")
        raise RuntimeError("the write after this one failed")
    assert storage.db.execute("SELECT COUNT(*) FROM teams").fetchone()[0] == before
    with storage.transaction() as conn:  # the connection is usable again afterwards
        conn.execute("INSERT INTO teams (name, commune, created_at) VALUES ('Tổ thật', 'Xã thật', '2026-11-30')")
    assert storage.db.execute("SELECT COUNT(*) FROM teams").fetchone()[0] == before + 1


async def test_two_concurrent_digest_runs_send_each_digest_once(settings, small_kb):
    """Two processes (two connections on one file) reach the slot together: each digest goes out once."""
    first = compose(settings=settings, storage=Storage(settings.database_path), kb=small_kb)
    second = compose(settings=settings, storage=Storage(settings.database_path), kb=small_kb)
    try:
        fx.build(first.storage)
        box = Outbox()
        for deps in (first, second):
            deps.services.senders = {"console": box.sender("console"), "telegram": box.sender("telegram")}
        now = at(23, 7)
        counts = await asyncio.gather(scheduler.run_due(first, now), scheduler.run_due(second, now))
        assert sum(counts) == 3
        assert len(box.sent) == 3
        assert len({chat for _, chat, _ in box.sent}) == 3
    finally:
        first.storage.close()
        second.storage.close()


def test_commits_survive_a_kill_before_any_checkpoint(tmp_path):
    """Nothing a user was told is saved waits for a checkpoint: a process killed at once keeps every commit."""
    import os
    import subprocess
    import sys

    db = tmp_path / "bot.db"
    script = (
        "import datetime as dt, os, sys\n"
        "from bot.storage import Storage\n"
        f"s = Storage({str(db)!r})\n"
        "s.db.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)\n"
        "for i in range(250):\n"
        "    s.save_session(f'telegram:{i}', {'n': i}, now)\n"
        "    s.first_delivery('telegram', str(i), now)\n"
        "os._exit(9)  # no close, no checkpoint\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", script], cwd=root, timeout=120)
    assert done.returncode == 9
    assert os.path.getsize(f"{db}-wal") > 0  # the commits are in the log only
    store = Storage(db)
    try:
        assert store.db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 250
        assert all(store.seen("telegram", str(i)) for i in range(250))
        assert store.load_session("telegram:249") == {"n": 249}
    finally:
        store.close()
