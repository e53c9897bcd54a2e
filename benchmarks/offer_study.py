"""The choices side of the decision (offer 2-3 entries or nothing), out of fold on the DEV halves only.

    python benchmarks/offer_study.py                 # 20 fold seeds, as `make calibrate`
    python benchmarks/offer_study.py --shuffles 5

The cross-fitted evidence (fit_calibration.cross_fitted: every question re-ranked by a re-ranker fitted
without it) is made once, with a few more facts per question: whether the right entry is among the
re-ranked first three (whatever CHOICE_RATIO cuts), how many entries the choices list holds, and the
re-ranker's scores of the first three. Then:

1. where "answered or offered" is lost: in-scope questions not answered whose right entry is in the
   first three, split by why (P(right in offered) under the choices threshold; offered but the right
   entry was the third one CHOICE_RATIO cut); how many choices are offered; off-topic offered.
2. variants of the choices side, each fitted as `make calibrate` fits the decision (fit_decision,
   thresholds chosen out of fold), printed with the out-of-fold figures per set.

Figures only (no question is printed). Nothing is written.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fit_calibration as fc
from hash_seed import rerun_with

from knowledge.calibration import FEATURES, Calibration
from knowledge.loader import load
from knowledge.matcher import Matcher

SETS = ("member", "real")
COLUMNS = ("top1", "answered_or_offered", "wrong", "oos", "oos_offered")
# Extra per-question facts (columns of `extras`), from the re-ranked candidates.
# The long questions' choices features before round 16 (the variants below add to these).
ROUND15_LONG = fc.CHOICES_USED + ("t_extra",)
EXTRAS = ("top3", "top2", "n_offered", "rr_p2", "rr_p3", "rr_top3", "rr_gap3", "fused3")


def cross_fitted(matcher: Matcher, pool: list[fc.Pool], cases: list, weights: np.ndarray,  # type: ignore[type-arg]
                 cal: Calibration, seeds: list[int]) -> tuple[fc.Evidence4, np.ndarray]:
    """fit_calibration.cross_fitted's evidence, and EXTRAS (shuffles, questions, len(EXTRAS))."""
    n, shuffles = len(pool), len(seeds)
    cand = [(p.ev.candidates, p.right) for p in pool]
    x = np.zeros((shuffles, n, len(FEATURES)))
    y1, y3, exact = np.zeros((shuffles, n), bool), np.zeros((shuffles, n), bool), np.zeros((shuffles, n), bool)
    extras = np.zeros((shuffles, n, len(EXTRAS)))
    for s, seed in enumerate(seeds):
        for train, held in fc.group_folds(cases, seed):
            matcher.calibration = fc.with_rerank(cal, fc.fit_rerank([cand[i] for i in train], weights[train],
                                                                    fc.RERANK_L2))
            for i in held:
                ev = pool[i].rerank(matcher)
                if not ev.order:
                    continue
                ok = pool[i].ok
                ids = [matcher.entries[k].id for k in ev.order]
                offered = matcher.choice_list(ev)
                x[s, i] = ev.features
                y1[s, i] = ids[0] in ok
                y3[s, i] = bool(ok & {sc.entry.id for sc in offered})
                exact[s, i] = ev.exact is not None and ev.exact == ev.top
                p = np.exp(ev.rr - ev.rr[0])
                p /= p.sum()
                rr = np.pad(ev.rr, (0, 3), constant_values=ev.rr[-1])
                fused = ev.fused[ev.order[:3]]
                extras[s, i] = [bool(ok & set(ids[:3])), bool(ok & set(ids[:2])), len(offered),
                                p[1] if len(p) > 1 else 0.0, p[2] if len(p) > 2 else 0.0, p[:3].sum(),
                                min(rr[0] - rr[2], 5.0), fused[-1] / fused[0] if len(fused) > 2 and fused[0] else 0.0]
    matcher.calibration = cal
    return (x, y1, y3, exact), extras


