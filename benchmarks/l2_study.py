"""The re-ranker's L2 together with the choices models' features, out of fold on the DEV halves only.

    python benchmarks/l2_study.py                      # L2 1, 3, 10, 30, 100 x the CHOICE_SETS, 20 fold seeds
    python benchmarks/l2_study.py --l2 3 100 --shuffles 5

For each re-ranker L2 the cross-fitted evidence (benchmarks/fit_calibration.py cross_fitted: every
question re-ranked by a re-ranker fitted without it) is made once; then, for each choices feature set,
the decision models and thresholds are fitted as `make calibrate` fits them (fit_decision) and the
out-of-fold figures at the chosen thresholds are printed: mean top-1 (the fit's objective), per set
top-1, answered or offered, wrong, off-topic answered and offered, and the share ranked first.
Nothing is written but the optional --jsonl lines. Reads only dev questions.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fit_calibration as fc
from hash_seed import rerun_with

from knowledge.calibration import Calibration
from knowledge.loader import load
from knowledge.matcher import Matcher

BASE = ("phrase", "coverage", "length", "unknown", "q_missing")
# The short questions' choices features; the long questions' model adds t_extra to each (as the fit does).
CHOICE_SETS = {
    "rr_prob": BASE + ("rr_prob",),
    "none": BASE,
    "rr_margin": BASE + ("rr_margin",),
    "both": BASE + ("rr_prob", "rr_margin"),
}
SETS = ("member", "real")
COLUMNS = ("top1", "answered_or_offered", "wrong", "oos", "oos_offered", "ranked_first")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--l2", type=float, nargs="+", default=[1.0, 3.0, 10.0, 30.0, 100.0])
    ap.add_argument("--choices", nargs="+", default=list(CHOICE_SETS), choices=list(CHOICE_SETS))
    fc.seed_options(ap)
    ap.add_argument("--jsonl", type=Path, help="append one JSON line per setting")
    args = ap.parse_args(argv)
    if (code := rerun_with(fc.HASH_SEED, __file__)) is not None:
        return code
    seeds = fc.fold_seeds(args.seed, args.shuffles)
    entries = load()
    sets, cases, weights = fc.dev_cases()
    pool = fc.dev_pool(entries, cases)
    cand = [(p.ev.candidates, p.right) for p in pool]
    print(f"{len(cases)} dev questions, fold seeds {seeds[0]}-{seeds[-1]}; per set: "
          + ", ".join(COLUMNS) + " (out of fold, mean over the fold seeds)", flush=True)
    for l2 in args.l2:
        rr = fc.fit_rerank(cand, weights, l2)
        matcher = Matcher(entries, fc.with_rerank(Calibration(fusion=fc.FUSION), rr))
        evidence = fc.cross_fitted(matcher, pool, cases, weights, matcher.calibration, seeds, rerank_l2=l2)
        for name in args.choices:
            used = (CHOICE_SETS[name], CHOICE_SETS[name] + ("t_extra",))
            report: dict[str, float] = {}
            cal = fc.with_rerank(Calibration(fusion=fc.FUSION), rr)
            with contextlib.redirect_stdout(io.StringIO()):
                fc.fit_decision(matcher, pool, sets, cases, weights, cal, seeds, report=report, evidence=evidence,
                                rerank_l2=l2, choices_used=used)
            print(f"L2 {l2:g} choices {name}: mean top-1 {report['mean_top1']:.3f}, answer >= "
                  f"{report['answer_min']:.2f}/{report['answer_min_long']:.2f}, choices >= {report['choices_min']:.2f}/"
                  f"{report['choices_min_long']:.2f} (value {report['choices_value']:.3f})", flush=True)
            for s in SETS:
                print(f"    {s:6} " + "  ".join(f"{k} {100 * report[f'{s}.{k}']:.1f}" for k in COLUMNS), flush=True)
            if args.jsonl:
                with args.jsonl.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"l2": l2, "choices": name, "seed": args.seed, "shuffles": args.shuffles,
                                        **report}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
