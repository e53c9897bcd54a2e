"""Out of fold on DEV: the questions whose cross-fitted first entry is wrong, most confident first.

    .venv/bin/python benchmarks/oof_wrong.py              # answered wrong, then the top wrong by P(right)
    .venv/bin/python benchmarks/oof_wrong.py --top 40 --thresholds 0.95 0.89

The same cross-fitting as `make calibrate` (benchmarks/fit_calibration.py: the re-ranker and the
decision models fitted without each question's fold, over the fold seeds), then, for every in-scope
question, the entry its cross-fitted re-ranker puts first in each fold seed. It lists member-typed
dev rows and the real dev rows BEFORE FRESH_LINE only: the fresh slice (and every held-out row) is
never printed. For each question ranked wrong in most fold seeds: its mean out-of-fold P(right), the
share of fold seeds in which it is answered at the thresholds, the entry ranked first (the most
frequent one) and its title, the right entry and its title, and the question.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from fit_calibration import (
    DECISION_SHUFFLES,
    FRESH_LINE,
    HASH_SEED,
    RERANK_L2,
    _answered,
    case_lines,
    decision_oof,
    dev_cases,
    dev_pool,
    fit_rerank,
    group_folds,
    labels,
    reranked,
    with_rerank,
)
from hash_seed import rerun_with

from knowledge.calibration import FEATURES
from knowledge.loader import load
from knowledge.matcher import Matcher


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", type=int, default=60, help="rows to print")
    ap.add_argument("--shuffles", type=int, default=DECISION_SHUFFLES)
    ap.add_argument("--thresholds", type=float, nargs=2, default=(0.95, 0.89), metavar=("SHORT", "LONG"))
    args = ap.parse_args()
    if (code := rerun_with(HASH_SEED, __file__)) is not None:
        return code
    entries = load()
    sets, cases, weights = dev_cases()
    pool = dev_pool(entries, cases)
    cand = [(p.ev.candidates, p.right) for p in pool]
    cal = reranked(pool, weights)
    matcher = Matcher(entries, cal)
    seeds = list(range(args.shuffles))
    n = len(pool)
    x = np.zeros((len(seeds), n, len(FEATURES)))
    y1, y3, exact = (np.zeros((len(seeds), n), bool) for _ in range(3))
    tops = [[""] * n for _ in seeds]
    for s, seed in enumerate(seeds):
        for train, held in group_folds(cases, seed):
            matcher.calibration = with_rerank(cal, fit_rerank([cand[i] for i in train], weights[train], RERANK_L2))
            for i in held:
                ev = pool[i].rerank(matcher)
                if not ev.order:
                    continue
                x[s, i] = ev.features
                tops[s][i] = matcher.entries[ev.order[0]].id
                y1[s, i], y3[s, i], exact[s, i] = labels(matcher, pool[i], ev)
    matcher.calibration = cal
    _, oof = decision_oof(matcher, pool, sets, cases, weights, cal, seeds, evidence=(x, y1, y3, exact))
    grid = np.round(np.arange(0.3, 1.001, 0.01), 2)
    cell = (int(np.argmin(abs(grid - args.thresholds[0]))), int(np.argmin(abs(grid - args.thresholds[1]))))
    answered = _answered(grid, cell, oof.p1, oof.exact, oof.clear, oof.long_q)
    lines = case_lines(cases)
    title = {e.id: e.title for e in entries}
    rows = []
    listed = 0
    for i, (name, c) in enumerate(cases):
        if not c.in_scope or (name == "real" and not 0 < lines[i] < FRESH_LINE):
            continue  # off-topic, or the fresh slice (never listed)
        listed += 1
        wrong = ~oof.y1[:, i]
        if wrong.mean() < 0.5:
            continue
        top = Counter(tops[s][i] for s in range(len(seeds)) if wrong[s]).most_common(1)[0][0]
        rows.append((float(oof.p1[wrong, i].mean()), float((answered[:, i] & wrong).mean()), name, top,
                     "|".join(c.expected), c.question, int(lines[i])))
    rows.sort(key=lambda r: (-r[1], -r[0]))
    print(f"{len(rows)} of {listed} listed in-scope dev questions ranked wrong in most fold seeds; answered wrong "
          f"in some seed: {sum(r[1] > 0 for r in rows)} (thresholds {args.thresholds[0]} / {args.thresholds[1]})")
    for p, a, name, top, right, q, line in rows[:args.top]:
        print(f"{name:<6} P {p:.2f} answered {a:.2f} line {line or '-'}\n  first: {top} ({title.get(top, '?')})\n"
              f"  right: {right} ({' | '.join(title.get(r.split('+')[0], '?') for r in right.split('|'))})\n"
              f"  q: {q[:300]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
