"""Backups while the bot writes, restores with the bot stopped, and the daily backup job."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot import backup, dbfile, maintenance, storage
from bot.app import compose
from bot.assist import Draft, save_record
from bot.config import Settings
from bot.safety import redact
from bot.storage import Storage
from tests.releasedb import build

ROOT = Path(__file__).resolve().parent.parent
VN = dt.timezone(dt.timedelta(hours=7))


def cli(*args: str, db: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "DATABASE_PATH": str(db), "BACKUP_DIR": str(db.parent / "backups"), **env}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=db.parent, env=environ,
                          capture_output=True, text=True, timeout=120)


def bot_env() -> dict[str, str]:
    return {"PYTHONPATH": str(ROOT)}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "tcns.db"
    build(path, records=300)
    Storage(path).close()  # upgraded to the newest schema, as the running bot has it
    return path


class Writer(threading.Thread):
    """The bot's side of a burst: logs records as fast as it can, noting each acknowledged receipt."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.acked, self.stop = path, [], threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        store = Storage(self.path)
        try:
            now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=VN)
            n = 0
            while not self.stop.is_set():
                n += 1
                saved = save_record(store, Draft(
                    request_id=f"burst-{n}", team_id=1, member_id=1, village_id=1, services=["vneid2"],
                    head_name=f"Hộ số {n}", phone_last3=f"{n % 1000:03d}", note="ghi chú",
                    helped_on="2026-11-30"), now)
                self.acked.append((f"burst-{n}", saved.record_id))  # the member was told this receipt
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            store.close()


def test_backup_during_a_burst_restores_every_acknowledged_record(db: Path):
    writer = Writer(db)
    writer.start()
    deadline = time.monotonic() + 60
    while len(writer.acked) < 200:  # a writer that failed or stalled must fail the test, not hang it
        assert writer.is_alive() and time.monotonic() < deadline, writer.error
        time.sleep(0.01)
    acked_before = list(writer.acked)
    dest = db.parent / "copy" / "during-burst.db"
    done = cli("backup", str(dest), db=db, **bot_env())  # another process, as an operator would run it
    writer.stop.set()
    writer.join(10)
    assert writer.error is None
    assert done.returncode == 0, done.stderr
    assert "kiểm tra toàn vẹn: tốt" in done.stdout
    assert len(writer.acked) > len(acked_before)  # the bot really was writing while the copy was made
    assert dest.stat().st_mode & 0o777 == 0o600
    assert not list(dest.parent.glob("*.part"))

    check = backup.verify(dest)
    assert check.ok and check.version == storage.latest_version()

    restored = cli("restore", str(dest), db=db, **bot_env())
    assert restored.returncode == 0, restored.stderr
    aside = list(db.parent.glob("tcns.db.before-restore-*"))
    assert len(aside) == 1 and backup.verify(aside[0]).counts["records"] == 300 + len(writer.acked)

    conn = sqlite3.connect(db)
    try:
        present = dict(conn.execute("SELECT request_id, id FROM records WHERE request_id LIKE 'burst-%'"))
        for request_id, record_id in acked_before:
            assert present.get(request_id) == record_id
        # Whatever got in is whole: each burst record has its household, service row and audit row.
        assert conn.execute("SELECT count(*) FROM records r WHERE r.request_id LIKE 'burst-%' AND "
                            "(NOT EXISTS (SELECT 1 FROM record_services s WHERE s.record_id = r.id) OR "
                            "NOT EXISTS (SELECT 1 FROM audit a WHERE a.table_name = 'records' AND a.row_id = r.id) "
                            "OR NOT EXISTS (SELECT 1 FROM households h WHERE h.id = r.household_id))"
                            ).fetchone()[0] == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert db.stat().st_mode & 0o777 == 0o600
    Storage(db).close()  # and the bot starts on it


def test_restore_refuses_while_the_bot_runs(db: Path, tmp_path: Path):
    copy = tmp_path / "b.db"
    backup.copy_database(db, copy)
    lock = backup.RunLock(db)
    assert lock.acquire()
    try:
        done = cli("restore", str(copy), db=db, **bot_env())
    finally:
        lock.release()
    assert done.returncode == 2 and "đang chạy" in done.stderr and str(os.getpid()) in done.stderr
    assert not list(db.parent.glob("tcns.db.before-restore-*"))


