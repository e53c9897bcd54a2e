"""Team activities (/hoatdong): propaganda sessions, "Bình dân học vụ số" classes, mobile support days.

Data access only. A session counts in reports and indicators (sessions.<kind>, attendees.<kind>).
Writes are idempotent on `request_id` (a double-pressed confirm saves once) and audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from .audit import audit
from .clock import iso
from .safety import redact
from .storage import Storage, new_row_id

MAX_ATTENDEES = 5000
MAX_NOTE = 200


@dataclass(frozen=True)
class Activity:
    id: int
    team_id: int
    kind: str
    held_on: str
    village: str | None
    attendees: int
    note: str | None


def log_activity(storage: Storage, request_id: str, team_id: int, member_id: int | None, kind: str,
                 held_on: dt.date, village_id: int | None, attendees: int, note: str | None,
                 now: dt.datetime) -> tuple[int, bool]:
    """Save one session; returns (id, created). The village must belong to the team."""
    if not 0 <= attendees <= MAX_ATTENDEES:
        raise ValueError("attendees out of range")
    clean = redact(" ".join((note or "").split())).text[:MAX_NOTE].strip() or None
    with storage.transaction() as conn:
        row = conn.execute("SELECT id FROM activities WHERE request_id = ?", (request_id,)).fetchone()
        if row is not None:
            return int(row[0]), False
        if village_id is not None and conn.execute("SELECT 1 FROM villages WHERE id = ? AND team_id = ?",
                                                   (village_id, team_id)).fetchone() is None:
            raise ValueError("village not in team")
        activity_id = new_row_id(conn.execute(
            "INSERT INTO activities (request_id, team_id, member_id, kind, held_on, village_id, attendees, note, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (request_id, team_id, member_id, kind, held_on.isoformat(), village_id, attendees, clean,
             iso(now))))
        audit(conn, now, member_id, "activities", activity_id, "create", None,
              {"team_id": team_id, "kind": kind, "held_on": held_on.isoformat(), "village_id": village_id,
               "attendees": attendees})
    return activity_id, True


def recent(db: sqlite_utils.Database, team_id: int, limit: int = 5) -> list[Activity]:
    rows = db.execute(
        "SELECT a.id, a.team_id, a.kind, a.held_on, v.name, a.attendees, a.note FROM activities a "
        "LEFT JOIN villages v ON v.id = a.village_id WHERE a.team_id = ? AND a.deleted = 0 "
        "ORDER BY a.held_on DESC, a.id DESC LIMIT ?", [team_id, limit]).fetchall()
    return [Activity(*r) for r in rows]
