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
from .normalize import STOPWORDS, drop_opener, key, undo_telex

# Decision thresholds (0-100), tuned on benchmarks/eval with benchmarks/faq_eval.py.
ANSWER_MIN = 56.0  # best entry at least this -> a direct answer...
ANSWER_GAP = 2.0  # ... unless the runner-up is this close: then offer choices
ANSWER_SURE = 80.0  # this high answers whatever the runner-up scores
LEAD_MIN = 48.0  # a lower score still answers when it leads the runner-up by LEAD_GAP
LEAD_GAP = 14.0
CHOICES_MIN = 44.0  # below this nothing is close enough: say so honestly
CHOICE_WINDOW = 14.0  # offer entries within this many points of the best
MAX_CHOICES = 3
CANDIDATES = 60  # phrasings re-ranked after BM25
# Score blend (sums to 1); see Matcher._score.
W_F1 = 0.45
W_ENTRY = 0.25
W_BM25 = 0.15
W_CHARS = 0.15
UNKNOWN_WEIGHT_QUANTILE = 0.5
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
        self.is_title: list[bool] = []
        self.owner: list[int] = []
        self.exact: dict[str, int] = {}
        for i, entry in enumerate(self.entries):
            for n, phrase in enumerate((entry.title, *entry.questions)):
                k = key(phrase)
                if not k:
                    continue
                self.keys.append(k)
                self.phrases.append(phrase)
                self.is_title.append(n == 0)
                self.owner.append(i)
                self.exact.setdefault(k, i)
        self.vocabulary = frozenset(w for k in self.keys for w in k.split()) | STOPWORDS
        self._long_vocab = sorted(w for w in self.vocabulary if len(w) >= TYPO_MIN_LEN)
        self._build_bm25()

    def _build_bm25(self) -> None:
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.doc_len: list[int] = []
        doc_counts: list[dict[str, int]] = []
        for doc, k in enumerate(self.keys):
            terms = _terms(k)
            self.doc_len.append(len(terms))
            counts: dict[str, int] = defaultdict(int)
            for t in terms:
                counts[t] += 1
            doc_counts.append(counts)
            for t, c in counts.items():
                self.postings[t].append((doc, c))
        n = max(len(self.keys), 1)
        self.avg_len = sum(self.doc_len) / n if self.doc_len else 1.0
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}
        idfs = sorted(self.idf.values()) or [1.0]
        self.unknown_idf = idfs[int(UNKNOWN_WEIGHT_QUANTILE * (len(idfs) - 1))]
        # A phrasing's BM25 score against itself, computed from its own counts (linear time).
        self.self_score = [
            sum(self.idf[t] * c * (BM25_K1 + 1) / (c + self._norm(doc)) for t, c in counts.items()) or 1.0
            for doc, counts in enumerate(doc_counts)
        ]
        self.doc_words = [frozenset(k.split()) for k in self.keys]
        self.doc_weight = [sum(self.weight(w) for w in words) or 1.0 for words in self.doc_words]
        entry_words: dict[int, set[str]] = defaultdict(set)
        for doc, words in enumerate(self.doc_words):
            entry_words[self.owner[doc]].update(words)
        self.entry_words = {i: frozenset(w) for i, w in entry_words.items()}

    def _norm(self, doc: int) -> float:
        return BM25_K1 * (1 - BM25_B + BM25_B * self.doc_len[doc] / self.avg_len)

    def weight(self, word: str) -> float:
        """IDF of a word; a word the knowledge base never uses weighs like a fairly rare one."""
        return self.idf.get(word, self.unknown_idf)

    def _bm25(self, terms: list[str]) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        for t in set(terms):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for doc, tf in self.postings[t]:
                scores[doc] += idf * tf * (BM25_K1 + 1) / (tf + self._norm(doc))
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
        return " ".join(self._fix_typos(drop_opener(key(question).split())))

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
        qwords = frozenset(q.split())
        qweight = sum(self.weight(w) for w in qwords) or 1.0
        for doc, raw in top:
            score = self._score(q, qwords, qweight, doc, raw)
            i = self.owner[doc]
            if score > best.get(i, 0.0):
                best[i] = score
        ranked = [Scored(self.entries[i], round(s, 1)) for i, s in best.items()]
        ranked.sort(key=lambda s: s.score, reverse=True)
        return ranked

    def _score(self, q: str, qwords: frozenset[str], qweight: float, doc: int, raw: float) -> float:
        """0-100: how well phrasing `doc` explains the query, and the query the phrasing.

        An IDF-weighted F1 of shared words keeps a short phrasing from claiming a long
        question (token_set_ratio's weakness), and a question full of words the entry
        never uses (weather, lottery) from scoring high. Character similarity forgives
        typos the word snapping missed; BM25 relative to the phrasing's self-score adds
        word-pair (bigram) evidence.
        """
        words = self.doc_words[doc]
        shared = sum(self.weight(w) for w in qwords & words)
        recall = shared / qweight
        precision = shared / self.doc_weight[doc]
        f1 = 2 * recall * precision / (recall + precision) if shared else 0.0
        entry_words = self.entry_words[self.owner[doc]]
        entry_recall = sum(self.weight(w) for w in qwords & entry_words) / qweight
        rel = min(raw / self.self_score[doc], 1.0)
        chars = fuzz.token_set_ratio(q, self.keys[doc]) / 100
        return 100 * (W_F1 * f1 + W_ENTRY * entry_recall + W_BM25 * rel + W_CHARS * chars * recall)

    def match(self, question: str) -> Match:
        ranked = tuple(self.rank(question))
        return Match(decide(ranked), ranked)


def decide(ranked: tuple[Scored, ...] | list[Scored]) -> str:
    if not ranked or ranked[0].score < CHOICES_MIN:
        return "none"
    top = ranked[0].score
    runner = ranked[1].score if len(ranked) > 1 else 0.0
    if top >= ANSWER_SURE or (top >= ANSWER_MIN and top - runner >= ANSWER_GAP):
        return "answer"
    if top >= LEAD_MIN and top - runner >= LEAD_GAP:
        return "answer"  # a modest score far ahead of everything else is still clear
    return "choices"


__all__ = ["Match", "Matcher", "Scored", "decide"]
