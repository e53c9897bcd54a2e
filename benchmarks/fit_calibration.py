"""Fit the matcher's re-ranker, confidence models and thresholds on the DEV halves only.

    python benchmarks/fit_calibration.py     # or `make calibrate`, which also rewrites the floor

Writes knowledge/calibration.json. Reads only dev questions (member-typed dev rows, *.dev.tsv,
benchmarks/eval/real/dev.tsv); the held-out halves are never touched. Re-run it after the
knowledge base changes (new entries, phrasings or answer text move the rankers' scores).

1. The re-ranker: over each dev question's RERANK best entries by fused score, a pairwise
   logistic regression (the right entry against each other candidate, no bias) on standardised
   CANDIDATE_FEATURES, strongly regularised (L2 chosen by 5-fold cross-validation on dev).
2. The decision: on the re-ranked best entry, two logistic regressions (P(best is right),
   P(right entry among the offered)) fitted on all dev questions.
3. The thresholds are chosen on OUT-OF-FOLD probabilities (5-fold cross-validation, three
   shuffles), so they are set by how the models do on questions they were not fitted on, within
   budgets tighter than the targets, and smoothed over neighbouring thresholds: the choice that
   exactly fits the small dev off-topic sets is not the one taken.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faq_eval import Case, accepted, read_dialogues, read_member, read_real, run_dialogues

from knowledge.calibration import (
    CALIBRATION_FILE,
    CANDIDATE_FEATURES,
    FEATURES,
    Calibration,
    Model,
    fit_logistic,
)
from knowledge.lexical import K1 as LEX_K1
from knowledge.loader import load
from knowledge.matcher import Evidence, Matcher, clear_lead

# The fusion weight decides which entries reach the re-ranker (and is one of its features); chosen
# by the grid search of the earlier calibration (fused order, dev halves) and kept.
FUSION = 2.0
RERANK_L2 = 100.0  # 5-fold CV on dev: 1, 3, 10, 30, 100, 300 tried; 30-300 equal within noise
# Budgets on out-of-fold dev predictions, tighter than the targets on the held-out halves
# (wrong <= 2-3%, out of scope <= 5%) to leave room for the difference between the halves.
WRONG_MAX = {"member": 0.02, "real": 0.025}
OOS_MAX = 0.04
OOS_CHOICE_COST = 0.25
L2 = 3.0
FOLDS, SHUFFLES = 5, 3
SMOOTH = 2  # a threshold's value is the mean over it and this many grid steps either side
# The features the two models read, chosen by 5-fold cross-validation on dev (dev top-1 within the
# budgets, out of fold): the fused score, raw BM25 share, ranker-top flags and the exact-F1 flag
# added nothing there; ranker agreement, the re-ranker's margin and the concept checks did.
USED = ("phrase", "coverage", "length", "f1", "f1_gap", "unknown", "agree",
        "rr_margin", "rr_prob", "q_missing", "q_missing_all", "t_extra", "title_cover")
CHOICES_USED = ("phrase", "coverage", "length", "unknown", "q_missing", "rr_prob")
LONG_WORDS = 7


def main() -> int:
    entries = load()
    sets: dict[str, list[Case]] = {"member": read_member("dev"), "real": read_real("dev")[0]}
    cases = [(name, c) for name, cs in sets.items() for c in cs]
    weights = set_weights(cases, sets)

    # 1. The re-ranker, on the fused order's candidates (the shipped one: fitted on all of dev).
    base = Matcher(entries, Calibration(fusion=FUSION))
    keys = [base.primary_key(c.question) for _, c in cases]
    pool = [Pool.of(base, q, c) for (_, c), q in zip(cases, keys, strict=True)]
    cand = [(p.ev.candidates, p.right) for p in pool]
    rr_w, rr_mean, rr_scale = fit_rerank(cand, weights, RERANK_L2)
    cal = with_rerank(Calibration(fusion=FUSION), (rr_w, rr_mean, rr_scale))
    print("re-ranker weights: " + ", ".join(f"{f} {w:+.2f}" for f, w in zip(CANDIDATE_FEATURES, rr_w, strict=True)))

    # 2-3. Decision models and thresholds on CROSS-FITTED evidence: every question's re-ranked
    # order and re-ranker features (rr_prob, rr_margin, ...) come from a re-ranker fitted without
    # it, as they will for a new question. Features from the in-sample re-ranker look more
    # confident than they will be on new questions and pull the thresholds down.
    matcher = Matcher(entries, cal)
    cal = fit_decision(matcher, pool, sets, cases, weights, cal)
    # 4. The follow-up threshold (see fit_followup).
    matcher.calibration = cal
    cal = fit_followup(matcher, cal)
    CALIBRATION_FILE.write_text(cal.to_json(), encoding="utf-8")
    print(f"answer when P(right) >= {cal.answer_min:.3f} (under {LONG_WORDS} words) / {cal.answer_min_long:.3f} "
          f"(longer); offer choices when P(right in offered) >= {cal.choices_min:.3f}; "
          f"follow-ups from {cal.followup_min:.3f}")
    print("answer model weights: " + ", ".join(f"{f} {w:+.2f}" for f, w in zip(USED, cal.answer.weights, strict=True)))
    print(f"written {CALIBRATION_FILE}")
    return 0


@dataclass
class Pool:
    """One dev question's fused-order evidence, re-ranked again by each fold's re-ranker."""

    key: str
    ev: Evidence
    lex_rel: np.ndarray
    right: np.ndarray  # per candidate (in ev.order): 1 when it is an accepted entry
    ok: set[str]

    @classmethod
    def of(cls, base: Matcher, q: str, c: Case) -> Pool:
        ev = base.evidence(q)
        lex, ceiling = base.lexical.scores(q) if q else (np.zeros(len(base.entries)), 0.0)
        lex_rel = lex / (ceiling * (1 + LEX_K1)) if ceiling else lex
        ok = accepted(c.expected) if c.in_scope else set()
        right = np.array([base.entries[i].id in ok for i in ev.order], dtype=float)
        return cls(q, ev, lex_rel, right, ok)

    def rerank(self, matcher: Matcher) -> Evidence:
        """This question's evidence re-ranked by `matcher`'s calibration (a copy; the pool keeps its own)."""
        ev = replace(self.ev, order=list(self.ev.order))
        if ev.order:
            matcher._rerank(self.key, ev, self.lex_rel)
        return ev


def group_folds(cases: list[tuple[str, Case]], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """FOLDS (train, held) index pairs in which all real questions of one source page fall in the
    same fold, as the dev/test halves were split by source: questions of a page share wording, and
    a fold that holds some of them in training would make the held ones look easier than new
    pages' questions are. Member-typed questions are folded one by one."""
    groups = [f"real:{c.source}" if name == "real" and c.source else f"q:{i}" for i, (name, c) in enumerate(cases)]
    unique = sorted(set(groups))
    rank = {g: r for r, g in enumerate(np.random.default_rng(seed).permutation(len(unique)))}
    fold_of = {g: rank[k] % FOLDS for k, g in enumerate(unique)}
    fold = np.array([fold_of[g] for g in groups])
    idx = np.arange(len(cases))
    return [(idx[fold != f], idx[fold == f]) for f in range(FOLDS)]


