"""Match a question against the knowledge base. Pure: no I/O.

Two rankers, fused, then a calibrated decision (see the retrieval notes and calibration.py):

1. the phrasing matcher: normalise -> exact hit -> BM25 over phrasing tokens and bigrams picks
   candidates -> re-rank with an IDF-weighted word F1, entry coverage, BM25 relative to the
   phrasing's self-score and rapidfuzz token_set_ratio -> best phrasing per entry (0-100);
2. the lexical retriever (lexical.py): BM25 over each entry's title, phrasings and answer.

fused = phrasing / 100 + fusion * BM25 / the query's ceiling. Features of the best entries go to
two logistic regressions fitted on the dev halves (`make calibrate`): answer, offer the top 2-3
as choices, or say honestly that there is no answer yet. A message with several questions is
answered on its first that gets an answer and offers another as a choice.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from .calibration import CANDIDATE_FEATURES, FEATURES, Calibration
from .concepts import RANK_WEAK, concepts
from .lexical import K1 as LEX_K1
from .lexical import Lexical, query_sets
from .loader import Entry
from .normalize import STOPWORDS, drop_opener, fold, key, undo_telex
from .question import split_question

MAX_CHOICES = 3
TIE_MARGIN = 0.02  # two best entries this close in re-ranker score: a tie, never a direct answer
CHOICE_RATIO = 0.6  # a third choice is offered only if its fused score is this close to the best
RERANK = 8  # entries with the best fused scores re-ordered by the learned re-ranker
CANDIDATES = 30  # best phrasings by BM25 re-ranked...
ENTRY_CANDIDATES = 30  # ... with the best phrasing of this many entries
LIGHT_CANDIDATES = 10  # a message's second ranking (see Matcher.match): this many of each, not 30 / 30
# Phrasing score blend (sums to 1); see Matcher._score.
W_F1 = 0.45
W_ENTRY = 0.25
W_BM25 = 0.15
W_CHARS = 0.15
UNKNOWN_WEIGHT_QUANTILE = 0.5
TYPO_MIN_LEN = 5  # typo snapping is safe only for longer tokens
MAX_QUERY_WORDS = 40  # of a long letter, the words nearest its (first) question are kept
MAX_QUERY_CHARS = 400  # (and before normalising, the characters)

NEAR_EXACT = 0.9  # word-F1 of a phrasing at which the question is nearly that phrasing
MAX_OTHER_PARTS = 1  # questions after the first that are matched and offered
MAX_PARTS = 3  # parts of a message looked at (split_question's order; ranked up to MAX_RANKINGS)
MAX_RANKINGS = 2  # query keys ranked per message, at most (each costs about the same: see Matcher.match)
LONG_TEXT = 500  # characters: a longer letter is ranked once (its first question; see Matcher.match)
SHORT_TEXT = 200  # characters: a short message whose cut found nothing is tried whole

# A Vietnamese syllable without its marks: an onset, one to three vowels, a final consonant.
SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ng|nh|ch|[cmnpt])?")
LETTERS = re.compile(r"[a-z]+")

BM25_K1 = 1.2
BM25_B = 0.75


# Decision features read straight off the best candidate's re-ranker row.
_FROM_CANDIDATE = [CANDIDATE_FEATURES.index(f)
                   for f in ("q_missing", "q_missing_all", "t_extra", "title_cover", "surface_cover")]


_RR_MARGIN = FEATURES.index("rr_margin")


def clear_lead(features: np.ndarray) -> np.ndarray:
    """Whether the best entry leads the runner-up by more than a tie (one feature row, or a matrix)."""
    return np.asarray(features)[..., _RR_MARGIN] >= TIE_MARGIN


@dataclass(frozen=True)
class Scored:
    entry: Entry
    score: float  # 0-100


@dataclass(frozen=True)
class Match:
    status: str  # "answer" | "choices" | "none"
    ranked: tuple[Scored, ...]
    offered: tuple[Scored, ...] = ()  # the choices, or with an answer: the other questions of the message
    confidence: float = 0.0  # calibrated probability that the best entry is right

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None

    @property
    def choices(self) -> tuple[Scored, ...]:
        return self.offered if self.status == "choices" else ()

    @property
    def also(self) -> tuple[Scored, ...]:
        """With an answer: entries for the message's other questions, offered as choices."""
        return self.offered if self.status == "answer" else ()


@dataclass
class Evidence:
    """Both rankers' view of one query, and the features of its best entry."""

    order: list[int]  # entry indices, best fused score first (a few)
    fused: np.ndarray
    phrase: dict[int, float]
    exact: int | None
    f1: dict[int, float] = field(default_factory=dict)  # best word-F1 of each entry's phrasings
    features: np.ndarray = field(default_factory=lambda: np.zeros(len(FEATURES)))
    rr: np.ndarray = field(default_factory=lambda: np.zeros(0))  # re-ranker scores, in `order`
    candidates: np.ndarray = field(default_factory=lambda: np.zeros((0, len(CANDIDATE_FEATURES))))
    query: Query | None = None  # what the stages shared for this query key (see Query)

    @property
    def top(self) -> int | None:
        return self.order[0] if self.order else None


