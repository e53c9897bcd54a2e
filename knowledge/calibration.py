"""Calibrated confidence: answer, offer choices, or say "not yet", from a few ranker features.

A re-ranker first re-orders the best ~8 candidates by a linear score over per-candidate
features (CANDIDATE_FEATURES), fitted pairwise (right entry vs each other candidate). Then two
small logistic regressions over the same features of the new best entry: P(the best entry is right) decides a
direct answer (the product of two: P(the question is in scope) and P(the best entry is right | in scope),
the second fitted on in-scope questions only, so that it spends its weights on telling a right best
entry from a wrong sibling rather than on the easier off-topic questions), P(the right entry is among the top three) decides whether choices are worth
offering (with a second choices model for longer questions). Weights, feature scaling, the fusion weight of the two rankers and both thresholds
are fitted on the DEV halves only by `benchmarks/fit_calibration.py` (`make calibrate`) and
stored in `knowledge/calibration.json`; nothing here is tuned by hand.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

CALIBRATION_FILE = Path(__file__).parent / "calibration.json"

# The order of the feature vector built by Matcher.features.
FEATURES = (
    "fused",        # fused score of the best entry (phrasing score / 100 + fusion * lexical / ceiling)
    "margin",       # best fused score minus the runner-up's
    "phrase",       # best entry's phrasing-matcher score / 100
    "lexical",      # best entry's BM25 over title + phrasings + answer, relative to the query's ceiling
    "agree",        # 1 when both rankers put the same entry first
    "phrase_top",   # 1 when the phrasing matcher ranks the best entry first
    "lexical_top",  # 1 when BM25 ranks the best entry first
    "length",       # log(1 + content words in the question)
    "coverage",     # IDF-weighted share of the question's words that the best entry uses anywhere
    "unknown",      # IDF-weighted share of the question's words the knowledge base never uses
    "phrase_gap",   # phrasing score of the best entry minus the best other entry's, / 100
    "f1",           # IDF-weighted word F1 of the best entry's closest phrasing (1 = the same words)
    "f1_gap",       # that F1 minus the best F1 of any other entry's phrasing
    "near_exact",   # 1 when that F1 is at least NEAR_EXACT (0.9)
    "rr_margin",    # re-ranker score of the best entry minus the runner-up's
    "rr_prob",      # re-ranker softmax probability of the best entry among the candidates
    "q_missing",    # concepts the question names that the best entry's title and phrasings do not
    "q_missing_all",  # concepts the question names that the best entry never mentions, answer included
    "t_extra",      # concepts the best entry's title names that the question does not
    "title_cover",  # IDF-weighted share of the best entry's title words found in the question
    "surface_cover",  # IDF-weighted share of the question's content words in the best entry's title/phrasings
)

# The per-candidate features the follow-up model reads (knowledge/followup.py `read`):
# a follow-up's candidates (ordered by the topic-weighted fused score) judged with their own
# evidence, since the answer model above was fitted on questions that stand alone. Chosen by
# cross-validation over the dev dialogues: the new words' own score, closeness to the previous
# title, a shared concept or topic and word coverage added nothing beyond these.
FOLLOWUP_FEATURES = (
    "fused",      # topic-weighted fused score (new words, previous title, bonuses) / (1 + fusion)
    "lead",       # that score minus the best other candidate's
    "related",    # 1 when the previous entry lists this one as related, or this one lists it
    "cue_match",  # 1 when the message's cue ("bao lâu", "ở đâu", "phí"...) is one its title answers
    "cue_miss",   # 1 when the message has a cue and its title answers none of them
)

# The per-candidate features the re-ranker reads (Matcher._candidates_matrix), in order.
CANDIDATE_FEATURES = (
    "fused",        # fused score (phrasing / 100 + fusion * lexical)
    "phrase",       # phrasing-matcher score / 100
    "lexical",      # BM25 over title + phrasings + answer, relative to the query's ceiling
    "f1",           # IDF-weighted word F1 of the entry's closest phrasing
    "coverage",     # IDF-weighted share of the question's content words the entry uses anywhere
    "surface_cover",  # the same share, of the words of the entry's title and phrasings only
    "title_cover",  # IDF-weighted share of the entry title's content words found in the question
    "title_recall", # IDF-weighted share of the question's content words found in the title
    "q_missing",    # concepts the question names that the entry's title and phrasings do not
    "q_missing_all",  # concepts the question names that the entry never mentions, answer included
    "t_extra",      # concepts the entry's title names that the question does not
    "t_shared",     # concepts both name (title)
    "phrase_top",   # 1 when the phrasing matcher ranks this entry first
    "lexical_top",  # 1 when BM25 ranks this entry first
)


@dataclass
class Model:
    weights: list[float]
    bias: float

    def __post_init__(self) -> None:
        # (read-only after construction: np.dot would otherwise convert the list on every call)
        self._w = np.asarray(self.weights, dtype=np.float64)

    def prob(self, z: np.ndarray) -> float:
        t = float(np.dot(self._w, z) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(min(t, 30.0), -30.0)))


@dataclass
class Calibration:
    fusion: float = 0.6
    used: list[str] = field(default_factory=lambda: list(FEATURES))  # the features the models read
    mean: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    scale: list[float] = field(default_factory=lambda: [1.0] * len(FEATURES))
    answer: Model = field(default_factory=lambda: Model([0.0] * len(FEATURES), 0.0))
    # P(in scope): with it, `answer` is P(best is right | in scope) and P(right) their product.
    # None (an older file): `answer` alone is P(right).
    scope: Model | None = None
    choices: Model = field(default_factory=lambda: Model([0.0] * len(FEATURES), 0.0))
    answer_min: float = 0.5  # for questions of fewer than `long_words` content words
    answer_min_long: float = 0.5  # for longer ones (pasted, formal): the fit ties it to answer_min - 0.06
    long_words: int = 7
    choices_min: float = 0.5
    # Longer questions (`long_words` content words or more) get their own choices model and threshold:
    # it also reads the concepts the best entry's title adds (t_extra), which sorts pasted off-topic
    # questions from real ones, but which on one- or two-word questions ("vneid", "sinh trắc học")
    # would turn down the ties between close siblings that choices are for. None (an older file):
    # the model above decides for every question.
    choices_long: Model | None = None
    choices_min_long: float = 0.5
    followup_min: float = 0.9  # answer a follow-up (read with the previous topic) from this P(right)
    # The follow-up model: a logistic regression over standardised FOLLOWUP_FEATURES of each
    # candidate; it re-orders the follow-up's candidates and answers from `followup_p_min`.
    # Empty weights (an older calibration.json): the answer model and `followup_min` above decide.
    followup_weights: list[float] = field(default_factory=list)
    followup_bias: float = 0.0
    followup_mean: list[float] = field(default_factory=lambda: [0.0] * len(FOLLOWUP_FEATURES))
    followup_scale: list[float] = field(default_factory=lambda: [1.0] * len(FOLLOWUP_FEATURES))
    followup_p_min: float = 1.01
    # The follow-up reading's rule cut-offs (knowledge/followup.py RULES), fitted by benchmarks/fit_followups.py.
    followup_rules: dict[str, float] = field(default_factory=dict)
    # The re-ranker: a linear score over standardised candidate features (pairwise logistic fit).
    rerank: list[float] = field(default_factory=list)  # empty: keep the fused order
    rerank_mean: list[float] = field(default_factory=lambda: [0.0] * len(CANDIDATE_FEATURES))
    rerank_scale: list[float] = field(default_factory=lambda: [1.0] * len(CANDIDATE_FEATURES))
    fitted_on: str = "unfitted defaults"

    def __post_init__(self) -> None:
        self._index = np.array([FEATURES.index(f) for f in self.used], dtype=np.int64)
        self._mean = np.asarray(self.mean, dtype=np.float64)
        self._scale = np.asarray(self.scale, dtype=np.float64)
        self._rr = np.asarray(self.rerank, dtype=np.float64) if self.rerank else None
        self._rr_mean = np.asarray(self.rerank_mean, dtype=np.float64)
        self._rr_scale = np.asarray(self.rerank_scale, dtype=np.float64)
        self._fu = np.asarray(self.followup_weights, dtype=np.float64) if self.followup_weights else None
        self._fu_mean = np.asarray(self.followup_mean, dtype=np.float64)
        self._fu_scale = np.asarray(self.followup_scale, dtype=np.float64)

    @property
    def has_followup_model(self) -> bool:
        return self._fu is not None

    def p_followup(self, x: np.ndarray) -> np.ndarray:
        """P(right) of each row of a (candidates, FOLLOWUP_FEATURES) matrix (the follow-up model)."""
        if self._fu is None:
            raise ValueError("no follow-up model fitted")
        t = ((x - self._fu_mean) / self._fu_scale) @ self._fu + self.followup_bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(t, -30.0, 30.0))))

    def rerank_scores(self, x: np.ndarray) -> np.ndarray:
        """Re-ranker scores of a (candidates, CANDIDATE_FEATURES) matrix; the fused score if unfitted."""
        if self._rr is None:
            return x[:, 0].copy()
        return ((x - self._rr_mean) / self._rr_scale) @ self._rr

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """The used features of a full feature vector, scaled as in the fit."""
        return (x[self._index] - self._mean) / self._scale

    def p_answer(self, x: np.ndarray) -> float:
        z = self.standardise(x)
        p = self.answer.prob(z)
        return p * self.scope.prob(z) if self.scope is not None else p

    def answer_threshold(self, x: np.ndarray) -> float:
        """The answer threshold for a question of this length (short typed / long pasted)."""
        return self.answer_min_long if self.is_long(x) else self.answer_min

    def is_long(self, x: np.ndarray) -> bool:
        return math.expm1(float(x[FEATURES.index("length")])) >= self.long_words - 1e-6

    def _choices_for(self, x: np.ndarray) -> tuple[Model, float]:
        """The choices model and threshold for this question: the long questions' own, when fitted."""
        if self.choices_long is not None and self.is_long(x):
            return self.choices_long, self.choices_min_long
        return self.choices, self.choices_min

    def p_choices(self, x: np.ndarray) -> float:
        """P(the right entry is among the offered), by the model for this question's length."""
        return self._choices_for(x)[0].prob(self.standardise(x))

    def choices_threshold(self, x: np.ndarray) -> float:
        return self._choices_for(x)[1]

    def to_json(self) -> str:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        data["features"] = list(FEATURES)
        data["candidate_features"] = list(CANDIDATE_FEATURES)
        data["followup_features"] = list(FOLLOWUP_FEATURES)
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        if (tuple(data.pop("features", FEATURES)) != FEATURES
                or tuple(data.pop("candidate_features", ())) != CANDIDATE_FEATURES
                or not set(data.get("used", ())) <= set(FEATURES)):
            return cls()  # written for another feature set: refit with `make calibrate`
        if tuple(data.pop("followup_features", ())) != FOLLOWUP_FEATURES:
            # an older file (or another follow-up feature set): keep the rest, decide follow-ups
            # with the answer model and `followup_min` as before
            for name in ("followup_weights", "followup_bias", "followup_mean", "followup_scale", "followup_p_min"):
                data.pop(name, None)
        data["answer"] = Model(**data["answer"])
        data["choices"] = Model(**data["choices"])
        if data.get("scope") is not None:
            data["scope"] = Model(**data["scope"])
        if data.get("choices_long") is not None:
            data["choices_long"] = Model(**data["choices_long"])
        return cls(**data)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50,
                 weights: np.ndarray | None = None) -> Model:
    """L2-regularised logistic regression by Newton's method (x already standardised; optional
    per-example weights)."""
    n, d = x.shape
    sw = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.eye(d + 1) * l2
    reg[d, d] = 0.0  # no penalty on the bias
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (sw * (p - y)) + reg @ w
        hess = (xb * (sw * p * (1 - p))[:, None]).T @ xb + reg + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return Model([float(v) for v in w[:d]], float(w[d]))


__all__ = ["CALIBRATION_FILE", "CANDIDATE_FEATURES", "FEATURES", "FOLLOWUP_FEATURES", "Calibration", "Model", "fit_logistic"]
