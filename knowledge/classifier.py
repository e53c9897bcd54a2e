"""A discriminative ranker: a softmax (multinomial logistic) regression over the knowledge base's entries.

BM25 and the phrasing matcher score each entry on its own; this model is trained on all entries at
once, so it learns which words tell close siblings apart ("đổi thẻ theo tuổi" vs "phạt chậm đổi
thẻ", the three birth-registration entries). Each entry's title and phrasings are its training
examples (answer sentences too, at weight 0.2, did worse on dev); the features are the normalised
key's folded syllables and adjacent syllable pairs (the same terms the BM25 rankers index; character
3-grams added nothing), each example a binary row scaled to unit length. L2-regularised, fitted
full-batch by L-BFGS from zero with SciPy's sparse products: the same knowledge base gives the same
weights on every run; the matcher fits it once per process per knowledge-base content (`trained`).
A query costs one sum of its known terms' weight rows (the matcher reads the scores before the
softmax too: how much evidence there is, which the closed-world probabilities hide).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from scipy import sparse

from .loader import Entry
from .normalize import key

L2 = 0.3  # penalty on the squared weights (the loss sums the examples' cross-entropies)
ITERS = 100  # at most this many L-BFGS steps (the fit stops earlier, when a step gains less than FTOL)
FTOL = 1e-5  # of the loss
MEMORY = 5  # L-BFGS history


def terms(text_key: str) -> list[str]:
    """Syllables and adjacent syllable pairs of a normalised key (unique, in first-seen order)."""
    words = text_key.split()
    return list(dict.fromkeys(words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]))


def examples(entries: Sequence[Entry]) -> list[tuple[int, str]]:
    """(entry index, normalised key) of each training example: each entry's title and phrasings."""
    return [(i, k) for i, e in enumerate(entries) for k in map(key, (e.title, *e.questions)) if k]


class Classifier:
    """P(entry | question) from a linear softmax model over the question's terms."""

    def __init__(self, entries: Sequence[Entry], l2: float = L2, iters: int = ITERS) -> None:
        rows = examples(entries)
        self.size = len(entries)
        vocab: dict[str, int] = {}
        for _, k in rows:
            for t in terms(k):
                vocab.setdefault(t, len(vocab))
        self.vocab = vocab
        feats = [np.array([vocab[t] for t in terms(k)], dtype=np.intp) for _, k in rows]
        labels = np.array([i for i, _ in rows], dtype=np.intp)
        self.weights = fit(feats, labels, len(vocab), self.size, l2, iters)

    def logits(self, text_key: str) -> np.ndarray:
        """The linear score of every entry for a normalised query key (zeros when no term is known)."""
        ts = terms(text_key)
        vocab = self.vocab
        known = [vocab[t] for t in ts if t in vocab]
        if not known:
            return np.zeros(self.size)
        # every term counts in the row's length, known or not: a question full of words the
        # knowledge base never uses gets a flatter distribution
        return self.weights[known].sum(axis=0, dtype=np.float64) / math.sqrt(len(ts))

    def proba(self, text_key: str) -> np.ndarray:
        """P(entry | question) over all entries (uniform when no term is known)."""
        z = self.logits(text_key)
        if not len(z):
            return z
        z = np.exp(z - z.max())
        return z / z.sum()


def fit(feats: list[np.ndarray], labels: np.ndarray, dim: int, classes: int, l2: float, iters: int) -> np.ndarray:
    """Weights (dim, classes) minimising the sum of the examples' cross-entropies + l2 / 2 * |W|^2, each
    example a binary row of its features scaled to unit length. Full-batch L-BFGS from zero, in
    float32 (half the memory traffic of float64; the ranking does not need more): deterministic."""
    n = len(feats)
    if not n or not dim:
        return np.zeros((dim, classes), dtype=np.float32)
    lengths = np.array([len(f) for f in feats])
    x = sparse.csr_matrix((np.repeat(1 / np.sqrt(np.maximum(lengths, 1)), lengths).astype(np.float32),
                           np.concatenate(feats), np.r_[0, np.cumsum(lengths)]), shape=(n, dim))
    xt = x.T.tocsr()
    rows = np.arange(n)

    def loss_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = -float((z[rows, labels] - np.log(s[:, 0])).sum(dtype=np.float64))
        loss += 0.5 * l2 * float(np.vdot(w, w))
        e /= s
        e[rows, labels] -= 1.0
        g = xt @ e
        g += l2 * w
        return loss, g

    return lbfgs(loss_grad, np.zeros((dim, classes), dtype=np.float32), iters)


def lbfgs(loss_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], w: np.ndarray, iters: int,
          memory: int = MEMORY, ftol: float = FTOL) -> np.ndarray:
    """Minimise a smooth convex function from `w`: limited-memory BFGS with a backtracking (Armijo)
    line search; stops after `iters` steps or when a step gains less than `ftol` of the loss."""
    f, g = loss_grad(w)
    hist: list[tuple[np.ndarray, np.ndarray, float]] = []  # (step, gradient change, 1 / their product)
    for _ in range(iters):
        d = g.copy()
        alphas = []
        for s_, y_, rho in reversed(hist):
            a = rho * float(np.vdot(s_, d))
            alphas.append(a)
            d -= a * y_
        if hist:
            s_, y_, _ = hist[-1]
            d *= float(np.vdot(s_, y_)) / float(np.vdot(y_, y_))
        else:
            d /= max(float(np.abs(g).max()), 1e-12)
        for (s_, y_, rho), a in zip(hist, reversed(alphas), strict=True):
            d += (a - rho * float(np.vdot(y_, d))) * s_
        slope = -float(np.vdot(g, d))
        if slope >= 0:  # not a descent direction (rounding): start again from the gradient
            hist.clear()
            d = g / max(float(np.abs(g).max()), 1e-12)
            slope = -float(np.vdot(g, d))
        step = 1.0
        while True:
            w_new = w - step * d
            f_new, g_new = loss_grad(w_new)
            if f_new <= f + 1e-4 * step * slope or step < 1e-6:
                break
            step *= 0.5
        s_vec, y_vec = w_new - w, g_new - g
        sy = float(np.vdot(s_vec, y_vec))
        gain = f - f_new
        w, f, g = w_new, f_new, g_new
        if sy > 1e-12:
            hist.append((s_vec, y_vec, 1.0 / sy))
            if len(hist) > memory:
                hist.pop(0)
        if gain <= ftol * max(abs(f), 1.0):
            break
    return w


_CACHE: dict[str, Classifier] = {}
_CACHE_SIZE = 4


def trained(entries: Sequence[Entry]) -> Classifier:
    """The classifier for these entries, fitted once per process for the same content (a Matcher is
    built more than once over the same knowledge base: the bot's, the tests', the fit's)."""
    digest = f"{content_hash(entries)} {L2} {ITERS}"
    hit = _CACHE.get(digest)
    if hit is None:
        hit = Classifier(entries, L2, ITERS)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[digest] = hit
    return hit


def content_hash(entries: Iterable[Entry]) -> str:
    """A digest of what the classifier is trained on (for caching a fitted model)."""
    h = hashlib.sha256()
    for e in entries:
        for part in (e.id, e.title, *e.questions, e.answer):
            h.update(part.encode("utf-8"))
            h.update(b"\0")
    return h.hexdigest()


__all__ = ["Classifier", "content_hash", "examples", "fit", "terms", "trained"]
