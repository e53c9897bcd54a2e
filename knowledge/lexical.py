"""BM25 over whole entries: title, phrasings and answer text, as syllable unigrams and bigrams.

The phrasing matcher (matcher.py) knows how members type; this retriever knows what an entry is
about, so a long formal question whose words appear only in an answer still finds it. Pure NumPy:
one array of entry indices and one of precomputed weights per term, so a query costs a handful of
vectorised additions whatever the size of the knowledge base.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from .loader import Entry
from .normalize import key

K1 = 1.2
B = 0.75
# Each field's weight in an entry's term counts (and its length): title, phrasings, answer text. All 1
# (plain BM25 over the whole entry). Out of fold on dev (benchmarks/rank_study.py, fold-seed sets 0-1), right
# entry ranked first real 0.788-0.792 at all 1; answer 0.5: 0.797-0.799 (newer half 0.745-0.748 -> 0.753-0.757)
# but mean top-1 at the refitted thresholds fell (0.560 / 0.525 -> 0.553 / 0.514); with the re-ranker fitted
# on the unseen view too it rose (0.551-0.579 over sets 0-2), yet it changes which follow-ups the topic reading
# offers and two dev dialogues' tests fail (CHANGELOG.md). Answer 0.3: 0.794-0.795, 0.7: 0.795-0.799, 2: 0.775-0.776;
# title 2: 0.793-0.794; phrasings 0.5: 0.782-0.785.
FIELD_WEIGHTS = {"title": 1.0, "phrasings": 1.0, "answer": 1.0}
_LINE_RE = re.compile(r"[\n.;:!?]+")


def terms(text_key: str) -> list[str]:
    """Syllable unigrams plus adjacent pairs of a normalised key."""
    words = text_key.split()
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]


@lru_cache(maxsize=1024)
def query_sets(query_key: str) -> tuple[frozenset[str], frozenset[str]]:
    """(the distinct words, the distinct `terms`) of a query key. Cached: the phrasing matcher, this
    retriever and the re-ranker all ask for the same query's; each is built as `set(...)` would be,
    so it is iterated in the same order and sums over it come out the same to the last bit."""
    return frozenset(query_key.split()), frozenset(terms(query_key))


def entry_terms(entry: Entry) -> list[str]:
    """Terms of title, phrasings and answer; pairs never span two phrasings or two sentences."""
    return [t for _, ts in _fields(entry) for t in ts]


def _fields(entry: Entry) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for field, parts in (("title", [entry.title]), ("phrasings", list(entry.questions)),
                         ("answer", _LINE_RE.split(entry.answer))):
        for part in parts:
            k = key(part) if part.strip() else ""
            if k:
                out.append((field, terms(k)))
    return out


def entry_counts(entry: Entry) -> Counter[str]:
    """Each term's count in the entry, weighted by its field's FIELD_WEIGHTS."""
    counts: Counter[str] = Counter()
    for field, ts in _fields(entry):
        w = FIELD_WEIGHTS[field]
        for t in ts:
            counts[t] += w  # type: ignore[assignment]
    return counts


class Lexical:
    """Okapi BM25 with one document per entry."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        counts = [entry_counts(e) for e in entries]
        self.size = len(counts)
        lengths = np.array([sum(c.values()) for c in counts] or [1], dtype=np.float64)
        avg = float(lengths.mean()) or 1.0
        norm = K1 * (1 - B + B * lengths / avg)
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        n = max(self.size, 1)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        rows: dict[str, tuple[list[int], list[float]]] = {}
        for i, c in enumerate(counts):
            for t, tf in c.items():
                idx, w = rows.setdefault(t, ([], []))
                idx.append(i)
                w.append(self.idf[t] * tf * (K1 + 1) / (tf + norm[i]))
        # (entry indices as np.intp, the type np.bincount counts in: no conversion per query)
        self.postings = {t: (np.array(i, dtype=np.intp), np.array(w, dtype=np.float64)) for t, (i, w) in rows.items()}
        # the same as raw bytes: joining a query's rows as bytes costs far less than np.concatenate
        # (with each term's IDF, so that a query looks each term up once)
        self.packed = {t: (i.tobytes(), w.tobytes(), self.idf[t]) for t, (i, w) in self.postings.items()}
        self.postings = {t: (np.frombuffer(i, dtype=np.intp), np.frombuffer(w, dtype=np.float64))
                         for t, (i, w, _) in self.packed.items()}  # read-only views of those bytes: no second copy
        self.vocabulary = frozenset(t for t in self.idf if "_" not in t)
        self.entry_words = [frozenset(t for t in c if "_" not in t) for c in counts]

    def scores(self, query_key: str) -> tuple[np.ndarray, float]:
        """BM25 of every entry, and the query's own ceiling (sum of its known terms' IDF), for scaling."""
        packed = self.packed
        rows = [packed[t] for t in query_sets(query_key)[1] if t in packed]
        ceiling = sum([r[2] for r in rows])
        # (indices in a bytearray: see Matcher._sums)
        scores = np.bincount(np.frombuffer(bytearray().join([r[0] for r in rows]), dtype=np.intp),
                             weights=np.frombuffer(b"".join([r[1] for r in rows]), dtype=np.float64),
                             minlength=self.size)
        return scores, ceiling


__all__ = ["Lexical", "entry_terms", "query_sets", "terms"]