def test_restore_refuses_a_damaged_or_foreign_or_newer_file(db: Path, tmp_path: Path):
    before = db.read_bytes()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    newer = tmp_path / "newer.db"
    backup.copy_database(db, newer)
    conn = sqlite3.connect(newer)
    conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (storage.latest_version() + 1,))
    conn.commit()
    conn.close()
    for file, words in ((junk, "không phải tệp cơ sở dữ liệu"), (foreign, "không phải bản sao lưu"),
                        (newer, "mới hơn"), (tmp_path / "missing.db", "không có tệp")):
        with pytest.raises(backup.BackupError, match=words):
            backup.restore(db, file)
    assert db.read_bytes() == before


def test_a_damaged_copy_is_never_left_as_a_backup(db: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(dbfile, "verify", lambda path: backup.Check(False, problem="tệp bị hỏng: test"))
    with pytest.raises(backup.BackupError, match="không đạt kiểm tra"):
        backup.copy_database(db, tmp_path / "out.db")
    assert list(tmp_path.glob("out.db*")) == []


def test_a_second_bot_on_the_same_database_is_refused(db: Path):
    from bot.runner import StartupError, serve

    lock = backup.RunLock(db)
    assert lock.acquire()
    try:
        import asyncio

        with pytest.raises(StartupError, match="đã đang chạy"):
            asyncio.run(serve(Settings(database_path=db)))
    finally:
        lock.release()


async def test_daily_backup_keeps_the_newest_copies(db: Path, small_kb, clock):
    settings = Settings(database_path=db, backup_dir_setting=db.parent / "daily", backup_time="02:30",
                        backup_keep=3, retention_months=0)
    store = Storage(db)
    try:
        deps = compose(settings=settings, storage=store, kb=small_kb, clock=clock)
        clock.now = dt.datetime(2026, 11, 20, 1, 0, tzinfo=VN)
        assert await maintenance.run_due(deps)  # none yet: the missed slot of the 19th is caught up
        assert not await maintenance.run_due(deps)  # and only once
        for day in range(20, 26):
            clock.now = dt.datetime(2026, 11, day, 2, 31, tzinfo=VN)
            assert await maintenance.run_due(deps)
            clock.now += dt.timedelta(hours=5)
            assert not await maintenance.run_due(deps)
        files = backup.daily_backups(db, settings.backup_dir)
        assert [f.name for f in files] == [f"tcns-202611{d}T023100.db" for d in (23, 24, 25)]
        assert all(redact(f.name).text == f.name for f in files)  # readable in the (redacted) log
        assert all(backup.verify(f).ok and f.stat().st_mode & 0o777 == 0o600 for f in files)
        from bot import metrics

        assert metrics.get(deps).backups.labels("ok")._value.get() == 7
    finally:
        store.close()


async def test_a_failed_daily_backup_is_counted_and_the_bot_goes_on(db: Path, small_kb, clock, monkeypatch):
    from bot import metrics

    settings = Settings(database_path=db, backup_dir_setting=db.parent / "daily", retention_months=0)
    store = Storage(db)
    try:
        deps = compose(settings=settings, storage=store, kb=small_kb, clock=clock)

        def broken(source, dest):
            raise backup.BackupError("Sao lưu thất bại: disk I/O error")

        monkeypatch.setattr(backup, "copy_database", broken)
        assert await maintenance.take_backup(deps) is None
        assert metrics.get(deps).backups.labels("failed")._value.get() == 1
    finally:
        store.close()


def test_report_json_for_a_national_roll_up(db: Path):
    import json

    from bot import reports
    from bot.assist import catalogue

    done = cli("report", "tatca", db=db, **bot_env())
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["format"] == "tcns-report/1" and doc["schema_version"] == storage.latest_version()
    store = Storage(db)
    try:
        period = reports.parse_period("tatca", dt.date.today())
        expected = [reports.team_report(store.db, t, period, catalogue(), dt.date.today()) for t in (1, 2, 3)]
        names = [n for (n,) in store.db.execute("SELECT head_name FROM households WHERE head_name != ''")]
        members = [n for (n,) in store.db.execute("SELECT display_name FROM members")]
    finally:
        store.close()
    assert [t["records"] for t in doc["teams"]] == [r.records for r in expected]
    assert doc["totals"]["records"] == sum(r.records for r in expected) > 0
    assert sum(doc["totals"]["by_outcome"].values()) == doc["totals"]["records"]
    assert not any(name in done.stdout for name in names + members)  # counts only, no personal data
    assert cli("report", "hom qua nua", db=db, **bot_env()).returncode == 2


def test_a_new_database_and_its_log_are_owner_only(tmp_path: Path):
    store = Storage(tmp_path / "fresh.db")
    try:
        with store.transaction() as conn:
            conn.execute("INSERT INTO sessions VALUES ('k', '{}', 'now')")
        for name in ("fresh.db", "fresh.db-wal", "fresh.db-shm"):
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    finally:
        store.close()
