"""Fit the matcher's fusion weight, confidence models and thresholds on the DEV halves only.

    python benchmarks/fit_calibration.py     # or `make calibrate`, which also rewrites the floor

Writes knowledge/calibration.json. Reads only dev questions (member-typed dev rows, *.dev.tsv,
benchmarks/eval/real/dev.tsv); the held-out halves are never touched. Re-run it after the
knowledge base changes (new entries, phrasings or answer text move the rankers' scores).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faq_eval import Case, accepted, read_member, read_real  # noqa: E402

from knowledge.calibration import CALIBRATION_FILE, FEATURES, Calibration, fit_logistic  # noqa: E402
from knowledge.loader import load  # noqa: E402
from knowledge.matcher import TIE_MARGIN, Matcher  # noqa: E402

FUSION_GRID = [round(0.1 * i, 1) for i in range(0, 21)]
# Budgets on dev, tighter than the targets on the held-out halves (wrong <= 2-3%, out of scope <= 5%)
# to leave room for the difference between the halves.
WRONG_MAX = {"member": 0.015, "real": 0.03}  # wrong answers among each set's in-scope dev questions
OOS_MAX = 0.04  # out-of-scope questions answered, in each set
OOS_CHOICE_COST = 0.5  # two out-of-scope questions offered choices cost one found answer
L2 = 3.0
# The features the two models read: chosen by 5-fold cross-validation (AUC) on the dev questions;
# ranker agreement, unknown words and the raw BM25 share added nothing there.
USED = ("fused", "margin", "phrase", "coverage", "length")


def main() -> int:
    entries = load()
    sets: dict[str, list[Case]] = {"member": read_member("dev"), "real": read_real("dev")[0]}
    cases = [(name, c) for name, cs in sets.items() for c in cs]
    base = Matcher(entries, Calibration())
    keys = [base.primary_key(c.question) for _, c in cases]

    # 1. The fusion weight: best top-1 of the fused ranking over the in-scope dev questions.
    best_w, best_top1 = 0.0, -1.0
    for w in FUSION_GRID:
        top1 = 0
        for (_, c), q in zip(cases, keys, strict=True):
            ev = base.evidence(q, fusion=w)
            top1 += c.in_scope and ev.top is not None and base.entries[ev.top].id in accepted(c.expected)
        if top1 > best_top1:
            best_w, best_top1 = w, top1
    n_in = sum(c.in_scope for _, c in cases)
    print(f"fusion weight {best_w}: fused top-1 {best_top1}/{n_in} in-scope dev questions")

    # 2. Features and labels at that weight.
    cal = Calibration(fusion=best_w)
    matcher = Matcher(entries, cal)
    rows, y1, y3, exact = [], [], [], []
    for (_, c), q in zip(cases, keys, strict=True):
        ev = matcher.evidence(q)
        rows.append(ev.features)
        ok = accepted(c.expected) if c.in_scope else set()
        ids = [matcher.entries[i].id for i in ev.order]
        y1.append(float(bool(ids) and ids[0] in ok))
        offered = [s.entry.id for s in matcher.choice_list(ev)] if ev.order else []
        y3.append(float(bool(ok & set(offered))))
        exact.append(ev.exact is not None and ev.exact == ev.top)
    full = np.array(rows)
    x = full[:, [FEATURES.index(f) for f in USED]]
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (x - mean) / scale
    cal = Calibration(fusion=best_w, used=list(USED), mean=[float(v) for v in mean], scale=[float(v) for v in scale])
    # each set weighs the same in the fit, however many questions it has
    set_names = [name for name, _ in cases]
    sample_w = np.array([len(cases) / (len(sets) * set_names.count(n)) for n in set_names])
    cal.answer = fit_logistic(z, np.array(y1), L2, weights=sample_w)
    cal.choices = fit_logistic(z, np.array(y3), L2, weights=sample_w)
    p1 = np.array([cal.answer.prob(r) for r in z])
    p3 = np.array([cal.choices.prob(r) for r in z])

    # 3. Thresholds: the answer threshold with the best top-1 within the budgets on every set,
    # then the choices threshold with the most right entries offered, net of out-of-scope noise.
    names = [name for name, _ in cases]
    scope = np.array([c.in_scope for _, c in cases])
    y1a, y3a, exact_a = np.array(y1, dtype=bool), np.array(y3, dtype=bool), np.array(exact)

    clear = full[:, FEATURES.index("margin")] >= TIE_MARGIN

    def answered(t: float) -> np.ndarray:
        return exact_a | ((p1 >= t) & clear)

    best_t, best_score = 1.0, -1.0
    for t in sorted(set(np.round(p1, 4).tolist()) | {1.0}):
        ans = answered(t)
        fine = True
        rates = []  # each set counts the same, however many questions it has
        for name in sets:
            member = np.array([n == name for n in names])
            ins, oos = member & scope, member & ~scope
            if ins.sum():
                rates.append((ans & ins & y1a).sum() / ins.sum())
                fine &= bool((ans & ins & ~y1a).sum() / ins.sum() <= WRONG_MAX[name])
            if oos.sum():
                fine &= bool((ans & oos).sum() / oos.sum() <= OOS_MAX)
        value = float(np.mean(rates)) if rates else 0.0
        if fine and value > best_score:
            best_t, best_score = t, value
    ans = answered(best_t)
    best_c, best_value = 1.0, -1e9
    groups = [np.array([n == name for n in names]) for name in sets]
    for t in sorted(set(np.round(p3, 4).tolist()) | {1.0}):
        offer = ~ans & (p3 >= t)
        value = 0.0  # again each set counts the same
        for g in groups:
            found = (offer & g & scope & y3a).sum() / max((g & scope).sum(), 1)
            noise = (offer & g & ~scope).sum() / max((g & ~scope).sum(), 1)
            value += (found - OOS_CHOICE_COST * noise) / len(groups)
        if value > best_value:
            best_c, best_value = t, value
    cal.answer_min, cal.choices_min = float(best_t), float(best_c)
    counts = ", ".join(f"{name} {len(cs)}" for name, cs in sets.items())
    cal.fitted_on = f"dev halves only ({counts} questions); fusion grid, L2 {L2}, budgets {WRONG_MAX} / oos {OOS_MAX}"
    CALIBRATION_FILE.write_text(cal.to_json(), encoding="utf-8")
    print(f"answer when P(right) >= {best_t:.3f}; offer choices when P(right in offered) >= {best_c:.3f}")
    print("answer model weights: " + ", ".join(f"{f} {w:+.2f}" for f, w in zip(USED, cal.answer.weights, strict=True)))
    print(f"written {CALIBRATION_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
