"""Match a question against every phrasing of every entry. Pure: no I/O.

Pipeline (see the retrieval notes): normalise -> exact hit -> BM25 over phrasing
tokens and bigrams picks candidates -> re-rank with a fusion of rapidfuzz
token_set_ratio and BM25 relative to the phrasing's own self-score -> best
phrasing per entry -> a decision with named thresholds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from .loader import Entry
from .normalize import STOPWORDS, has_diacritics, key, tokens, undo_telex

# Decision thresholds (0-100), tuned on benchmarks/eval with benchmarks/faq_eval.py.
ANSWER_MIN = 68.0  # best entry at least this -> candidate for a direct answer
ANSWER_GAP = 6.0  # ... and this far ahead of the runner-up, else offer choices
CHOICES_MIN = 52.0  # below this nothing is close enough: say so honestly
CHOICE_WINDOW = 14.0  # offer entries within this many points of the best
MAX_CHOICES = 3
CANDIDATES = 40  # phrasings re-ranked after BM25
TYPO_MIN_LEN = 5  # typo snapping is safe only for longer tokens

BM25_K1 = 1.2
BM25_B = 0.75


@dataclass(frozen=True)
class Scored:
    entry: Entry
    score: float


@dataclass(frozen=True)
class Match:
    status: str  # "answer" | "choices" | "none"
    ranked: tuple[Scored, ...]

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None

    @property
    def choices(self) -> tuple[Scored, ...]:
        if self.status != "choices":
            return ()
        top = self.ranked[0].score
        return tuple(s for s in self.ranked[:MAX_CHOICES] if s.score >= max(CHOICES_MIN, top - CHOICE_WINDOW))


def _terms(text_key: str) -> list[str]:
    words = text_key.split()
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]


class Matcher:
    """An index over all phrasings; `match` is safe to call from any thread."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        self.keys: list[str] = []
        self.phrases: list[str] = []
        self.owner: list[int] = []
        self.exact: dict[str, int] = {}
        for i, entry in enumerate(self.entries):
            for phrase in (entry.title, *entry.questions):
                k = key(phrase)
                if not k:
                    continue
                self.keys.append(k)
                self.phrases.append(phrase)
                self.owner.append(i)
                self.exact.setdefault(k, i)
        self.vocabulary = frozenset(w for k in self.keys for w in k.split()) | STOPWORDS
        self._long_vocab = sorted(w for w in self.vocabulary if len(w) >= TYPO_MIN_LEN)
        self._build_bm25()

    def _build_bm25(self) -> None:
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.doc_len: list[int] = []
        for doc, k in enumerate(self.keys):
            terms = _terms(k)
            self.doc_len.append(len(terms))
            counts: dict[str, int] = defaultdict(int)
            for t in terms:
                counts[t] += 1
            for t, c in counts.items():
                self.postings[t].append((doc, c))
        n = max(len(self.keys), 1)
        self.avg_len = sum(self.doc_len) / n if self.doc_len else 1.0
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}
        self.self_score = [self._bm25(_terms(k)).get(doc, 1.0) or 1.0 for doc, k in enumerate(self.keys)]

    def _bm25(self, terms: list[str]) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        for t in set(terms):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for doc, tf in self.postings[t]:
                norm = tf + BM25_K1 * (1 - BM25_B + BM25_B * self.doc_len[doc] / self.avg_len)
                scores[doc] += idf * tf * (BM25_K1 + 1) / norm
        return scores

    def _fix_typos(self, words: list[str]) -> list[str]:
        fixed = []
        for w in words:
            if w not in self.vocabulary:
                w = undo_telex(w, self.vocabulary)
            if w not in self.vocabulary and len(w) >= TYPO_MIN_LEN:
                hit = process.extractOne(w, self._long_vocab, scorer=Levenshtein.distance, score_cutoff=1)
                if hit is not None:
                    w = hit[0]
            fixed.append(w)
        return fixed

    def query_key(self, question: str) -> str:
        return " ".join(self._fix_typos(key(question).split()))

    def rank(self, question: str, skip_doc: int | None = None) -> list[Scored]:
        """Entries scored 0-100, best first. `skip_doc` leaves one phrasing out (for kb check)."""
        q = self.query_key(question)
        if not q:
            return []
        hit = self.exact.get(q)
        best: dict[int, float] = {}
        if hit is not None and skip_doc is None:
            best[hit] = 100.0
        bm = self._bm25(_terms(q))
        bm.pop(skip_doc, None)  # type: ignore[arg-type]
        top = sorted(bm.items(), key=lambda kv: kv[1], reverse=True)[:CANDIDATES]
        for doc, raw in top:
            lexical = fuzz.token_set_ratio(q, self.keys[doc])
            # token_set_ratio gives 100 when one side's words are a subset of the other's;
            # plain ratio keeps a short query from claiming a long phrasing outright.
            shape = fuzz.ratio(q, self.keys[doc])
            rel = min(raw / self.self_score[doc], 1.0) * 100
            score = 0.4 * lexical + 0.2 * shape + 0.4 * rel
            i = self.owner[doc]
            if score > best.get(i, 0.0):
                best[i] = score
        ranked = [Scored(self.entries[i], round(s, 1)) for i, s in best.items()]
        ranked.sort(key=lambda s: s.score, reverse=True)
        return ranked

    def match(self, question: str) -> Match:
        ranked = tuple(self.rank(question))
        return Match(decide(ranked), ranked)


def decide(ranked: tuple[Scored, ...] | list[Scored]) -> str:
    if not ranked or ranked[0].score < CHOICES_MIN:
        return "none"
    top = ranked[0].score
    runner = ranked[1].score if len(ranked) > 1 else 0.0
    if top >= ANSWER_MIN and (top - runner >= ANSWER_GAP or top >= 99.5 and runner < 99.5):
        return "answer"
    return "choices"


__all__ = ["Match", "Matcher", "Scored", "decide", "has_diacritics"]