def with_rerank(cal: Calibration, rr: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Calibration:
    w, mean, scale = rr
    return replace(cal, rerank=[float(v) for v in w], rerank_mean=[float(v) for v in mean],
                   rerank_scale=[float(v) for v in scale])


def fit_followup(matcher: Matcher, cal: Calibration) -> Calibration:
    """The follow-up threshold: either the rule that needs no fitting (a follow-up is answered from
    the same P(right) as an ordinary short question) or a threshold picked on the dev dialogues,
    smoothed over neighbours (the highest within one dialogue of the best), whichever does better under FOLDS-fold cross-validation over the
    dialogues (ties go to the rule)."""
    dialogues = read_dialogues("dev")
    grid = sorted({float(t) for t in np.round(np.arange(0.3, 1.001, 0.05), 2)} | {round(cal.answer_min, 2)})
    right = np.zeros((len(grid), len(dialogues)))  # right[t, d]: dialogue d all right at grid[t]
    for a, t in enumerate(grid):
        matcher.calibration = replace(cal, followup_min=float(t))
        for d, dialogue in enumerate(dialogues):
            right[a, d] = run_dialogues(matcher, [dialogue])["dialogues_right"]
    matcher.calibration = cal
    rule = grid.index(round(cal.answer_min, 2))

    def pick(cols: np.ndarray) -> int:
        mean = right[:, cols].mean(axis=1)
        padded = np.pad(mean, 1, mode="edge")
        smooth = np.array([padded[i:i + 3].mean() for i in range(len(grid))])
        # the highest (safest) threshold within one dialogue of the best smoothed value: on a few
        # dozen dialogues a one-dialogue difference is noise, a lower threshold risks wrong answers
        near = [i for i in range(len(grid)) if smooth[i] >= smooth.max() - 1 / len(cols) - 1e-9]
        return max(near)

    cv_fit, cv_rule = [], []
    for s in range(SHUFFLES):
        order = np.random.default_rng(100 + s).permutation(len(dialogues))
        for f in range(FOLDS):
            held = order[f::FOLDS]
            chosen = pick(np.setdiff1d(order, held))
            cv_fit.append(right[chosen, held].mean())
            cv_rule.append(right[rule, held].mean())
    fitted = pick(np.arange(len(dialogues)))
    print(f"follow-ups, {len(dialogues)} dev dialogues, {FOLDS}-fold CV x {SHUFFLES}: rule (threshold "
          f"{grid[rule]:.2f}) {np.mean(cv_rule):.3f}, fitted threshold {np.mean(cv_fit):.3f} "
          f"(on all dev: {grid[fitted]:.2f}, {right[fitted].mean():.3f})")
    chosen = fitted if np.mean(cv_fit) > np.mean(cv_rule) + 1e-9 else rule
    print(f"follow-up threshold {grid[chosen]:.2f} ({'fitted' if chosen == fitted and chosen != rule else 'rule'}): "
          f"dev dialogues all turns right {right[chosen].mean():.3f}")
    return replace(cal, followup_min=float(grid[chosen]))


def set_weights(cases: list[tuple[str, Case]], sets: dict[str, list[Case]]) -> np.ndarray:
    """Each set weighs the same in every fit, however many questions it has."""
    names = [n for n, _ in cases]
    return np.array([len(cases) / (len(sets) * names.count(n)) for n in names])


def fit_rerank(cand: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray,
               l2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise logistic regression: (right - other) labelled 1 and (other - right) labelled 0,
    each question's pairs weighing its set weight in all."""
    stacked = np.vstack([x for x, _ in cand if len(x)])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0)
    scale[scale < 1e-6] = 1.0
    diffs, pw = [], []
    for (x, y), w in zip(cand, weights, strict=True):
        if not len(y) or y.sum() == 0 or y.sum() == len(y):
            continue
        z = (x - mean) / scale
        pos, negs = z[y > 0].mean(axis=0), z[y == 0]
        for n in negs:
            diffs += [pos - n, n - pos]
            pw += [w / len(negs)] * 2
    x = np.array(diffs)
    y = np.tile([1.0, 0.0], len(diffs) // 2)
    model = fit_logistic(x, y, l2, weights=np.array(pw))
    return np.array(model.weights), mean, scale


def fit_models(z: np.ndarray, y1: np.ndarray, y3: np.ndarray, w: np.ndarray) -> tuple[Model, Model]:
    answer = fit_logistic(z, y1, L2, weights=w)
    cols = [USED.index(f) for f in CHOICES_USED]
    small = fit_logistic(z[:, cols], y3, L2, weights=w)
    full_w = [0.0] * len(USED)
    for c, v in zip(cols, small.weights, strict=True):
        full_w[c] = v
    return answer, Model(full_w, small.bias)


def fit_decision(matcher: Matcher, pool: list[Pool], sets: dict[str, list[Case]], cases: list[tuple[str, Case]],
                 weights: np.ndarray, cal: Calibration) -> Calibration:
    n = len(pool)
    cand = [(p.ev.candidates, p.right) for p in pool]
    # Cross-fitted evidence, one copy per shuffle: x[s, i] are question i's decision features when
    # the re-ranker was fitted on the other folds of shuffle s; y1 / y3 / exact likewise.
    x = np.zeros((SHUFFLES, n, len(FEATURES)))
    y1, y3, exact = np.zeros((SHUFFLES, n), bool), np.zeros((SHUFFLES, n), bool), np.zeros((SHUFFLES, n), bool)
    folds = [group_folds(cases, s) for s in range(SHUFFLES)]
    for s in range(SHUFFLES):
        for train, held in folds[s]:
            rr = fit_rerank([cand[i] for i in train], weights[train], RERANK_L2)
            matcher.calibration = with_rerank(cal, rr)
            for i in held:
                ev = pool[i].rerank(matcher)
                if not ev.order:
                    continue
                x[s, i] = ev.features
                y1[s, i] = matcher.entries[ev.order[0]].id in pool[i].ok
                y3[s, i] = bool(pool[i].ok & {sc.entry.id for sc in matcher.choice_list(ev)})
                exact[s, i] = ev.exact is not None and ev.exact == ev.top
    matcher.calibration = cal

    cols = [FEATURES.index(f) for f in USED]
    flat = x[:, :, cols].reshape(SHUFFLES * n, len(cols))
    mean, scale = flat.mean(axis=0), flat.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (x[:, :, cols] - mean) / scale
    cal.used, cal.mean, cal.scale = list(USED), [float(v) for v in mean], [float(v) for v in scale]
    # The shipped models: fitted on every shuffle's cross-fitted rows (each question weighs its
    # set weight in all), i.e. on evidence that looks like a new question's.
    cal.answer, cal.choices = fit_models(z.reshape(SHUFFLES * n, len(cols)), y1.reshape(-1).astype(float),
                                         y3.reshape(-1).astype(float), np.tile(weights, SHUFFLES) / SHUFFLES)

    # Out-of-fold probabilities: each question scored by decision models fitted without it, on
    # evidence from a re-ranker fitted without it (the same folds).
    p1, p3 = np.zeros((SHUFFLES, n)), np.zeros((SHUFFLES, n))
    for s in range(SHUFFLES):
        for train, held in folds[s]:
            a, c = fit_models(z[s, train], y1[s, train].astype(float), y3[s, train].astype(float), weights[train])
            p1[s, held] = [a.prob(r) for r in z[s, held]]
            p3[s, held] = [c.prob(r) for r in z[s, held]]

    names = np.array([nm for nm, _ in cases])
    scope = np.array([c.in_scope for _, c in cases])
    groups = [(name, names == name) for name in sets]
    clear = np.array([clear_lead(x[s]) for s in range(SHUFFLES)])
    long_q = np.expm1(x[0, :, FEATURES.index("length")]) >= LONG_WORDS - 1e-6
    grid = np.round(np.arange(0.3, 1.001, 0.01), 2)

    def value(ans: np.ndarray, ok1: np.ndarray) -> float:
        """Mean top-1 over the sets, or -1 when a set's wrong or out-of-scope budget is broken."""
        rates = []
        for name, g in groups:
            ins, oos = g & scope, g & ~scope
            if ins.sum():
                rates.append((ans & ins & ok1).sum() / ins.sum())
                if (ans & ins & ~ok1).sum() / ins.sum() > WRONG_MAX[name]:
                    return -1.0
            if oos.sum() and (ans & oos).sum() / oos.sum() > OOS_MAX:
                return -1.0
        return float(np.mean(rates))

    # table[i, j]: short threshold grid[i], long threshold grid[j]; the mean over the shuffles of
    # the out-of-fold value (a budget broken in one shuffle drags the cell down)
    table = np.zeros((len(grid), len(grid)))
    for s in range(SHUFFLES):
        for i, ts in enumerate(grid):
            short_ans = exact[s] | ((p1[s] >= ts) & clear[s] & ~long_q)
            for j, tl in enumerate(grid):
                table[i, j] += value(short_ans | ((p1[s] >= tl) & clear[s] & long_q), y1[s]) / SHUFFLES
    # smoothed: a cell is worth the mean of its neighbourhood, and a broken budget anywhere near it
    # (any -1) drags it down, so the pick sits inside the safe region rather than on its edge
    padded = np.pad(table, SMOOTH, mode="edge")
    k = 2 * SMOOTH + 1
    smooth = np.array([[padded[i:i + k, j:j + k].mean() for j in range(len(grid))] for i in range(len(grid))])
    i, j = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    if "-v" in sys.argv:
        for a in range(30, len(grid), 4):
            print(f"  short {grid[a]:.2f}: " + " ".join(f"{table[a, b]:+.2f}" for b in range(30, len(grid), 4)))
    cal.answer_min, cal.answer_min_long = float(grid[i]), float(grid[j])
    print(f"out-of-fold dev mean top-1 at the chosen thresholds {table[i, j]:.3f} (smoothed {smooth[i, j]:.3f}; "
          f"best cell {table.max():.3f})")

    answered = np.array([exact[s] | ((p1[s] >= grid[i]) & clear[s] & ~long_q) | ((p1[s] >= grid[j]) & clear[s] & long_q)
                         for s in range(SHUFFLES)])
    best_c, best_value = 1.0, -1e9
    for t in np.round(np.arange(0.05, 1.001, 0.01), 2):
        value_c = 0.0
        for s in range(SHUFFLES):
            offer = ~answered[s] & (p3[s] >= t)
            for _, g in groups:
                found = (offer & g & scope & y3[s]).sum() / max((g & scope).sum(), 1)
                noise = (offer & g & ~scope).sum() / max((g & ~scope).sum(), 1)
                value_c += (found - OOS_CHOICE_COST * noise) / (len(sets) * SHUFFLES)
        if value_c > best_value + 1e-9:
            best_c, best_value = float(t), value_c
    cal.choices_min = best_c
    print("out-of-fold (cross-fitted re-ranker and decision) dev estimates at the chosen thresholds:")
    for s in range(SHUFFLES):
        ans, offer = answered[s], ~answered[s] & (p3[s] >= best_c)
        print(f"  shuffle {s}: " + "; ".join(
            f"{name} top-1 {(ans & ins & y1[s]).sum() / ins.sum():.3f} answered-or-offered "
            f"{((ans & y1[s]) | (offer & y3[s]))[ins].mean():.3f} wrong {(ans & ins & ~y1[s]).sum() / ins.sum():.3f} "
            f"oos {(ans & g & ~scope).sum() / max((g & ~scope).sum(), 1):.3f}"
            for name, g in groups for ins in [g & scope]))
    cal.long_words = LONG_WORDS
    counts = ", ".join(f"{name} {len(cs)}" for name, cs in sets.items())
    cal = replace(cal)  # recompute the derived arrays for the fitted feature set
    cal.fitted_on = (f"dev halves only ({counts} questions); re-ranker L2 {RERANK_L2}; decision L2 {L2} on "
                     f"cross-fitted re-ranker evidence ({FOLDS} folds x {SHUFFLES} shuffles), thresholds on "
                     f"out-of-fold predictions, budgets {WRONG_MAX} / oos {OOS_MAX}")
    return cal


if __name__ == "__main__":
    raise SystemExit(main())
