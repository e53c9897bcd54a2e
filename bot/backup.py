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
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .storage import Storage, latest_version, schema_version

log = logging.getLogger(__name__)

# No separator between the date and the time: the log's privacy filter reads a 14-digit run joined by "-"
# as an ID-card number and would mask the file name.
STAMP = "%Y%m%dT%H%M%S"
DAILY_NAME = re.compile(r"-\d{8}T\d{6}\.db$")


class BackupError(RuntimeError):
    """A backup or restore could not be made or checked; the message says why, in Vietnamese."""


@dataclass(frozen=True)
class Check:
    """What `verify` found in a database file."""

    ok: bool
    version: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    problem: str = ""


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()]
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def verify(path: Path | str) -> Check:
    """Integrity, schema version and row counts of a database file, opened read-only."""
    path = Path(path)
    if not path.is_file():
        return Check(False, problem=f"không có tệp {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return Check(False, problem=f"không mở được tệp: {exc}")
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if result != ["ok"]:
            return Check(False, problem="tệp bị hỏng: " + "; ".join(str(r) for r in result[:3]))
        return Check(True, schema_version(conn), table_counts(conn))
    except sqlite3.DatabaseError as exc:  # not a database at all
        return Check(False, problem=f"không phải tệp cơ sở dữ liệu hợp lệ ({exc})")
    finally:
        conn.close()


def _private_file(path: Path) -> None:
    """Create (or truncate) `path` readable and writable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_database(source: Path | str, dest: Path | str) -> Check:
    """A verified, consistent, owner-only copy of the database at `source`, safe while others write to it."""
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise BackupError(f"Không tìm thấy cơ sở dữ liệu {source}.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    _private_file(part)
    src = sqlite3.connect(source, timeout=30, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.execute("BEGIN")  # one snapshot for the counts and the copy
        counts = table_counts(src)
        dst = sqlite3.connect(part, isolation_level=None)
        try:
            src.backup(dst)
            src.execute("COMMIT")
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        finally:
            dst.close()
    except sqlite3.Error as exc:
        part.unlink(missing_ok=True)
        raise BackupError(f"Sao lưu thất bại: {exc}") from exc
    finally:
        src.close()
    check = verify(part)
    if check.ok and check.counts != counts:
        check = Check(False, check.version, check.counts, "số dòng trong bản sao khác với cơ sở dữ liệu")
    if not check.ok:
        part.unlink(missing_ok=True)
        raise BackupError(f"Bản sao lưu không đạt kiểm tra: {check.problem}")
    _fsync(part)
    os.replace(part, dest)
    os.chmod(dest, 0o600)
    return check


def timestamp(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now()).strftime(STAMP)


def backup_dir_for(storage: Storage) -> Path:
    return storage.backup_dir or Path(storage.path).parent / "backups"


def pre_migration_backup(storage: Storage, version: int) -> Path:
    """The copy taken before a schema upgrade: `<name>-pre-v<version>-<time>.db` in the backup folder."""
    stem = Path(storage.path).stem
    dest = backup_dir_for(storage) / f"{stem}-pre-v{version}-at-{timestamp()}.db"
    copy_database(storage.path, dest)
    return dest


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
