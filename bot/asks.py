""""Hỏi tổ trưởng": questions a member sends to their team's leaders, and the leaders' answers.

The question is stored redacted (the core redacts every message before handlers see it; it is
redacted again here). A member has at most MAX_OPEN open questions; open ones older than a day are
listed in the leaders' weekly digest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from .assist import clean_text
from .audit import audit
from .clock import iso
from .storage import Storage, new_row_id

MAX_OPEN = 10
MAX_QUESTION = 500
MAX_ANSWER = 1500
STALE_AFTER = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Question:
    id: int
    asked_at: str
    member_id: int
    member: str
    team_id: int
    question: str
    status: str  # open | answered
    answer: str | None


def open_count(db: sqlite_utils.Database, member_id: int) -> int:
    return db.execute("SELECT count(*) FROM leader_questions WHERE member_id = ? AND status = 'open'",
                      [member_id]).fetchone()[0]


def create(storage: Storage, member_id: int, team_id: int, question: str, now: dt.datetime) -> int | None:
    """Store a question; None when the member already has MAX_OPEN open ones."""
    text = clean_text(question, MAX_QUESTION)[0]
    with storage.transaction() as conn:
        count = conn.execute("SELECT count(*) FROM leader_questions WHERE member_id = ? AND status = 'open'",
                             (member_id,)).fetchone()[0]
        if count >= MAX_OPEN:
            return None
        question_id = new_row_id(conn.execute("INSERT INTO leader_questions (asked_at, member_id, team_id, question) "
                                              "VALUES (?, ?, ?, ?)", (iso(now), member_id, team_id, text)))
        audit(conn, now, member_id, "leader_questions", question_id, "create", None, {"team_id": team_id})
        return question_id


def get(db: sqlite_utils.Database, question_id: int) -> Question | None:
    row = db.execute("SELECT q.id, q.asked_at, q.member_id, m.display_name, q.team_id, q.question, q.status, "
                     "q.answer FROM leader_questions q JOIN members m ON m.id = q.member_id WHERE q.id = ?",
                     [question_id]).fetchone()
    return Question(*row) if row else None


def leaders_of(db: sqlite_utils.Database, team_id: int) -> list[int]:
    """Active leaders of a team (admins who joined the team count too)."""
    return [r[0] for r in db.execute("SELECT id FROM members WHERE team_id = ? AND active = 1 "
                                     "AND role IN ('leader', 'admin') ORDER BY role = 'admin', id",
                                     [team_id]).fetchall()]


def answer(storage: Storage, question_id: int, leader_id: int | None, text: str, now: dt.datetime) -> str | None:
    """Record the answer to an open question; the cleaned answer, or None if it was answered already."""
    reply = clean_text(text, MAX_ANSWER)[0]
    with storage.transaction() as conn:
        cur = conn.execute("UPDATE leader_questions SET status = 'answered', answer = ?, answered_by = ?, "
                           "answered_at = ? WHERE id = ? AND status = 'open'",
                           (reply, leader_id, iso(now), question_id))
        if cur.rowcount != 1:
            return None
        audit(conn, now, leader_id, "leader_questions", question_id, "answer", {"status": "open"},
              {"status": "answered"})
    return reply


def stale(db: sqlite_utils.Database, team_id: int, now: dt.datetime) -> list[Question]:
    """Open questions of a team asked more than STALE_AFTER before `now`, oldest first."""
    rows = db.execute("SELECT q.id, q.asked_at, q.member_id, m.display_name, q.team_id, q.question, q.status, "
                      "q.answer FROM leader_questions q JOIN members m ON m.id = q.member_id "
                      "WHERE q.team_id = ? AND q.status = 'open' AND q.asked_at <= ? ORDER BY q.id",
                      [team_id, iso(now - STALE_AFTER)]).fetchall()
    return [Question(*row) for row in rows]


def to_inbox(storage: Storage, question: Question, norm: str, now: dt.datetime) -> bool:
    """Put a question into the leaders' /chuatraloi list (unless it is there, open, already); True if added."""
    exists = storage.db.execute("SELECT 1 FROM unanswered WHERE question = ? AND team_id = ? AND status = 'open'",
                                [question.question, question.team_id]).fetchone()
    if exists is not None:
        return False
    storage.add_unanswered("leader", f"member:{question.member_id}", question.question, norm, now,
                           question.team_id)
    return True
