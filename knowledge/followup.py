"""Follow-up questions, read together with the entry answered just before.

For ten minutes after an answer, a short message that only makes sense with the previous topic
("làm ở đâu", "mất bao lâu", "có mất tiền không", "còn người già thì sao", "cái kia") is matched
together with that entry's title; "cái kia" picks the other entry offered last time. When it is
still unclear, the top entries are offered as choices. Pure: the caller keeps the `Context`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .matcher import MAX_CHOICES, RERANK, Evidence, Match, Matcher, Scored, clear_lead
from .normalize import STOPWORDS, fold, key

WINDOW = dt.timedelta(minutes=10)
# Reading a follow-up: the new words' own fused score, plus entries near the previous one
# (by its title, and the entries it lists as related); the previous entry itself is left out.
NEAR_WEIGHT = 0.5
RELATED_BONUS = 0.3
FUSED_SCALE = 1.6  # the highest fused score at the fusion weight these were tuned with (0.6)
MAX_WORDS = 7  # content words; a longer message stands on its own
_CUE_RE = re.compile(
    r"\b(?:o dau|bao lau|bao gio|khi nao|bao nhieu|mat tien|ton tien|mat phi|ton phi|le phi|phi|mien phi|can gi"
    r"|giay to gi|mang gi|thi sao|the nao|ra sao|lam sao|ai lam|co duoc khong|duoc khong|duoc ko|dc ko|dc khong"
    r"|o nha|online|tren mang|may tinh|lau khong|lau ko)\b"
)
_LEAD_RE = re.compile(r"^(?:con|the con|vay con|thi|vay|the|nhung|neu vay|vay thi|the thi|cai do|cai nay|no)\b")
_OTHER_RE = re.compile(
    r"\b(?:cai kia|cai con lai|muc kia|muc con lai|cai thu (?:hai|2|ba|3)|cau kia|cau con lai|cai sau)\b"
)


@dataclass(frozen=True)
class Context:
    entry_id: str
    at: dt.datetime
    alts: tuple[str, ...] = ()  # other entries offered with it ("cái kia")

    def fresh(self, now: dt.datetime) -> bool:
        return dt.timedelta(0) <= now - self.at <= WINDOW

    def to_state(self) -> dict[str, Any]:
        return {"id": self.entry_id, "at": self.at.isoformat(), "alts": list(self.alts)}

    @classmethod
    def from_state(cls, data: Any) -> Context | None:
        try:
            return cls(str(data["id"]), dt.datetime.fromisoformat(data["at"]), tuple(data.get("alts") or ()))
        except (TypeError, KeyError, ValueError):
            return None


def wants_other(text: str) -> bool:
    return bool(_OTHER_RE.search(fold(text)))


def is_followup(text: str) -> bool:
    """Short, and worded like a continuation (a question word alone, "còn … thì sao", "cái kia")."""
    folded = " ".join(fold(text).split())
    content = [w for w in key(text).split() if w not in STOPWORDS]
    if len(content) > MAX_WORDS:
        return False
    return bool(_OTHER_RE.search(folded) or _CUE_RE.search(folded) or _LEAD_RE.match(folded))


def resolve(matcher: Matcher, text: str, ctx: Context) -> Match:
    """Match `text` as a follow-up of `ctx`: the previous title and the new words, together."""
    prev_index = matcher.index.get(ctx.entry_id)
    if prev_index is None:
        return matcher.match(text)
    if wants_other(text):
        alts = tuple(Scored(matcher.entries[matcher.index[a]], 100.0) for a in ctx.alts if a in matcher.index)
        if len(alts) == 1:
            return Match("answer", alts, (), 1.0)
        if alts:
            return Match("choices", alts, alts[:MAX_CHOICES], 0.5)
    prev = matcher.entries[prev_index]
    new = matcher.query_key(text)
    ev = matcher.evidence(new, exclude=prev_index)
    near = matcher.evidence(matcher.query_key(prev.title), exclude=prev_index).fused
    top_near = float(near.max()) if len(near) and near.max() > 0 else 1.0
    scale = (1 + matcher.calibration.fusion) / FUSED_SCALE  # the weights below are relative to fused scores
    fused = ev.fused + scale * NEAR_WEIGHT * near / top_near
    for rid in prev.related:
        if rid in matcher.index:
            fused[matcher.index[rid]] += scale * RELATED_BONUS
    fused[prev_index] = 0.0
    order = [int(i) for i in np.argsort(-fused)[:RERANK] if fused[i] > 0]
    if not order:
        return Match("none", (), (), 0.0)
    both = Evidence(order, fused, ev.phrase, None, ev.f1)
    # Kept in the order of the topic-weighted fused scores: the re-ranker was fitted on questions
    # that stand alone and would let the new words outvote the topic. Features of that ranking,
    # read on the new words with the topic's title.
    features = matcher.features_for(matcher.query_key(f"{prev.title} {text}"), both, learned=False)
    p = matcher.calibration.p_answer(features)
    ranked = matcher.scored(both, 5)
    # A follow-up inside the window is about the topic at hand, so it gets its own threshold
    # (fitted on the dev dialogues), still with a clear lead over the runner-up.
    if p >= matcher.calibration.followup_min and bool(clear_lead(features)):
        return Match("answer", ranked, (), p)
    return Match("choices", ranked, ranked[:MAX_CHOICES], p)  # still unclear: offer, never guess


def bare(text: str) -> bool:
    """Only question words ("mất bao lâu", "làm ở đâu", "cái kia"): meaningless without a topic."""
    folded = " ".join(fold(text).split())
    rest = _LEAD_RE.sub(" ", _CUE_RE.sub(" ", _OTHER_RE.sub(" ", folded)))
    return not [w for w in key(rest).split() if w not in STOPWORDS and w not in _FILLER]


_FILLER = frozenset("mat thi co lam tu nua cho".split())


def answer(matcher: Matcher, text: str, ctx: Context | None, now: dt.datetime) -> Match:
    """The message as a follow-up when it reads like one within the window, else on its own."""
    if ctx is not None and ctx.fresh(now) and is_followup(text):
        alone = matcher.match(text)
        if alone.status == "answer" and alone.confidence >= 0.99 and not wants_other(text):
            return alone  # a full question of its own that happens to be short
        return resolve(matcher, text, ctx)
    m = matcher.match(text)
    if m.status == "answer" and m.confidence < 0.99 and bare(text):
        return Match("choices", m.ranked, m.ranked[:MAX_CHOICES], m.confidence)  # no topic to read it with
    return m


def after(match: Match, now: dt.datetime, previous: Context | None) -> Context | None:
    """The topic after `match`: the entry it answered (small talk aside), else the previous topic.
    "Cái kia" then means the message's other question, or else the runner-up entries."""
    best = match.best
    if match.status != "answer" or best is None or best.entry.topic == "smalltalk":
        return previous
    alts = tuple(s.entry.id for s in match.also) or tuple(s.entry.id for s in match.ranked[1:MAX_CHOICES])
    return Context(best.entry.id, now, alts)


class Conversation:
    """One person's questions in order, for the evaluation (the bot keeps the same in its session)."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.ctx: Context | None = None

    def ask(self, text: str, now: dt.datetime) -> Match:
        m = answer(self.matcher, text, self.ctx, now)
        self.ctx = after(m, now, self.ctx)
        return m

    def pick(self, match: Match, entry_id: str, now: dt.datetime) -> None:
        """The person taps `entry_id` among the offered choices."""
        alts = tuple(s.entry.id for s in match.offered if s.entry.id != entry_id)
        self.ctx = Context(entry_id, now, alts)


__all__ = ["WINDOW", "Context", "Conversation", "after", "answer", "is_followup", "resolve", "wants_other"]