def decide(oof: fc.Oof, cal: Calibration, lines: np.ndarray,
           choose: Callable[[fc.Oof, np.ndarray], tuple[float, float, float, float]] = fc.choose_choices,
           choices_long: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(answered, offered), (shuffles, questions), at the thresholds fit_decision picks on `oof`."""
    grid = np.round(np.arange(0.3, 1.001, 0.01), 2)
    oof.lines = lines
    table, _ = fc.answer_table(grid, oof.p1, oof.y1, oof.exact, oof.clear, oof.long_q, oof.groups, oof.scope,
                               fc.newer_groups(oof))
    i, j, _ = fc.tied_pick(table)
    answered = fc._answered(grid, (i, j), oof.p1, oof.exact, oof.clear, oof.long_q)
    if choices_long is None:
        c, cl, _, _ = choose(oof, answered)
        offered = ~answered & np.where(oof.long_q[None, :], oof.p3_long >= cl, oof.p3 >= c)
        return answered, offered
    answer_long, oof.long_q = oof.long_q, choices_long  # the choices side's own split by length
    try:
        c, cl, _, _ = choose(oof, answered)
    finally:
        oof.long_q = answer_long
    return answered, ~answered & np.where(choices_long[None, :], oof.p3_long >= cl, oof.p3 >= c)


def gap(oof: fc.Oof, answered: np.ndarray, offered: np.ndarray, extras: np.ndarray) -> None:
    """Where "answered or offered" is lost, per set (mean per fold seed, as shares of in-scope / off-topic)."""
    top3 = extras[:, :, EXTRAS.index("top3")] > 0
    n_off = extras[:, :, EXTRAS.index("n_offered")]
    for name, g in oof.groups:
        ins, oos = g & oof.scope, g & ~oof.scope
        for label, sel in (("all", ins), ("short", ins & ~oof.long_q), ("long", ins & oof.long_q)):
            k = max(sel.sum(), 1)

            def share(mask: np.ndarray, k: int = k, sel: np.ndarray = sel) -> str:
                return f"{(mask & sel).sum(axis=1).mean() / k:.3f}"

            found = (answered & oof.y1) | (offered & oof.y3)
            print(f"  {name} {label} ({sel.sum()} in scope): answered or offered {share(found)}; right in top 3 "
                  f"{share(top3)}; lost with the right entry in the top 3: not offered (P under the threshold) "
                  f"{share(~answered & ~offered & top3)}, offered without it (CHOICE_RATIO cut the 3rd) "
                  f"{share(offered & ~oof.y3 & top3)}, answered wrong {share(answered & ~oof.y1 & top3)}; "
                  f"right not in top 3 {share(~top3 & ~found)}")
        for label, sel in (("in scope", ins), ("off-topic", oos)):
            off = offered & sel
            cnt = max(off.sum(), 1)
            print(f"  {name} {label} offered {off.sum(axis=1).mean() / max(sel.sum(), 1):.3f}: 2 choices "
                  f"{((n_off == 2) & off).sum() / cnt:.2f}, 3 choices {((n_off == 3) & off).sum() / cnt:.2f}, "
                  f"1 {((n_off == 1) & off).sum() / cnt:.2f}")


def figures(oof: fc.Oof, answered: np.ndarray, offered: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for name, g in oof.groups:
        ins, oos = g & oof.scope, g & ~oof.scope
        found = (answered & oof.y1) | (offered & oof.y3)
        out[name] = {"top1": (answered & oof.y1)[:, ins].mean(), "answered_or_offered": found[:, ins].mean(),
                     "wrong": (answered & ~oof.y1)[:, ins].mean(), "oos": answered[:, oos].mean(),
                     "oos_offered": offered[:, oos].mean()}
    return out


def show(label: str, oof: fc.Oof, answered: np.ndarray, offered: np.ndarray, note: str = "") -> None:
    f = figures(oof, answered, offered)
    print(f"{label}{note}")
    for s in SETS:
        print(f"    {s:6} " + "  ".join(f"{k} {100 * f[s][k]:.1f}" for k in COLUMNS), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    fc.seed_options(ap)
    ap.add_argument("--features", nargs="*", default=["rr_top3", "rr_p2", "rr_gap3", "margin", "f1", "title_cover"],
                    help="choices features to try one at a time (decision FEATURES or EXTRAS)")
    ap.add_argument("--short-features", nargs="*", default=["agree", "rr_margin", "q_missing_all", "f1_gap"],
                    help="more features tried on the short questions' model only")
    ap.add_argument("--choices-words", type=int, nargs="*", default=[4, 5, 6, 8, 10, 12])
    ap.add_argument("--l2", type=float, nargs="*", default=[1.0, 10.0, 30.0], help="choices models' L2 to try")
    ap.add_argument("--grid", type=float, nargs="*", default=[0.1, 0.15, 0.2, 0.25])
    ap.add_argument("--costs", type=float, nargs="*", default=[0.1, 0.15, 0.2, 0.25, 0.35])
    args = ap.parse_args(argv)
    if (code := rerun_with(fc.HASH_SEED, __file__)) is not None:
        return code
    seeds = fc.fold_seeds(args.seed, args.shuffles)
    entries = load()
    sets, cases, weights = fc.dev_cases()
    pool = fc.dev_pool(entries, cases)
    rr = fc.fit_rerank([(p.ev.candidates, p.right) for p in pool], weights, fc.RERANK_L2)
    cal0 = fc.with_rerank(Calibration(fusion=fc.FUSION), rr)
    matcher = Matcher(entries, cal0)
    evidence, extras = cross_fitted(matcher, pool, cases, weights, cal0, seeds)
    lines = fc.case_lines(cases)

    def oof_for(ev: fc.Evidence4, used: fc.Choices = (fc.CHOICES_USED, fc.CHOICES_LONG_USED)) -> fc.Oof:
        with contextlib.redirect_stdout(io.StringIO()):
            _, oof = fc.decision_oof(matcher, pool, sets, cases, weights, fc.with_rerank(
                Calibration(fusion=fc.FUSION), rr), seeds, evidence=ev, choices_used=used)
        return oof

    oof = oof_for(evidence)
    answered, offered = decide(oof, cal0, lines)
    print(f"{len(cases)} dev questions, fold seeds {seeds[0]}-{seeds[-1]}; where answered-or-offered is lost "
          f"(out of fold, at the fitted thresholds):")
    gap(oof, answered, offered, extras)
    show("\nas shipped (fit_calibration's choices features and OOS_CHOICE_COST)", oof, answered, offered)

    # OOS_CHOICE_COST
    for cost in args.costs:
        old, fc.OOS_CHOICE_COST = fc.OOS_CHOICE_COST, cost
        a, o = decide(oof, cal0, lines)
        fc.OOS_CHOICE_COST = old
        show(f"OOS_CHOICE_COST {cost}", oof, a, o)

    # Always three: the right entry among the first three (no CHOICE_RATIO cut), as the label and the offer.
    x, y1, y3, exact = evidence
    top3 = extras[:, :, EXTRAS.index("top3")] > 0
    oof3 = oof_for((x, y1, top3, exact))
    a, o = decide(oof3, cal0, lines)
    show("always three (no CHOICE_RATIO cut)", oof3, a, o)

    # Other choices features: existing decision features, or EXTRAS appended as features.
    short, long_ = fc.CHOICES_USED, ROUND15_LONG
    variants: dict[str, fc.Choices] = {
        f"+{f} (both)": (short + (f,), long_ + (f,)) for f in args.features}
    variants.update({f"+{f} (long only)": (short, long_ + (f,)) for f in args.features})
    variants.update({f"+{f} (short only, long as shipped)": (short + (f,), fc.CHOICES_LONG_USED)
                     for f in args.features + args.short_features})
    for label, used in variants.items():
        extra = tuple(dict.fromkeys(f for f in used[0] + used[1] if f in EXTRAS))
        ev, restore = with_extras(evidence, extras, extra)
        try:
            o_v = oof_for(ev, used)
            a, o = decide(o_v, cal0, lines)
            value = fc.choose_choices(o_v, a)[3]
        finally:
            restore()
        show(f"choices {label}", o_v, a, o, f" (value {value:.3f})")
    for l2 in args.l2:
        old, fc.L2 = fc.L2, l2
        o_v = oof_for(evidence)
        fc.L2 = old
        a, o = decide(o_v, cal0, lines)
        show(f"choices L2 {l2}", o_v, a, o, f" (value {fc.choose_choices(o_v, a)[3]:.3f})")
    allu = tuple(fc.USED)
    for label, used in (("all USED (both)", (allu, allu)), ("all USED (long only)", (short, allu))):
        o_v = oof_for(evidence, used)
        a, o = decide(o_v, cal0, lines)
        show(f"choices {label}", o_v, a, o, f" (value {fc.choose_choices(o_v, a)[3]:.3f})")
    auc(oof, answered)
    words = np.expm1(evidence[0][0, :, FEATURES.index("length")])
    for cut in args.choices_words:  # the choices models' long / short split at another length
        a, o = decide(oof, cal0, lines, choices_long=words >= cut - 1e-6)
        show(f"choices split at {cut} words (answer split at {fc.LONG_WORDS})", oof, a, o)

    # The choices models fitted only on the questions the answer rule leaves unanswered (out of fold,
    # at the fitted answer thresholds), per model feature set, over OOS_CHOICE_COST.
    x, y1, y3, exact = evidence
    cols = [FEATURES.index(f) for f in fc.USED]
    flat = x[:, :, cols].reshape(-1, len(cols))
    mean, scale = flat.mean(axis=0), flat.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (x[:, :, cols] - mean) / scale
    for label, used in (("round-15 long", (short, long_)), ("all USED", (allu, allu)),
                        ("all USED long", (short, allu))):
        for focus in (False, True):
            o_v = oof_for(evidence, used)
            if focus:
                refit_unanswered(o_v, answered, z, y3, weights, cases, seeds, used)
            for cost in args.grid:
                old, fc.OOS_CHOICE_COST = fc.OOS_CHOICE_COST, cost
                a, o = decide(o_v, cal0, lines)
                value = fc.choose_choices(o_v, a)
                fc.OOS_CHOICE_COST = old
                f = figures(o_v, a, o)
                print(f"{label:16} {'unanswered' if focus else 'all rows':10} cost {cost:.3f}: thresholds "
                      f"{value[0]:.2f}/{value[1]:.2f} | " + " | ".join(
                          f"{s} aoo {100 * f[s]['answered_or_offered']:.1f} oos_off {100 * f[s]['oos_offered']:.1f}"
                          for s in SETS), flush=True)
    return 0


def refit_unanswered(oof: fc.Oof, answered: np.ndarray, z: np.ndarray, y3: np.ndarray, weights: np.ndarray,
                     cases: list, seeds: list[int], used: fc.Choices) -> None:  # type: ignore[type-arg]
    """Replace oof.p3 / p3_long by choices models fitted, in each fold, on the training questions left
    unanswered (`answered`) only."""
    for s, seed in enumerate(seeds):
        for train, held in fc.group_folds(cases, seed):
            keep = train[~answered[s, train]]
            _, c, cl, _ = fc.fit_models(z[s, keep], y3[s, keep].astype(float), y3[s, keep].astype(float),
                                        weights[keep], np.ones(len(keep), bool), used)
            oof.p3[s, held] = [c.prob(r) for r in z[s, held]]
            oof.p3_long[s, held] = [cl.prob(r) for r in z[s, held]]


def auc_of(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """Mean over the fold seeds of the AUC of `score` for pos against neg (masks, (shuffles, questions))."""
    return float(np.nanmean([fc.auc(score[s][pos[s]], score[s][neg[s]]) for s in range(len(score))]))


def auc(oof: fc.Oof, answered: np.ndarray) -> None:
    """How well P(right in offered) sorts the questions left unanswered: right entry among the offered
    against off-topic, per set and length."""
    p = np.where(oof.long_q[None, :], oof.p3_long, oof.p3)
    for name, g in oof.groups:
        for label, sel in (("short", ~oof.long_q), ("long", oof.long_q)):
            pos = ~answered & (g & oof.scope & sel)[None, :] & oof.y3
            neg = ~answered & (g & ~oof.scope & sel)[None, :]
            miss = ~answered & (g & oof.scope & sel)[None, :] & ~oof.y3
            print(f"  AUC of P(right in offered) among the unanswered, {name} {label}: found/off-topic "
                  f"{auc_of(p, pos, neg):.3f}, found/not found in scope {auc_of(p, pos, miss):.3f} "
                  f"(per seed: {pos.sum(axis=1).mean():.1f} found, {neg.sum(axis=1).mean():.1f} off-topic, "
                  f"{miss.sum(axis=1).mean():.1f} not found)")


def with_extras(evidence: fc.Evidence4, extras: np.ndarray, names: tuple[str, ...]) -> tuple[fc.Evidence4, Callable[[], None]]:
    """The evidence with EXTRAS `names` appended as decision features that only the choices models read
    (fit_calibration's FEATURES, USED and fit_models patched; call the returned function to undo)."""
    if not names:
        return evidence, lambda: None
    x, y1, y3, exact = evidence
    x = np.concatenate([x, extras[:, :, [EXTRAS.index(f) for f in names]]], axis=2)
    old = fc.FEATURES, fc.USED, fc.fit_models
    n0 = len(fc.USED)

    def fit_models(z: np.ndarray, y1: np.ndarray, y3: np.ndarray, w: np.ndarray, in_scope: np.ndarray,
                   choices_used: fc.Choices) -> tuple:  # type: ignore[type-arg]
        a, c, cl, s = old[2](z, y1, y3, w, in_scope, choices_used)
        plain = tuple(tuple(f for f in u if f not in names) for u in choices_used)
        fc.USED = old[1]
        a0, _, _, s0 = old[2](z[:, :n0], y1, y3, w, in_scope, plain)  # type: ignore[arg-type]
        fc.USED = old[1] + names
        pad = [0.0] * len(names)
        return (type(a0)(a0.weights + pad, a0.bias), c, cl, type(s0)(s0.weights + pad, s0.bias))

    fc.FEATURES, fc.USED, fc.fit_models = old[0] + names, old[1] + names, fit_models

    def restore() -> None:
        fc.FEATURES, fc.USED, fc.fit_models = old
    return (x, y1, y3, exact), restore


if __name__ == "__main__":
    raise SystemExit(main())
