"""The database file as a file: verified, consistent, owner-only copies (SQLite's online backup API) and
the schema version a file holds. Below bot/storage.py, which takes a copy before upgrading the schema;
bot/backup.py builds backups, restores and the run lock on top."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

# No separator between the date and the time: the log's privacy filter reads a 14-digit run joined by "-"
# as an ID-card number and would mask the file name.
STAMP = "%Y%m%dT%H%M%S"


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


def pre_migration_backup(database: str, folder: Path, version: int) -> Path:
    """The copy taken before a schema upgrade: `<name>-pre-v<version>-at-<time>.db` in `folder`."""
    dest = folder / f"{Path(database).stem}-pre-v{version}-at-{timestamp()}.db"
    copy_database(database, dest)
    return dest


def schema_version(conn: sqlite3.Connection) -> int:
    """The version recorded in a database (0: a new, empty one)."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if found is None:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)
