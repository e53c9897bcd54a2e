"""Backups and restores of the SQLite database, and the lock that says the bot is running.

A backup is a consistent copy made with SQLite's online backup API while the bot keeps writing: one
read transaction covers both the row counts and the copy, so the copy is checked against exactly the
data it was taken from (`PRAGMA integrity_check` plus every table's row count). It is written to a
temporary file with owner-only permissions (0600), synced, then renamed into place, so a half-written
file never looks like a backup.

A restore (bot stopped) checks the file and its schema version, keeps the current database aside, and
copies the backup in; a backup from an older version is upgraded at the next start like any database.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import re
from pathlib import Path

from .dbfile import STAMP as STAMP
from .dbfile import BackupError, copy_database, timestamp, verify
from .dbfile import Check as Check
from .dbfile import table_counts as table_counts
from .storage import Storage, latest_version

log = logging.getLogger(__name__)

DAILY_NAME = re.compile(r"-\d{8}T\d{6}\.db$")


def backup_dir_for(storage: Storage) -> Path:
    return storage.backups_folder


def daily_path(database: Path, folder: Path, now: dt.datetime) -> Path:
    return folder / f"{database.stem}-{timestamp(now)}.db"


def daily_backups(database: Path, folder: Path) -> list[Path]:
    """Scheduled backups of `database` in `folder`, oldest first (the time is in the name)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{database.stem}-*.db")
                  if DAILY_NAME.search(p.name) and p.name[len(database.stem) + 1:].count("-") == 0)


def prune(database: Path, folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` scheduled backups; returns the deleted files."""
    old = daily_backups(database, folder)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


# --- the bot's lock --------------------------------------------------------------------------------

class RunLock:
    """An exclusive lock on `<database>.lock` held while the bot runs (released by the OS if it dies)."""

    def __init__(self, database: Path | str) -> None:
        self.path = Path(str(database) + ".lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        if not self.acquire():
            pid = self.holder()
            raise BackupError("Trợ lý đang chạy trên cơ sở dữ liệu này"
                              + (f" (tiến trình {pid})" if pid else "")
                              + ". Hãy dừng nó trước (ví dụ: systemctl stop tcns-bot) rồi làm lại.")
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def restore(database: Path | str, file: Path | str, now: dt.datetime | None = None) -> Path | None:
    """Replace the (stopped) bot's database with a checked backup; returns where the old one was kept."""
    database, file = Path(database), Path(file)
    check = verify(file)
    if not check.ok:
        raise BackupError(f"Không khôi phục được từ {file}: {check.problem}.")
    if check.version < 1 or "schema_version" not in check.counts:
        raise BackupError(f"{file} không phải bản sao lưu của trợ lý (không có phiên bản lược đồ).")
    if check.version > latest_version():
        raise BackupError(f"{file} ở phiên bản lược đồ {check.version}, mới hơn chương trình này "
                          f"({latest_version()}). Hãy cài bản chương trình mới hơn để khôi phục tệp này.")
    with RunLock(database):
        aside = None
        if database.exists():
            aside = database.with_name(f"{database.name}.before-restore-{timestamp(now)}")
            try:
                copy_database(database, aside)
            except BackupError as exc:
                raise BackupError(f"Không giữ lại được cơ sở dữ liệu hiện tại nên chưa khôi phục: {exc}") from exc
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(database) + suffix).unlink(missing_ok=True)
        copy_database(file, database)
    log.info("Database restored from %s (schema version %d)", file.name, check.version)
    return aside
