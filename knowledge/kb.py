"""The loaded knowledge base: entries by id plus a matcher, reloadable at run time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from . import followup
from .loader import TOPICS, Entry, load
from .matcher import Match, Matcher


class KnowledgeBase:
    def __init__(self, entries: list[Entry], local_dir: Path | None = None) -> None:
        self.local_dir = local_dir
        self._set(entries)

    @classmethod
    def load(cls, local_dir: Path | None = None) -> KnowledgeBase:
        return cls(load(local_dir), local_dir)

    def _set(self, entries: list[Entry]) -> None:
        self.entries = {e.id: e for e in entries}
        self.matcher = Matcher(entries)

    def reload(self) -> None:
        """Re-read shipped and local entries (after a leader adds a phrasing)."""
        self._set(load(self.local_dir))

    def match(self, question: str) -> Match:
        return self.matcher.match(question)

    def answer(self, question: str, context: followup.Context | None, now: dt.datetime) -> Match:
        """Match in conversation: a short follow-up is read with the entry answered just before."""
        return followup.answer(self.matcher, question, context, now)

    def by_topic(self, topic: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.topic == topic]

    @staticmethod
    def topic_name(topic: str) -> str:
        return TOPICS.get(topic, topic)
