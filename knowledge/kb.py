"""The loaded knowledge base: entries by id plus a matcher, reloadable at run time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from . import followup
from .loader import Entry, load, load_aliases, resolve
from .matcher import Match, Matcher


class Entries(dict[str, Entry]):
    """Entries by id; an id of an entry merged into another (knowledge/aliases.yaml) finds that one.
    Iteration, len() and values() see live entries only."""

    def __init__(self, entries: list[Entry], aliases: dict[str, str]) -> None:
        super().__init__((e.id, e) for e in entries)
        self.aliases = aliases

    def __missing__(self, ident: str) -> Entry:
        new = resolve(ident, self.aliases)
        if new != ident and dict.__contains__(self, new):
            return dict.__getitem__(self, new)
        raise KeyError(ident)

    def __contains__(self, ident: object) -> bool:
        return dict.__contains__(self, ident) or (
            isinstance(ident, str) and dict.__contains__(self, resolve(ident, self.aliases)))

    def get(self, ident: str, default: Entry | None = None) -> Entry | None:  # type: ignore[override]
        try:
            return self[ident]
        except KeyError:
            return default


class KnowledgeBase:
    def __init__(self, entries: list[Entry], local_dir: Path | None = None,
                 aliases: dict[str, str] | None = None) -> None:
        self.local_dir = local_dir
        self.aliases = load_aliases() if aliases is None else aliases
        self._set(entries)

    @classmethod
    def load(cls, local_dir: Path | None = None) -> KnowledgeBase:
        return cls(load(local_dir), local_dir)

    def _set(self, entries: list[Entry]) -> None:
        self.entries = Entries(entries, self.aliases)
        self.matcher = Matcher(entries)

    def resolve(self, ident: str) -> str:
        """The live id for a stored one (itself, or the entry it was merged into)."""
        return resolve(ident, self.aliases)

    def reload(self) -> None:
        """Re-read shipped and local entries (after a leader adds a phrasing)."""
        self._set(load(self.local_dir))

    def match(self, question: str) -> Match:
        return self.matcher.match(question)

    def answer(self, question: str, context: followup.Context | None, now: dt.datetime) -> Match:
        """Match in conversation: a short follow-up is read with the entry answered just before
        (a topic stored under a merged entry's old id reads as the entry it was merged into)."""
        if context is not None and self.aliases:
            context = followup.Context(self.resolve(context.entry_id), context.at,
                                       tuple(dict.fromkeys(self.resolve(a) for a in context.alts)))
        return followup.answer(self.matcher, question, context, now)

    def by_topic(self, topic: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.topic == topic]