def _tops(ev: Evidence, lex_rel: np.ndarray) -> tuple[int, int]:
    """The entry the phrasing matcher ranks first, and the one BM25 ranks first (-1: none)."""
    return (max(ev.phrase, key=ev.phrase.__getitem__) if ev.phrase else -1,
            int(np.argmax(lex_rel)) if len(lex_rel) else -1)


def _best_but(scores: dict[int, float], a: int) -> float:
    """The best score of an entry other than `a` (0: none); a copy without `a`, then max, is cheaper
    than a generator over the items."""
    others = dict(scores)
    others.pop(a, None)
    return max(others.values(), default=0.0)


_NONE = np.zeros(0, dtype=np.int64)


@dataclass(slots=True)
class Query:
    """What the stages of one query key share, built per call and passed down (Evidence.query): its
    content words with their weights, and what _sums's one bincount gives besides the phrasings' sums
    (the lexical retriever's scores and ceiling, the re-ranker's word shares). The matcher itself
    keeps no per-query state, so concurrent queries cannot see each other's."""

    key: str
    weights: dict[str, float]  # content words -> IDF over whole entries (Matcher._query_words)
    lex: np.ndarray | None = None  # lexical.scores(key), from _sums
    ceiling: float = 0.0
    shares: np.ndarray | None = None  # the re-ranker's word shares of every entry (Matcher._word_shares)


