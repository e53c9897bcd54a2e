"""The leaders' inbox of unanswered questions and the 👍/👎 feedback summary (data access only).

Scoped by `bot.scope.for_member`: a leader sees their team's rows, commune and province officials
theirs, an admin every team's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

from knowledge.kb import KnowledgeBase
from knowledge.loader import add_local_phrasing

from .access import Actor
from .audit import audit
from .scope import for_member
from .storage import Storage

SIMILAR = 80  # token_sort_ratio on normalised keys: same words, small typos, any order
MAX_ROWS = 2000  # most recent open questions considered (bounded work: anyone can ask)
MAX_GROUPS = 300  # fuzzy comparisons stop here; later keys only join identical ones
CANDIDATES = 5  # entries offered for a group


@dataclass
class Group:
    question: str  # the most recent wording of the most frequent key
    norm: str
    ids: list[int] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)


def group(rows: list[tuple[int, str, str]]) -> list[Group]:
    """Greedy clustering: identical keys together, then each key joins the first similar group."""
    by_norm: dict[str, Group] = {}
    for rid, question, norm in rows:  # newest first, so the first wording seen is the latest
        g = by_norm.setdefault(norm, Group(question, norm))
        g.ids.append(rid)
    groups: list[Group] = []
    reps: list[str] = []
    for g in sorted(by_norm.values(), key=lambda g: (-len(g.ids), g.norm)):
        hit = process.extractOne(g.norm, reps, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR) \
            if reps and len(reps) < MAX_GROUPS else None
        if hit is None:
            groups.append(g)
            reps.append(g.norm)
        else:
            owner = groups[hit[2]]
            owner.ids.extend(g.ids)
            owner.variants.append(g.question)
    groups.sort(key=lambda g: -len(g.ids))
    return groups


def add_phrasing(kb: KnowledgeBase, local_dir: Path, entry_id: str, question: str) -> None:
    """Write the phrasing to the local knowledge folder (`local_dir` unless the knowledge base has its
    own) and reload, so it is answered from now on.

    Runs in a worker thread: `reload` swaps the entries and the matcher in two plain assignments,
    so a question answered meanwhile sees the old or the new knowledge base, both valid."""
    if kb.local_dir is None:
        kb.local_dir = local_dir
    add_local_phrasing(kb.local_dir, entry_id, question)
    kb.reload()


def open_questions(storage: Storage, member: Actor, limit: int) -> list[tuple[int, str, str]]:
    """(id, question, normalised key) of open questions, newest first."""
    where, params = for_member(member).teams("team_id")
    return storage.db.execute(
        f"SELECT id, question, norm FROM unanswered WHERE status = 'open' AND {where} "
        f"ORDER BY id DESC LIMIT {int(limit)}", params).fetchall()


def open_question(storage: Storage, member: Actor, question_id: int) -> str | None:
    """The text of one open question within the member's scope (None: handled already, or not theirs)."""
    where, params = for_member(member).teams("team_id")
    row = storage.db.execute(f"SELECT question FROM unanswered WHERE id = ? AND status = 'open' AND {where}",
                             [question_id, *params]).fetchone()
    return None if row is None else str(row[0])


def close(storage: Storage, member: Actor, ids: list[int], status: str, now: dt.datetime,
          entry_id: str | None = None) -> int:
    """Mark open questions (within the member's scope) answered or dismissed, one audit row each; how many
    changed."""
    where, params = for_member(member).teams("team_id")
    marks = ",".join("?" * len(ids))
    with storage.transaction() as conn:
        found = [r[0] for r in conn.execute(f"SELECT id FROM unanswered WHERE status = 'open' AND {where} "
                                            f"AND id IN ({marks})", [*params, *ids]).fetchall()]
        for question_id in found:
            conn.execute("UPDATE unanswered SET status = ?, entry_id = ? WHERE id = ?", (status, entry_id, question_id))
            audit(conn, now, member.actor_id, "unanswered", question_id, "update", {"status": "open"},
                  {"status": status, "entry_id": entry_id})
        return len(found)


def feedback_totals(storage: Storage, member: Actor) -> tuple[int, int]:
    """(👍, 👎) in the member's scope."""
    where, params = for_member(member).teams("team_id")
    good, bad = storage.db.execute(
        f"SELECT sum(helpful = 1), sum(helpful = 0) FROM feedback WHERE {where}", params).fetchone()
    return good or 0, bad or 0


def most_disliked(storage: Storage, member: Actor, limit: int) -> list[tuple[str, int, int]]:
    """(entry id, 👎, 👍) of answers with at least one 👎, most 👎 first."""
    where, params = for_member(member).teams("team_id")
    return storage.db.execute(
        f"SELECT entry_id, sum(helpful = 0), sum(helpful = 1) FROM feedback WHERE {where} "
        f"GROUP BY entry_id HAVING sum(helpful = 0) > 0 ORDER BY 2 DESC, 3, entry_id LIMIT {int(limit)}",
        params).fetchall()
