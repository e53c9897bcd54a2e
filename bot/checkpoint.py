"""WAL checkpoints off the event loop: a thread of its own copies the write-ahead log into the database file.

SQLite's automatic checkpoint runs inside the COMMIT that pushes the log past 1,000 pages, on the thread
that commits: for the running bot, the event loop, which then stood still for 5-20 ms (copying ~1,000
pages and two fsyncs) while every update waited behind it. With `Storage.start_checkpoints()` the bot's
connection only writes: this thread, on its own connection, runs a PASSIVE checkpoint after every
`every_commits` commits and at least every `every_seconds`. PASSIVE never takes the write lock and never
waits, so a commit on the loop is never held up by it; the sqlite3 module releases the GIL while SQLite
works, so the copy and the fsyncs run beside the loop.

Nothing is lost by this: a commit is in the log the moment COMMIT returns, and a restarted process (even
one killed mid-checkpoint) reads the log back (tests/test_checkpoint.py). The log cannot grow without
bound: the bot's connection keeps an automatic checkpoint at `Storage.WAL_MAX_PAGES`, far above what the
thread lets build up, for when the thread is stopped, failing or behind (a reader holding an old snapshot
stalls any checkpoint, this one or SQLite's); `journal_size_limit` trims the file back once it shrinks.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)


class Checkpointer:
    """One thread and one connection that checkpoint `path`'s write-ahead log when asked or when due."""

    def __init__(self, path: str, every_commits: int, every_seconds: float) -> None:
        self.path = path
        self.every_commits, self.every_seconds = every_commits, every_seconds
        self.commits = 0  # since the last request; written by the committing thread only
        self.runs = 0  # checkpoints run (PASSIVE calls that returned)
        self.last: tuple[int, int, int] | None = None  # (busy, frames in the log, frames copied) of the last run
        self.error: str | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Called after each commit on the bot's connection: wakes the thread every `every_commits`."""
        self.commits += 1
        if self.commits >= self.every_commits:
            self.commits = 0
            self._wake.set()

    def request(self) -> None:
        """Checkpoint now (without waiting for it)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as exc:  # the bot's connection keeps checkpointing itself (WAL_MAX_PAGES)
            self.error = str(exc)
            log.warning("WAL checkpoint thread could not open the database: %s", exc)
            return
        try:
            while not self._stopping:
                self._wake.wait(self.every_seconds)
                self._wake.clear()
                if self._stopping:
                    break
                self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """One PASSIVE checkpoint; its result in `last`."""
        try:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # disk error: logged once per kind; retried when next due
            if str(exc) != self.error:
                log.warning("WAL checkpoint failed: %s", exc)
            self.error = str(exc)
            return
        self.last, self.error = (int(row[0]), int(row[1]), int(row[2])), None
        self.runs += 1

    def stop(self, timeout: float = 30.0) -> None:
        """End the thread after the checkpoint in progress, if any."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
