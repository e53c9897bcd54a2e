"""SQLite storage through sqlite-utils: one file, WAL, busy timeout, foreign keys, versioned schema.

Writes a user is told succeeded are committed before the reply goes out: every write
runs in `transaction()` (BEGIN IMMEDIATE ... COMMIT). The connection belongs to the event-loop
thread: calls are sub-millisecond, so handlers call it directly, which also serialises writers.
Slow read-only work (exports, big reports) opens its own connection with `reader()`.

Durability: WAL with synchronous=NORMAL. A commit is in the write-ahead log, which survives the bot's
process crashing or being killed at once (tests/test_durability.py); only a power cut or an operating-system
crash can lose the commits since the log was last synced (at a checkpoint), and never corrupts the file.
The running bot checkpoints from a thread of its own (`start_checkpoints`, bot/checkpoint.py), not inside
a commit on the event loop.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from .checkpoint import Checkpointer
from .clock import iso
from .dbfile import pre_migration_backup, schema_version
from .unitschema import spans_migration, units_migration

log = logging.getLogger(__name__)

# A migration is SQL (several statements; triggers and ';' in strings are fine) or a function given the
# connection inside the migration's transaction (for data changes SQL cannot express).
Migration = str | Callable[[sqlite3.Connection], None]

# Each item upgrades the schema by one version: item N (from 1) takes a database from version N-1 to N.
# Append only; never edit or reorder a shipped step. Each runs in its own transaction with foreign keys
# off (so a table can be rebuilt) and must leave `PRAGMA foreign_key_check` clean.
MIGRATIONS: list[Migration] = [
    # 1: sessions, questions without an answer, feedback, teams and the assistance log.
    """
    CREATE TABLE sessions (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE unanswered (
        id INTEGER PRIMARY KEY,
        asked_at TEXT NOT NULL,
        channel TEXT NOT NULL,
        user_key TEXT NOT NULL,
        question TEXT NOT NULL,          -- already redacted
        norm TEXT NOT NULL,              -- normalised search key, for grouping
        team_id INTEGER REFERENCES teams(id),
        status TEXT NOT NULL DEFAULT 'open',  -- open | added | ignored
        entry_id TEXT
    );
    CREATE INDEX unanswered_status ON unanswered(status, team_id);
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        user_key TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        helpful INTEGER NOT NULL,
        team_id INTEGER REFERENCES teams(id),
        UNIQUE (user_key, entry_id, at)
    );
    CREATE TABLE teams (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        commune TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE villages (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id),
        name TEXT NOT NULL,
        households INTEGER,              -- size set by the leader with /sohodan
        UNIQUE (team_id, name)
    );
    CREATE TABLE members (
        id INTEGER PRIMARY KEY,
        team_id INTEGER REFERENCES teams(id),
        display_name TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'member',  -- member | leader | admin
        active INTEGER NOT NULL DEFAULT 1,
        joined_at TEXT NOT NULL
    );
    CREATE TABLE identities (
        key TEXT PRIMARY KEY,            -- channel:user_id
        member_id INTEGER NOT NULL REFERENCES members(id),
        chat_id TEXT NOT NULL,
        linked_at TEXT NOT NULL
    );
    CREATE INDEX identities_member ON identities(member_id);
    CREATE TABLE invites (
        code TEXT PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id),
        role TEXT NOT NULL DEFAULT 'member',
        created_by INTEGER REFERENCES members(id),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        max_uses INTEGER NOT NULL DEFAULT 1,
        uses INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE households (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id),
        village_id INTEGER NOT NULL REFERENCES villages(id),
        head_name TEXT NOT NULL,         -- redacted, '' after /xoadulieu
        head_key TEXT NOT NULL,          -- accent-free search key
        phone_last3 TEXT,                -- never a full phone number
        erased INTEGER NOT NULL DEFAULT 0,
        created_by INTEGER REFERENCES members(id),
        created_at TEXT NOT NULL
    );
    CREATE INDEX households_village ON households(team_id, village_id);
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,          -- the receipt number shown to the member
        request_id TEXT NOT NULL UNIQUE, -- idempotency key: a double-pressed confirm saves once
        team_id INTEGER NOT NULL REFERENCES teams(id),
        member_id INTEGER NOT NULL REFERENCES members(id),
        household_id INTEGER NOT NULL REFERENCES households(id),
        village_id INTEGER NOT NULL REFERENCES villages(id),
        helped_on TEXT NOT NULL,         -- YYYY-MM-DD, local date
        services TEXT NOT NULL,          -- comma-separated service codes (knowledge/services.yaml)
        outcome TEXT NOT NULL,           -- done | unfinished | followup
        reason TEXT,
        followup_on TEXT,                -- YYYY-MM-DD
        note TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX records_team_date ON records(team_id, helped_on);
    CREATE INDEX records_member_date ON records(member_id, helped_on);
    CREATE TABLE record_services (
        record_id INTEGER NOT NULL REFERENCES records(id),
        service TEXT NOT NULL,
        skill TEXT NOT NULL,             -- one of the five basic digital skills
        PRIMARY KEY (record_id, service)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor_member_id INTEGER REFERENCES members(id),
        table_name TEXT NOT NULL,
        row_id INTEGER NOT NULL,
        action TEXT NOT NULL,            -- create | update | delete | erase | remove
        before TEXT,
        after TEXT
    );
    CREATE TABLE link_codes (
        code TEXT PRIMARY KEY,
        member_id INTEGER NOT NULL REFERENCES members(id),
        from_key TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE sent_digests (
        key TEXT PRIMARY KEY,            -- e.g. leader:<member_id>:<iso week>
        sent_at TEXT NOT NULL
    );
    CREATE TABLE downloads (
        token TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        filename TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE seen_messages (
        key TEXT PRIMARY KEY,            -- channel:message_id, for webhook redelivery
        at TEXT NOT NULL
    );
    """,
    # 2: the local day a record was logged, apart from the day the household was helped (helped_on),
    #    which /ghi and /sua may now set up to BACKDATE_DAYS back. Until now both were the same day.
    """
    ALTER TABLE records ADD COLUMN logged_on TEXT;
    UPDATE records SET logged_on = helped_on WHERE logged_on IS NULL;
    CREATE INDEX records_team_logged ON records(team_id, logged_on);
    """,
    # 3 (issue 14): a record's review state, why an edit was made, closed follow-ups, once-a-day
    #    follow-up reminders, and questions members send to their team leader.
    """
    ALTER TABLE records ADD COLUMN review TEXT NOT NULL DEFAULT 'new';
    ALTER TABLE records ADD COLUMN review_note TEXT;
    ALTER TABLE records ADD COLUMN reviewed_by INTEGER REFERENCES members(id);
    ALTER TABLE records ADD COLUMN reviewed_at TEXT;
    CREATE INDEX records_team_review ON records(team_id, review);
    ALTER TABLE audit ADD COLUMN why TEXT;
    CREATE TABLE followup_closes (
        record_id INTEGER PRIMARY KEY REFERENCES records(id),
        closed_at TEXT NOT NULL,
        closed_by INTEGER REFERENCES members(id),
        result TEXT NOT NULL,
        note TEXT
    );
    CREATE TABLE sent_reminders (
        key TEXT PRIMARY KEY,
        sent_at TEXT NOT NULL
    );
    CREATE TABLE leader_questions (
        id INTEGER PRIMARY KEY,
        asked_at TEXT NOT NULL,
        member_id INTEGER NOT NULL REFERENCES members(id),
        team_id INTEGER NOT NULL REFERENCES teams(id),
        question TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        answer TEXT,
        answered_by INTEGER REFERENCES members(id),
        answered_at TEXT
    );
    CREATE INDEX leader_questions_team ON leader_questions(team_id, status);
    CREATE INDEX leader_questions_member ON leader_questions(member_id, status);
    """,
    # 4: units: provinces and communes, teams placed in a commune, officials' roles, people and
    # achievements on records, denominators, activities (see bot/units.py).
    units_migration,
    # 5: the web view's one-time sign-in links and session cookies (only hashes of their tokens).
    """
    CREATE TABLE web_logins (
        token_hash TEXT PRIMARY KEY,     -- sha256 of the token in the one-time link
        user_key TEXT NOT NULL,          -- channel:user_id that asked for it with /web
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY,        -- sha256 of the cookie value
        user_key TEXT NOT NULL,
        member_id INTEGER NOT NULL,      -- 0 for an admin named only in ADMIN_IDS
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX web_sessions_member ON web_sessions(member_id);
    """,
    # 6: first and last day each household was helped by each team, so a province's long-period
    # report counts distinct households without reading every record (see bot/units.py SPANS_SQL).
    spans_migration,
    # 7: the channels' redelivery ids are pruned by age every few hundred messages; without an index on
    # `at` every prune scanned the whole table (bot/channels: first_delivery(prune_before=...)).
    """
    CREATE INDEX seen_messages_at ON seen_messages(at);
    """,
    # 8: a web session of an admin named only in ADMIN_IDS (no member row) holds NULL, not the 0 that stood
    #    for "no member" since migration 5. SQLite cannot drop NOT NULL in place: the table is rebuilt.
    """
    CREATE TABLE web_sessions_new (
        id_hash TEXT PRIMARY KEY,        -- sha256 of the cookie value
        user_key TEXT NOT NULL,
        member_id INTEGER,               -- the member signed in; NULL for an admin without a member row
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    INSERT INTO web_sessions_new (id_hash, user_key, member_id, csrf, created_at, expires_at)
        SELECT id_hash, user_key, NULLIF(member_id, 0), csrf, created_at, expires_at FROM web_sessions;
    DROP TABLE web_sessions;
    ALTER TABLE web_sessions_new RENAME TO web_sessions;
    CREATE INDEX web_sessions_member ON web_sessions(member_id);
    """,
    # 9: conversation states are pruned by age every PRUNE_EVERY saves, on the event loop; without an index
    #    on `updated_at` each prune scanned every session (~21 ms of CPU at 200,000 people, one per member).
    """
    CREATE INDEX sessions_updated ON sessions(updated_at);
    """,
]


def new_row_id(cur: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made."""
    if cur.lastrowid is None:
        raise sqlite3.ProgrammingError("the statement inserted no row")
    return cur.lastrowid


class SchemaError(RuntimeError):
    """The database cannot be used by this version of the program; the message says why, in Vietnamese."""


def latest_version() -> int:
    return len(MIGRATIONS)


def utcnow() -> str:
    """Only for schema_version (migrations run before any deps exist); data rows take deps.clock()."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def statements(script: str) -> Iterator[str]:
    """Split an SQL script into complete statements (a ';' inside a string, comment or trigger stays put)."""
    buffer = ""
    for chunk in script.split(";"):
        buffer += chunk + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                yield buffer
            buffer = ""
    if buffer.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement in a migration: {buffer.strip()[:80]!r}")


def too_new_message(path: str, version: int) -> str:
    return (f"Cơ sở dữ liệu {path} ở phiên bản {version}, mới hơn phiên bản {latest_version()} mà chương trình "
            "này hiểu được (có lẽ nó đã được một bản mới hơn nâng cấp). Chương trình dừng lại để không làm hỏng "
            "dữ liệu. Bạn hãy cài lại bản chương trình mới hơn, hoặc khôi phục một bản sao lưu cũ hơn "
            "(python -m bot restore TỆP).")


class Storage:
    """The bot's database. Open once at start; pass it in through deps."""

    def __init__(self, path: Path | str, backup_dir: Path | str | None = None) -> None:
        self.path = str(path)
        self.backup_dir = Path(backup_dir) if backup_dir else None
        # The last failed write and when (time.monotonic()): a full disk lets small writes through, so one
        # success does not mean the database is healthy again.
        self.write_error: str | None = None
        self.write_error_at = 0.0
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            if not Path(self.path).exists():  # a new database is the owner's only (SQLite's -wal/-shm follow it)
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        try:
            self.db.execute("PRAGMA busy_timeout = 30000")
            if self.path != ":memory:":
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA secure_delete = ON")  # erased or overwritten text is zeroed, not left in free pages
            self.migrate()
        except BaseException:
            conn.close()
            raise

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: BEGIN IMMEDIATE takes the write lock up front (no upgrade deadlock)."""
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
                if self.checkpoints is not None:
                    self.checkpoints.committed()
        except sqlite3.OperationalError as exc:  # read-only file, full disk, I/O error: /healthz reports it
            self.write_error, self.write_error_at = str(exc), time.monotonic()
            raise

    # The write-ahead log's checkpoints while the bot runs (bot/checkpoint.py).
    checkpoints: Checkpointer | None = None
    CHECKPOINT_COMMITS = 100  # commits between two checkpoints (~250 pages; SQLite's own: every 1,000 pages)
    CHECKPOINT_SECONDS = 5.0  # and at least this often: the log is synced at each, bounding a power cut's loss
    # Past this the bot's connection checkpoints itself (the thread stopped, or commits kept overtaking it so
    # the log was never emptied): then only what the thread has not copied yet, at most ~100 commits' worth.
    WAL_MAX_PAGES = 4000
    WAL_KEEP_BYTES = 64 * 1024 * 1024  # a log grown past this is cut back to it once it is emptied

    def start_checkpoints(self) -> None:
        """Checkpoint from a thread of its own from now on, not inside commits (a long-running bot's loop)."""
        if self.path == ":memory:" or self.checkpoints is not None:
            return
        self.db.execute(f"PRAGMA wal_autocheckpoint = {int(self.WAL_MAX_PAGES)}")
        self.db.execute(f"PRAGMA journal_size_limit = {int(self.WAL_KEEP_BYTES)}")
        self.checkpoints = Checkpointer(self.path, self.CHECKPOINT_COMMITS, self.CHECKPOINT_SECONDS)

    def stop_checkpoints(self) -> None:
        """Back to SQLite's own checkpoints in the committing thread."""
        if self.checkpoints is None:
            return
        self.checkpoints.stop()
        self.checkpoints = None
        self.db.execute("PRAGMA wal_autocheckpoint = 1000")

    @property
    def backups_folder(self) -> Path:
        """Where backups go: `backup_dir`, or `backups/` next to the database."""
        return self.backup_dir or Path(self.path).parent / "backups"

    @property
    def version(self) -> int:
        return schema_version(self.db.conn)

    def migrate(self) -> list[int]:
        """Bring the schema up to `latest_version()`; returns the versions applied.

        Refuses a database newer than this code. Before upgrading a database that already holds data,
        a verified copy is written next to it (or into `backup_dir`). Each step is one transaction:
        a failing step leaves the database at the previous version.
        """
        conn = self.db.conn
        current = schema_version(conn)
        if current > latest_version():
            raise SchemaError(too_new_message(self.path, current))
        if current == latest_version():
            return []
        if current > 0 and self.path != ":memory:" and not self.is_empty():
            copy = pre_migration_backup(self.path, self.backups_folder, current)
            log.info("Database at schema version %d backed up to %s before upgrading to %d",
                     current, copy, latest_version())
        applied: list[int] = []
        conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction, so set it before
        try:
            while True:
                with self.transaction():
                    conn.execute("CREATE TABLE IF NOT EXISTS schema_version "
                                 "(version INTEGER PRIMARY KEY, applied_at TEXT)")
                    current = schema_version(conn)  # again, under the write lock: another process may have won
                    if current > latest_version():
                        raise SchemaError(too_new_message(self.path, current))
                    if current == latest_version():
                        break
                    number = current + 1
                    step = MIGRATIONS[current]
                    if callable(step):
                        step(conn)
                    else:
                        for statement in statements(step):
                            conn.execute(statement)
                    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise SchemaError(f"Bước nâng cấp {number} làm hỏng liên kết dữ liệu "
                                          f"({len(broken)} dòng, ví dụ bảng {broken[0][0]}); đã huỷ bước này.")
                    conn.execute("INSERT INTO schema_version VALUES (?, ?)", (number, utcnow()))
                    conn.execute(f"PRAGMA user_version = {number}")
                applied.append(number)
                log.info("Database schema upgraded to version %d", number)
        finally:
            conn.execute("PRAGMA foreign_keys = ON")
        return applied

    def is_empty(self) -> bool:
        """True when no table other than the version bookkeeping holds a row."""
        for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' AND name != 'schema_version'").fetchall():
            if self.db.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone():
                return False
        return True

    @staticmethod
    def open_reader(path: Path | str) -> sqlite_utils.Database:
        """A read-only connection to a database file, for tools that run beside the bot."""
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        return sqlite_utils.Database(conn)

    def reader(self) -> sqlite_utils.Database:
        """A separate read connection for work done off the event loop (one per thread)."""
        conn = sqlite3.connect(self.path, timeout=30, uri=self.path.startswith("file:"))
        conn.execute("PRAGMA busy_timeout = 30000")
        return sqlite_utils.Database(conn)

    def close(self) -> None:
        """Fold the write-ahead log into the database file, then close (a clean file to copy or move)."""
        try:
            if self.checkpoints is not None:
                self.checkpoints.stop()
                self.checkpoints = None
            if self.path != ":memory:":
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:  # another process reading, or the disk went away: WAL stays, still safe
            log.warning("WAL checkpoint at close failed: %s", exc)
        finally:
            self.db.conn.close()

    # --- sessions -----------------------------------------------------------------------------

    def load_session(self, key: str) -> dict[str, Any]:
        row = self.db.execute("SELECT state FROM sessions WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else {}

    def save_session(self, key: str, state: dict[str, Any], at: dt.datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO sessions (key, state, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (key, json.dumps(state, ensure_ascii=False), iso(at)),
            )
        self._saves += 1
        if self._saves % self.PRUNE_EVERY == 0:
            self.prune_sessions(at)
        if self.scrub_pending:
            self.scrub()

    SESSION_DAYS = 180  # a conversation untouched this long is forgotten (one row per person otherwise)
    PRUNE_EVERY = 1000  # session saves between two prunes
    _saves = 0

    def prune_sessions(self, now: dt.datetime) -> int:
        cutoff = now - dt.timedelta(days=self.SESSION_DAYS)
        with self.transaction() as conn:
            return conn.execute("DELETE FROM sessions WHERE updated_at < ?",
                                (iso(cutoff),)).rowcount

    scrub_pending = False  # set after personal data was erased; the next session save scrubs

    def scrub(self) -> None:
        """Copy the write-ahead log into the database and empty it: with secure_delete on, erased
        text is then gone from both files (not left in old WAL frames or stale pages)."""
        self.scrub_pending = False
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:  # a reader holds the log: the next automatic checkpoint does it
            pass

    # --- redelivered webhook messages ----------------------------------------------------------

    def first_delivery(self, channel: str, message_id: str, at: dt.datetime,
                       prune_before: dt.datetime | None = None) -> bool:
        """Remember `channel:message_id`; False when it was seen before (a redelivery).

        With `prune_before`, the channel's older ids are forgotten in the same transaction.
        """
        try:
            return self.remember_delivered(channel, [message_id], at, prune_before) == 1
        except sqlite3.OperationalError:  # read-only or full database: answer (maybe twice) rather than fail
            return not self.seen(channel, message_id)

    def remember_delivered(self, channel: str, message_ids: list[str], at: dt.datetime,
                           prune_before: dt.datetime | None = None) -> int:
        """Remember several `channel:message_id` at once, in one transaction; how many were new.
        With `prune_before`, the channel's ids older than it are forgotten in the same transaction."""
        with self.transaction() as conn:
            stamp = iso(at)
            added = conn.executemany("INSERT OR IGNORE INTO seen_messages (key, at) VALUES (?, ?)",
                                     [(f"{channel}:{message_id}", stamp) for message_id in message_ids]).rowcount
            if prune_before is not None:
                conn.execute("DELETE FROM seen_messages WHERE key LIKE ? AND at < ?",
                             (f"{channel}:%", iso(prune_before)))
        return added

    def seen(self, channel: str, message_id: str) -> bool:
        """Whether `channel:message_id` was delivered before."""
        return self.db.execute("SELECT 1 FROM seen_messages WHERE key = ?",
                               [f"{channel}:{message_id}"]).fetchone() is not None

    # --- questions and feedback ----------------------------------------------------------------

    MAX_OPEN_PER_USER = 50  # one person cannot fill the leaders' inbox (or the disk)

    def add_unanswered(self, channel: str, user_key: str, question: str, norm: str, at: dt.datetime,
                       team_id: int | None = None) -> None:
        with self.transaction() as conn:
            count = conn.execute("SELECT count(*) FROM unanswered WHERE user_key = ? AND status = 'open'",
                                 (user_key,)).fetchone()[0]
            if count >= self.MAX_OPEN_PER_USER:
                return
            conn.execute(
                "INSERT INTO unanswered (asked_at, channel, user_key, question, norm, team_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (iso(at), channel, user_key, question, norm, team_id),
            )

    def add_feedback(self, user_key: str, entry_id: str, helpful: bool, at: dt.datetime,
                     team_id: int | None = None) -> bool:
        """Store one 👍/👎 per user and entry (the first counts); False when this user already rated it."""
        with self.transaction() as conn:
            return conn.execute(
                "INSERT INTO feedback (at, user_key, entry_id, helpful, team_id) SELECT ?, ?, ?, ?, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM feedback WHERE user_key = ? AND entry_id = ?)",
                (iso(at), user_key, entry_id, int(helpful), team_id, user_key, entry_id),
            ).rowcount == 1