def _views(rows: tuple[bytes, bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights) as read-only arrays over the bytes kept for joining (no second copy)."""
    return np.frombuffer(rows[0], dtype=np.intp), np.frombuffer(rows[1], dtype=np.float64)


def _postings(word_sets: list[frozenset[str]]) -> dict[str, np.ndarray]:
    """word -> the indices of the sets that contain it."""
    out: dict[str, list[int]] = defaultdict(list)
    for i, words in enumerate(word_sets):
        for w in words:
            out[w].append(i)
    return {w: np.array(v, dtype=np.int64) for w, v in out.items()}


def _terms(text_key: str) -> list[str]:
    words = text_key.split()
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]


class Matcher:
    """An index over all phrasings and entries; `match` is safe to call from any thread."""

    def __init__(self, entries: Iterable[Entry], calibration: Calibration | None = None) -> None:
        self.entries = list(entries)
        self.index = {e.id: i for i, e in enumerate(self.entries)}
        self.calibration = calibration or Calibration.load()
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
        self.lexical = Lexical(self.entries)
        # For the re-ranker: each entry's title words and the concepts its title and its whole text name.
        self.title_words = [frozenset(w for w in key(e.title).split() if w not in STOPWORDS) for e in self.entries]
        self.title_concepts = [concepts(key(e.title)) for e in self.entries]
        self.surface_concepts = [
            frozenset().union(*(concepts(key(t)) for t in (e.title, *e.questions))) for e in self.entries
        ]
        self.entry_concepts = [c | concepts(key(e.answer)) for c, e in zip(self.surface_concepts, self.entries,
                                                                             strict=True)]
        self.title_strong = [c - RANK_WEAK for c in self.title_concepts]  # (for the re-ranker's t_extra)
        self.vocabulary = frozenset(w for k in self.keys for w in k.split()) | STOPWORDS | self.lexical.vocabulary
        self._long_vocab = sorted(w for w in self.vocabulary if len(w) >= TYPO_MIN_LEN)
        # by length, the long words one edit away could be (length within one), in the same order:
        # extractOne then returns what it would over all of them, three to ten times sooner
        self._near_vocab: dict[int, list[str]] = defaultdict(list)
        for w in self._long_vocab:
            for n in (len(w) - 1, len(w), len(w) + 1):
                self._near_vocab[n].append(w)
        self._typo_cache: dict[str, str] = {}
        self._build_bm25()
        self.match("Chào bạn. Cho hỏi cách kích hoạt? Và đổi mật khẩu?")  # warm lazy imports and regexes

    # --- the phrasing matcher --------------------------------------------------------------------

    def _build_bm25(self) -> None:
        postings: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
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
                postings[t][0].append(doc)
                postings[t][1].append(c)
        n = max(len(self.keys), 1)
        self.avg_len = sum(self.doc_len) / n if self.doc_len else 1.0
        self.idf = {t: math.log(1 + (n - len(p[0]) + 0.5) / (len(p[0]) + 0.5)) for t, p in postings.items()}
        idfs = sorted(self.idf.values()) or [1.0]
        self.unknown_idf = idfs[int(UNKNOWN_WEIGHT_QUANTILE * (len(idfs) - 1))]
        norm = np.array([self._norm(d) for d in range(len(self.keys))] or [1.0])
        self.postings = {}
        for t, (docs, tfs) in postings.items():
            d = np.array(docs, dtype=np.intp)  # (np.bincount's index type: no copy per query)
            tf = np.array(tfs, dtype=np.float64)
            self.postings[t] = (d, self.idf[t] * tf * (BM25_K1 + 1) / (tf + norm[d]))
        # A phrasing's BM25 score against itself, computed from its own counts (linear time).
        self.self_score = [
            sum(self.idf[t] * c * (BM25_K1 + 1) / (c + self._norm(doc)) for t, c in counts.items()) or 1.0
            for doc, counts in enumerate(doc_counts)
        ]
        self.doc_words = [frozenset(k.split()) for k in self.keys]
        # Each phrasing key as token_set_ratio reads it (its distinct words, sorted): the same score,
        # without rapidfuzz splitting, sorting and de-duplicating every candidate again per query.
        self.set_keys = [" ".join(sorted(words)) for words in self.doc_words]
        self.doc_weight = [sum(self.weight(w) for w in words) or 1.0 for words in self.doc_words]
        entry_words: dict[int, set[str]] = defaultdict(set)
        for doc, words in enumerate(self.doc_words):
            entry_words[self.owner[doc]].update(words)
        self.entry_words = {i: frozenset(w) for i, w in entry_words.items()}
        self.all_words = [self.lexical.entry_words[i] | self.entry_words.get(i, frozenset())
                          for i in range(len(self.entries))]
        # Arrays for scoring all candidates at once (see _phrase_scores).
        self.doc_weight_a = np.array(self.doc_weight or [1.0])
        self.self_score_a = np.array(self.self_score or [1.0])
        self.owner_a = np.array(self.owner or [0], dtype=np.int64)
        entry_postings: dict[str, list[int]] = defaultdict(list)
        for i, words in self.entry_words.items():
            for w in words:
                entry_postings[w].append(i)
        self.entry_postings = {w: np.array(v, dtype=np.int64) for w, v in entry_postings.items()}
        # For _sums: each word's phrasings (offset by one phrasing count) and entries (by two), with
        # its IDF per row, so that BM25 and both word shares come out of one bincount; every row list
        # as raw bytes (indices, weights): joining bytes costs far less than np.concatenate per term.
        size = len(self.keys)
        term_rows = {t: (d.tobytes(), w.tobytes()) for t, (d, w) in self.postings.items()}
        self.postings = {t: _views(rows) for t, rows in term_rows.items()}  # (no second copy)
        self.word_rows = {}
        for w, entries in self.entry_postings.items():
            rows = np.concatenate([self.postings[w][0] + size, entries + 2 * size]).astype(np.intp)
            self.word_rows[w] = (rows.tobytes(), np.full(len(rows), self.weight(w)).tobytes())
        # For the re-ranker's word shares: the entries whose text (anywhere) / title use each word.
        n = len(self.entries)
        word_postings, title_postings = _postings(self.all_words), _postings(self.title_words)
        self.share_postings = {
            w: np.concatenate([v, self.entry_postings.get(w, _NONE) + n, title_postings.get(w, _NONE) + 2 * n])
            for w, v in word_postings.items()
        }
        # the same as raw bytes and lengths, for _word_shares
        self.share_rows = {w: (v.astype(np.intp).tobytes(), len(v)) for w, v in self.share_postings.items()}
        self.share_postings = {w: np.frombuffer(rows, dtype=np.intp) for w, (rows, _) in self.share_rows.items()}
        idf = self.lexical.idf
        self.title_weight = np.array([sum(idf.get(w, self.unknown_idf) for w in t) or 1.0 for t in self.title_words])
        # For _sums to add, in the same bincount, the lexical retriever's BM25 of each entry [2s+n, 2s+2n)
        # and the re-ranker's three word shares [2s+2n, 2s+5n) (s phrasings, n entries): their rows
        # offset, with each term's IDF (the ceiling) and each word's weight as _query_words gives it.
        lex_at, share_at = 2 * size + n, 2 * size + 2 * n
        lex_rows = {t: ((np.frombuffer(i, dtype=np.intp) + lex_at).tobytes(), w, f)
                    for t, (i, w, f) in self.lexical.packed.items()}
        # Each term's phrasing rows and lexical rows joined in advance, with its IDF (0 for a term only
        # the phrasings use: the ceiling sums the lexical terms'): one look-up per query term. The two
        # kinds of rows fill different bins, so each bin still adds its terms in the query's order.
        none = (b"", b"", 0.0)
        self.query_rows = {t: (term_rows.get(t, none)[0] + lex_rows.get(t, none)[0],
                               term_rows.get(t, none)[1] + lex_rows.get(t, none)[1], lex_rows.get(t, none)[2])
                           for t in term_rows.keys() | lex_rows.keys()}
        self.share_weighted = {
            w: ((np.frombuffer(rows, dtype=np.intp) + share_at).tobytes(),
                np.full(count, self.lexical.idf.get(w, self.unknown_idf)).tobytes())
            for w, (rows, count) in self.share_rows.items()}

    def _norm(self, doc: int) -> float:
        return BM25_K1 * (1 - BM25_B + BM25_B * self.doc_len[doc] / self.avg_len)

    def weight(self, word: str) -> float:
        """IDF of a word; a word the knowledge base never uses weighs like a fairly rare one."""
        return self.idf.get(word, self.unknown_idf)

    def _sums(self, q: str, query: Query | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For query key `q`, in one bincount: the BM25 score of each phrasing, and the summed IDF of
        the query's words each phrasing and each entry uses (for _score). Each sum adds its terms in
        the same order as separate bincounts would, so the figures are the same to the last bit.

        The same bincount gives the lexical retriever's scores and the re-ranker's word shares for
        `q`, kept in `query` (when given) for evidence and candidates_matrix."""
        size, n = len(self.keys), len(self.entries)
        query_rows, word_rows, share_rows = self.query_rows, self.word_rows, self.share_weighted
        words, terms = query_sets(q)  # (cached: _score, lexical.scores and _query_words ask too)
        rows: list[tuple[Any, ...]] = [query_rows[t] for t in terms if t in query_rows]  # (indices, weights, IDF)
        ceiling = sum([r[2] for r in rows])
        rows += [word_rows[w] for w in words if w in word_rows]
        weights = query.weights if query is not None else self._query_words(q)
        rows += [share_rows[w] for w in weights if w in share_rows]
        # (the indices joined into a bytearray, the weights into bytes: two large buffers of one kind
        # start at the same offset within a memory page, and bincount then runs several times slower)
        out = np.bincount(np.frombuffer(bytearray().join([r[0] for r in rows]), dtype=np.intp),
                          weights=np.frombuffer(b"".join([r[1] for r in rows]), dtype=np.float64),
                          minlength=2 * size + 5 * n)
        if query is not None:
            query.lex, query.ceiling, query.shares = out[2 * size + n:2 * size + 2 * n].copy(), ceiling, out[2 * size + 2 * n:]
        return out[:size], out[size:2 * size], out[2 * size:2 * size + n]

    def _fix_word(self, w: str) -> str:
        if w in self.vocabulary:
            return w
        hit = self._typo_cache.get(w)
        if hit is None:
            hit = undo_telex(w, self.vocabulary)
            if hit not in self.vocabulary and len(hit) >= TYPO_MIN_LEN:
                found = process.extractOne(hit, self._near_vocab.get(len(hit), ()), scorer=OSA.distance,
                                           score_cutoff=1)
                if found is not None:
                    hit = found[0]
            if len(self._typo_cache) < 20_000:
                self._typo_cache[w] = hit
        return hit

    def query_key(self, question: str) -> str:
        words = drop_opener(key(question[-MAX_QUERY_CHARS:]).split())[-MAX_QUERY_WORDS:]
        vocabulary = self.vocabulary
        return " ".join([w if w in vocabulary else self._fix_word(w) for w in words])

    def has_content(self, question: str) -> bool:
        """Whether the message holds a word the knowledge base knows: a phrasing typed exactly, or a word
        of two letters or more, not a stopword, that some entry uses. "asdfgh", "DROP TABLE records" or
        "{{7*7}}" hold none: no entry can be offered for them, and the bot says it did not understand."""
        return self._content_key(self.query_key(question))

    def _content_key(self, q: str) -> bool:
        """has_content of a query key."""
        if q in self.exact:
            return True
        vocabulary = self.vocabulary
        return any(len(w) >= 2 and w in vocabulary and w not in STOPWORDS and not w.isdigit() for w in q.split())

    def says_something(self, question: str) -> bool:
        """Whether the message reads as words: a word the knowledge base knows, or one shaped like a Vietnamese
        syllable ("gia vang hom nay bao nhieu", "bc la gi" are questions the KB lacks, worth logging; "asdfgh",
        "DROP TABLE records" and "{{7*7}}" are not)."""
        return self.has_content(question) or any(
            len(w) >= 2 and SYLLABLE.fullmatch(w) for w in LETTERS.findall(fold(question)))

    def rank(self, question: str, skip_doc: int | None = None) -> list[Scored]:
        """Entries scored 0-100 by the phrasing matcher alone, best first (`skip_doc`: for kb check)."""
        q = self.query_key(question)
        scores = self._phrase_scores(q, skip_doc)
        ranked = [Scored(self.entries[i], round(s, 1)) for i, s in scores.items()]
        ranked.sort(key=lambda s: s.score, reverse=True)
        return ranked

    def _phrase_scores(self, q: str, skip_doc: int | None = None, f1best: dict[int, float] | None = None,
                       query: Query | None = None, pool: int | None = None) -> dict[int, float]:
        best: dict[int, float] = {}
        if not q:
            return best
        hit = self.exact.get(q)
        if hit is not None and skip_doc is None:
            best[hit] = 100.0
            if f1best is not None:
                f1best[hit] = 1.0
        bm, shared, entry_shared = self._sums(q, query)
        if skip_doc is not None:
            bm[skip_doc] = 0.0
        nonzero = int(np.count_nonzero(bm))
        if not nonzero:
            return best
        top = self._candidates(bm, nonzero) if pool is None else self._candidates(bm, nonzero, pool, pool)
        return self._score(q, top, bm[top], best, f1best, (shared, entry_shared))

    def _candidates(self, bm: np.ndarray, nonzero: int, wide: int = CANDIDATES,
                    entries: int = ENTRY_CANDIDATES) -> np.ndarray:
        """Phrasings worth re-ranking: the best one of each of the ENTRY_CANDIDATES entries whose best
        phrasing scores highest by BM25, plus the CANDIDATES best phrasings overall. Many phrasings
        of a few entries sharing common words ("đăng ký …") then cannot crowd another entry out."""
        pool = min(nonzero, wide * 8)
        neg = -bm  # (negated once; the array methods skip NumPy's function wrappers)
        part = neg.argpartition(pool - 1)[:pool] if pool < len(bm) else np.flatnonzero(bm)
        # (all of them score > 0: BM25 weights are positive and pool <= nonzero)
        ranked = part[neg[part].argsort(kind="stable")].tolist()
        # the first (best) phrasing of each of the first ENTRY_CANDIDATES entries, in plain Python:
        # np.unique and np.union1d cost more than this loop over a few hundred ints
        first: dict[int, int] = {}
        owner = self.owner
        for doc in ranked:
            entry = owner[doc]
            if entry not in first:
                first[entry] = doc
                if len(first) == entries:
                    break
        chosen = set(ranked[:wide])
        chosen.update(first.values())
        return np.array(sorted(chosen), dtype=np.int64)

    def _score(self, q: str, docs: np.ndarray, raw: np.ndarray, best: dict[int, float],
               f1best: dict[int, float] | None = None,
               sums: tuple[np.ndarray, np.ndarray] | None = None) -> dict[int, float]:
        """0-100 for each candidate phrasing: how well it explains the query, and the query it.

        An IDF-weighted F1 of shared words keeps a short phrasing from claiming a long
        question (token_set_ratio's weakness), and a question full of words the entry
        never uses (weather, lottery) from scoring high. Character similarity forgives
        typos the word snapping missed; BM25 relative to the phrasing's self-score adds
        word-pair (bigram) evidence. Vectorised over the candidates; the best phrasing
        per entry is kept in `best`. `sums`: the word shares of every phrasing and entry (_sums).
        """
        idf, unknown = self.idf, self.unknown_idf
        words = query_sets(q)[0]
        qweight = sum([idf.get(w, unknown) for w in words]) or 1.0
        shared_all, entry_shared = sums if sums is not None else self._sums(q)[1:]
        shared = shared_all[docs]
        recall = shared / qweight
        precision = shared / self.doc_weight_a[docs]
        denom = recall + precision
        if denom.all():  # (every candidate shares a word with the query: the usual case)
            f1 = 2 * recall * precision / denom
        else:
            f1 = np.divide(2 * recall * precision, denom, out=np.zeros_like(denom), where=denom > 0)
        owners = self.owner_a[docs]
        entry_recall = entry_shared[owners] / qweight
        rel = np.minimum(raw / self.self_score_a[docs], 1.0)
        set_keys = self.set_keys
        chars = process.cdist([q], [set_keys[d] for d in docs.tolist()], scorer=fuzz.token_set_ratio)[0] / 100
        scores = 100 * (W_F1 * f1 + W_ENTRY * entry_recall + W_BM25 * rel + W_CHARS * chars * recall)
        owners_l = owners.tolist()
        get = best.get
        if f1best is None:
            for i, score in zip(owners_l, scores.tolist(), strict=True):
                if score > get(i, 0.0):
                    best[i] = score
            return best
        get_f1 = f1best.get
        for i, score, f in zip(owners_l, scores.tolist(), f1.tolist(), strict=True):
            if score > get(i, 0.0):
                best[i] = score
            if f > get_f1(i, 0.0):
                f1best[i] = f
        return best

    # --- fusion, features, decision --------------------------------------------------------------

    def evidence(self, q: str, fusion: float | None = None, exclude: int | None = None,
                 pool: int | None = None) -> Evidence:
        """Both rankers on a normalised query key, fused; features of the best entry.

        `exclude`: an entry left out of the ranking (a follow-up never means the entry just shown).
        `pool`: phrasings re-scored (see _candidates; default CANDIDATES / ENTRY_CANDIDATES)."""
        fusion = self.calibration.fusion if fusion is None else fusion
        f1best: dict[int, float] = {}
        query = self.query(q)
        # (_sums fills query.lex; not for an empty q, nor when the tests swap in the plain-code _sums)
        phrase = self._phrase_scores(q, f1best=f1best, query=query, pool=pool)
        if query.lex is not None:
            lex, ceiling = query.lex, query.ceiling
        else:
            lex, ceiling = self.lexical.scores(q) if q else (np.zeros(len(self.entries)), 0.0)
        lex_rel = lex / (ceiling * (1 + LEX_K1)) if ceiling else lex  # in [0, 1)
        fused = fusion * lex_rel
        if phrase:
            idx = np.fromiter(phrase.keys(), dtype=np.int64, count=len(phrase))
            fused[idx] += np.fromiter(phrase.values(), dtype=np.float64, count=len(phrase)) / 100
        if exclude is not None:
            fused[exclude] = 0.0
            phrase.pop(exclude, None)
            lex_rel[exclude] = 0.0
        nonzero = int(np.count_nonzero(fused))
        if not nonzero:
            return Evidence([], fused, phrase, None)
        k = min(RERANK, nonzero)
        part = (-fused).argpartition(k - 1)[:k] if k < len(fused) else np.flatnonzero(fused)
        ev = Evidence(part.tolist(), fused, phrase, self.exact.get(q), f1best, query=query)
        self._rerank(q, ev, lex_rel)
        return ev

    def _query_words(self, q: str) -> dict[str, float]:
        """The query's content words with their IDF over whole entries."""
        all_words = query_sets(q)[0]
        words = all_words - STOPWORDS or all_words
        idf, unknown = self.lexical.idf, self.unknown_idf
        return {w: idf.get(w, unknown) for w in words}

    def query(self, q: str) -> Query:
        """A fresh Query for key `q` (its sums are filled by _sums)."""
        return Query(q, self._query_words(q))

    def _query_for(self, q: str, ev: Evidence) -> Query:
        """`ev`'s Query when it was built for key `q`, else a fresh one."""
        query = ev.query
        if query is None or query.key != q:
            query = ev.query = self.query(q)
        return query

    def _word_shares(self, known: list[str], weights: dict[str, float]) -> np.ndarray:
        """For each entry, the summed `weights` of the `known` words its text uses anywhere [0, n), in its
        title and phrasings [n, 2n), in its title [2n, 3n): one bincount, the rows joined as bytes."""
        rows = [self.share_rows[w] for w in known]
        return np.bincount(np.frombuffer(b"".join([r[0] for r in rows]), dtype=np.intp),
                           weights=np.array([weights[w] for w in known]).repeat([r[1] for r in rows]),
                           minlength=3 * len(self.entries))

    def candidates_matrix(self, q: str, ev: Evidence, lex_rel: np.ndarray, cands: list[int],
                          tops: tuple[int, int] | None = None) -> np.ndarray:
        """CANDIDATE_FEATURES of each entry in `cands` for query key `q` (word shares by bincount)."""
        query = self._query_for(q, ev)
        weights = query.weights
        total = sum(weights.values()) or 1.0
        n = len(self.entries)

        # one bincount for three shares: entry text anywhere [0, n), title and phrasings [n, 2n), title [2n, 3n)
        # (from _sums's bincount when it ran for this query)
        if query.shares is None:
            query.shares = self._word_shares([w for w in weights if w in self.share_postings], weights)
        shares = query.shares
        qc = concepts(q)
        phrase_top, lex_top = tops if tops is not None else _tops(ev, lex_rel)
        # The rows built as Python lists and converted once: each value is the same IEEE operation on
        # the same doubles as the column-wise NumPy version, and fourteen small column writes cost more.
        idx = np.asarray(cands, dtype=np.intp)
        anywhere_l, surface_l, title_l = shares.reshape(3, n)[:, idx].tolist()
        fused, lex, title_w = ev.fused[idx].tolist(), lex_rel[idx].tolist(), self.title_weight[idx].tolist()
        phrase, f1 = ev.phrase.get, ev.f1.get
        qs = qc - RANK_WEAK  # (len(qc - s - RANK_WEAK) == len(qs - s): one set difference per row, not two)
        surface, anywhere, strong, title = self.surface_concepts, self.entry_concepts, self.title_strong, self.title_concepts
        rows = [[fused[j], phrase(c, 0.0) / 100, lex[j], f1(c, 0.0), anywhere_l[j] / total, surface_l[j] / total,
                 title_l[j] / title_w[j], title_l[j] / total, len(qs - surface[c]), len(qs - anywhere[c]),
                 len(strong[c] - qc), len(title[c] & qc), c == phrase_top, c == lex_top]
                for j, c in enumerate(cands)]
        return np.array(rows, dtype=np.float64).reshape(len(cands), len(CANDIDATE_FEATURES))

    def _rerank(self, q: str, ev: Evidence, lex_rel: np.ndarray, learned: bool = True) -> None:
        """Re-order `ev.order` (the candidates) by the learned re-ranker (`learned=False`: by fused
        score, which then also stands in for the re-ranker's score); then the decision features."""
        cands = ev.order
        tops = _tops(ev, lex_rel)  # (for both the candidates' rows and the decision features)
        x = self.candidates_matrix(q, ev, lex_rel, cands, tops)
        s = self.calibration.rerank_scores(x) if learned else x[:, 0].copy()
        # ties (an unfitted re-ranker on equal fused scores) keep the fused order
        idx = np.lexsort((-ev.fused[cands], -s))
        if ev.exact is not None and ev.exact in cands:  # the question is word for word a phrasing
            first = cands.index(ev.exact)
            idx = np.concatenate(([first], idx[idx != first]))
        ev.order = [cands[i] for i in idx]
        ev.rr = s[idx]
        ev.candidates = x[idx]
        ev.features = self._features(q, ev, lex_rel, tops)

    def features_for(self, q: str, ev: Evidence, learned: bool = True) -> np.ndarray:
        """Order `ev`'s candidates (the caller re-scored `ev.fused`) for query key `q`, by the re-ranker
        or (`learned=False`) by those fused scores; the features of the new best entry."""
        lex, ceiling = self.lexical.scores(q) if q else (np.zeros(len(self.entries)), 0.0)
        self._rerank(q, ev, lex / (ceiling * (1 + LEX_K1)) if ceiling else lex, learned)
        return ev.features

    def _features(self, q: str, ev: Evidence, lex_rel: np.ndarray, tops: tuple[int, int] | None = None) -> np.ndarray:
        a = ev.order[0]
        second = float(ev.fused[ev.order[1]]) if len(ev.order) > 1 else 0.0
        phrase_top, lex_top = tops if tops is not None else _tops(ev, lex_rel)
        pa = ev.phrase.get(a, 0.0)
        other_phrase = _best_but(ev.phrase, a)
        f1a = ev.f1.get(a, 0.0)
        f1_other = _best_but(ev.f1, a)
        weights = self._query_for(q, ev).weights
        total = sum(weights.values()) or 1.0
        words = self.all_words[a]
        coverage = sum([v for w, v in weights.items() if w in words]) / total
        vocabulary = self.vocabulary
        unknown = sum([v for w, v in weights.items() if w not in vocabulary]) / total
        rr = ev.rr
        if len(rr):
            shifted = np.exp(rr - rr[0])
            rr_margin, rr_prob = float(rr[0] - rr[1]) if len(rr) > 1 else 5.0, float(1 / shifted.sum())
            cand = ev.candidates[0]
            q_missing, q_all, t_extra, title_cover, surface = cand[_FROM_CANDIDATE].tolist()
        else:
            rr_margin, rr_prob, q_missing, q_all, t_extra, title_cover, surface = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        return np.array([
            float(ev.fused[a]), float(ev.fused[a]) - second, pa / 100, float(lex_rel[a]),
            float(phrase_top == a and lex_top == a), float(phrase_top == a), float(lex_top == a),
            math.log1p(len(weights)), coverage, unknown, (pa - other_phrase) / 100,
            f1a, f1a - f1_other, float(f1a >= NEAR_EXACT),
            min(rr_margin, 5.0), rr_prob, q_missing, q_all, t_extra, title_cover, surface,
        ])

    def scored(self, ev: Evidence, n: int) -> tuple[Scored, ...]:
        """The first `n` entries of `ev`, with fused scores shown on a 0-100 scale."""
        order = ev.order[:n]
        if not order:
            return ()
        fused = ev.fused[order].tolist()  # (one gather, not a NumPy scalar per entry)
        scale = 100 / max(1.0 + self.calibration.fusion, fused[0])
        entries = self.entries
        return tuple([Scored(entries[i], round(f * scale, 1)) for i, f in zip(order, fused, strict=True)])

    def decide(self, ev: Evidence) -> tuple[str, float]:
        """("answer" | "choices" | "none", P(best is right))."""
        if ev.top is None:
            return "none", 0.0
        if ev.exact is not None and ev.exact == ev.top:
            return "answer", 1.0
        p = self.calibration.p_answer(ev.features)
        if p >= self.calibration.answer_threshold(ev.features) and bool(clear_lead(ev.features)):
            return "answer", p
        if self.calibration.p_choices(ev.features) >= self.calibration.choices_threshold(ev.features):
            return "choices", p
        return "none", p

    def choice_list(self, ev: Evidence) -> tuple[Scored, ...]:
        ranked = self.scored(ev, MAX_CHOICES)
        if len(ranked) == MAX_CHOICES and ranked[-1].score < CHOICE_RATIO * ranked[0].score:
            ranked = ranked[:-1]
        return ranked

    def match_key(self, q: str, pool: int | None = None) -> Match:
        """Decide on one normalised query key (no sentence splitting); `pool`: see evidence."""
        ev = self.evidence(q, pool=pool)
        status, p = self.decide(ev)
        offered = self.choice_list(ev) if status == "choices" else ()
        return Match(status, self.scored(ev, 5), offered, p)

    def primary_key(self, question: str) -> str:
        """The query key the decision is made on: the message's first question with its context."""
        return self.query_key(split_question(question)[0])

    @staticmethod
    def _others(parts: list[str], tried: list[Match], chosen: int, first: Match,
                decide_on: Callable[[str], Match | None]) -> list[Scored]:
        """The best entries of the message's other parts (up to MAX_OTHER_PARTS), not already shown."""
        others: list[Scored] = []
        seen = {s.entry.id for s in (first.ranked[:1] if first.status == "answer" else first.offered)}
        clauses = len(parts) > 2 and parts[1] in parts[0]  # (a sentence asking two things, then its clauses)
        for i in (0, *range(len(parts) - 1, 0, -1)) if clauses else range(len(parts)):
            if len(others) >= MAX_OTHER_PARTS:
                break
            if i == chosen:
                continue
            m = tried[i] if i < len(tried) else decide_on(parts[i])
            if m is None:  # (over the budget)
                continue
            if m.status != "none" and m.best is not None and m.best.entry.id not in seen:
                seen.add(m.best.entry.id)
                others.append(m.best)
        return others

    def match(self, question: str) -> Match:
        """Answer the first question of the message that can be answered; offer the entries for its others.

        At most MAX_RANKINGS query keys are ranked (a ranking costs about the same whatever the
        length, and a third one set the latency's p99): the parts are tried in turn for an answer
        until then. A sentence that asks two things comes whole, then clause by clause
        (split_question); when the whole is answered its first clause mostly names the same entry,
        so the other question offered is then looked for from the last clause back.

        The second ranking re-scores fewer phrasings (LIGHT_CANDIDATES; its decisions on dev are the
        same), and a letter longer than LONG_TEXT is ranked only on its first question: messages ranked
        twice set the latency's p99, and the longest of them the worst of it."""
        decided: dict[str, Match] = {}  # by query key: two parts (or a part and the whole) may share one
        found = self._match_parts(question, decided)
        # Numbers and unknown words only: nothing to offer. Checked on the query keys ranked above first, so a
        # question pays for normalising the whole message again only when none of its parts holds a known word.
        if not any(self._content_key(q) for q in decided) and not self.has_content(question):
            return Match("none", (), (), 0.0)
        return found

    def _match_parts(self, question: str, decided: dict[str, Match]) -> Match:
        """`match` on the message's parts; `decided` collects each ranked query key's decision."""
        parts = split_question(question)[:MAX_PARTS]
        budget = 1 if len(question) > LONG_TEXT else MAX_RANKINGS

        def decide_on(text: str) -> Match | None:
            if len(decided) >= budget:
                return None
            q = self.query_key(text)
            m = decided.get(q)
            if m is None:
                m = decided[q] = self.match_key(q, LIGHT_CANDIDATES if decided else None)
            return m

        tried: list[Match] = []
        for part in parts:  # the first part that gets an answer; else the first part's choices
            m = decide_on(part)
            if m is None:
                break
            tried.append(m)
            if m.status == "answer":
                break
        chosen = len(tried) - 1 if tried[-1].status == "answer" else 0
        first = tried[chosen]
        if first.status == "none" and len(parts) == 1 and parts[0] != question and len(question) < SHORT_TEXT:
            first = decide_on(question) or first  # the cut lost too much: try it whole
        if len(parts) < 2:
            return first
        others = self._others(parts, tried, chosen, first, decide_on)
        if first.status == "answer":
            return Match("answer", first.ranked, tuple(others[:MAX_CHOICES - 1]), first.confidence)
        if first.status == "choices":
            return Match("choices", first.ranked, (first.offered + tuple(others))[:MAX_CHOICES + 1], first.confidence)
        if others:  # the first question has no answer; the next one may
            return Match("choices", first.ranked, tuple(others[:MAX_CHOICES]), first.confidence)
        return first


__all__ = ["Match", "Matcher", "Scored", "clear_lead"]
