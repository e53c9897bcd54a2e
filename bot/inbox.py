"""The leaders' inbox of unanswered questions and the 👍/👎 feedback summary (data access only).

Scoped by `bot.scope.for_member`: a leader sees their team's rows, commune and province officials
theirs, an admin every team's."""

from __future__ import annotations

from .access import Member
from .scope import for_member
from .storage import Storage


def open_questions(storage: Storage, member: Member, limit: int) -> list[tuple[int, str, str]]:
    """(id, question, normalised key) of open questions, newest first."""
    where, params = for_member(member).teams("team_id")
    return storage.db.execute(
        f"SELECT id, question, norm FROM unanswered WHERE status = 'open' AND {where} "
        f"ORDER BY id DESC LIMIT {int(limit)}", params).fetchall()


def close(storage: Storage, member: Member, ids: list[int], status: str, entry_id: str | None = None) -> int:
    """Mark open questions (within the member's scope) answered or dismissed; how many changed."""
    where, params = for_member(member).teams("team_id")
    marks = ",".join("?" * len(ids))
    with storage.transaction() as conn:
        cur = conn.execute(f"UPDATE unanswered SET status = ?, entry_id = ? WHERE status = 'open' AND {where} "
                           f"AND id IN ({marks})", [status, entry_id, *params, *ids])
        return cur.rowcount


def feedback_totals(storage: Storage, member: Member) -> tuple[int, int]:
    """(👍, 👎) in the member's scope."""
    where, params = for_member(member).teams("team_id")
    good, bad = storage.db.execute(
        f"SELECT sum(helpful = 1), sum(helpful = 0) FROM feedback WHERE {where}", params).fetchone()
    return good or 0, bad or 0


def most_disliked(storage: Storage, member: Member, limit: int) -> list[tuple[str, int, int]]:
    """(entry id, 👎, 👍) of answers with at least one 👎, most 👎 first."""
    where, params = for_member(member).teams("team_id")
    return storage.db.execute(
        f"SELECT entry_id, sum(helpful = 0), sum(helpful = 1) FROM feedback WHERE {where} "
        f"GROUP BY entry_id HAVING sum(helpful = 0) > 0 ORDER BY 2 DESC, 3, entry_id LIMIT {int(limit)}",
        params).fetchall()
