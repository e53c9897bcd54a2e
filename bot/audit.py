"""The audit trail's one writer: every change of data, by a person or by the bot's own jobs, adds one row
inside the transaction that made it (who, when, which row, what before and after, and why)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from .clock import iso


def audit(conn: sqlite3.Connection, now: dt.datetime, actor: int | None, table: str, row_id: int,
          action: str, before: dict[str, Any] | None, after: dict[str, Any] | None, why: str | None = None) -> None:
    """One audit row (with the reason, when someone else changed a member's record); call inside the
    transaction that made the change. `actor` is a member id, or None for an admin without a member row
    or the bot itself."""
    conn.execute(
        "INSERT INTO audit (at, actor_member_id, table_name, row_id, action, before, after, why) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (iso(now), actor, table, row_id, action,
         None if before is None else json.dumps(before, ensure_ascii=False),
         None if after is None else json.dumps(after, ensure_ascii=False), why),
    )
