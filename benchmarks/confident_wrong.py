"""DEV questions whose top-ranked entry is wrong, most confident first (knowledge-base triage).

    .venv/bin/python benchmarks/confident_wrong.py              # in-sample P(right), every dev set
    .venv/bin/python benchmarks/confident_wrong.py --top 20 --min-p 0.5
    PYTHONHASHSEED=0 .venv/bin/python benchmarks/fit_calibration.py --dump /tmp/oof.npz --out /tmp/cal.json
    .venv/bin/python benchmarks/confident_wrong.py --oof /tmp/oof.npz   # adds the out-of-fold P(right)

Reads the DEV halves only (as benchmarks/faq_eval.py reads them): member-typed dev rows, real
dev.tsv and the first turn of each dev dialogue. Never run it on held-out rows: it has no option to.

For each in-scope question whose re-ranked first entry is not an accepted one it prints: the set,
P(right) as the shipped calibration computes it (in sample: the decision models saw these rows), the
out-of-fold P(right) (mean over the fold seeds of `fit_calibration.py --dump`; member-typed and real
rows only, in the fit's order; it is P(right) of the first entry of the cross-fitted re-ranker, which
can differ from the shipped one's: a low value beside a high in-sample P says so), what the bot did (answer / choices / none), the entry ranked first,
the right entry and its rank (">5" when not in the top 5), and the question. Rows are sorted by
P(right) descending: the top ones are the confidently wrong answers that hold the answer
thresholds up; each one is a knowledge-base problem to fix by class (a title that claims too much,
a missing phrasing or concept), never by copying the question into the phrasings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from faq_eval import Case, accepted, read_dialogues, read_member, read_real

from knowledge.calibration import CALIBRATION_FILE, Calibration
from knowledge.loader import load
from knowledge.matcher import Matcher


def dev_sets() -> list[tuple[str, Case]]:
    """(set name, case) for every dev question; member and real first, in fit_calibration's order."""
    rows = [("member", c) for c in read_member("dev")] + [("real", c) for c in read_real("dev")[0]]
    for dialogue in read_dialogues("dev"):
        _, text, expected = dialogue[0]
        rows.append(("dialogue", Case(text, expected, "dialogue")))
    return rows


def oof_means(path: Path | None, n: int) -> np.ndarray | None:
    """Mean out-of-fold P(right) per member/real dev question, from a fit_calibration --dump file."""
    if path is None:
        return None
    p1 = np.load(path)["p1"]
    if p1.shape[1] != n:
        raise SystemExit(f"{path}: {p1.shape[1]} questions, the dev sets now have {n}: dump it again")
    return p1.mean(axis=0)


def wrong_rows(matcher: Matcher, rows: list[tuple[str, Case]], oof: np.ndarray | None) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for i, (name, case) in enumerate(rows):
        if not case.in_scope:
            continue
        m = matcher.match(case.question)
        if m.best is None:
            continue
        ok = accepted(case.expected)
        if m.best.entry.id in ok:
            continue
        ranked = [s.entry.id for s in m.ranked]
        rank = next((str(k + 1) for k, ident in enumerate(ranked) if ident in ok), ">5")
        out.append({
            "set": name, "p": m.confidence,
            "oof": float(oof[i]) if oof is not None and i < len(oof) else None,
            "status": m.status, "top": m.best.entry.id, "right": "|".join(case.expected), "rank": rank,
            "question": case.question,
        })
    return sorted(out, key=lambda r: (-r["p"], r["question"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", type=int, default=40, help="rows to print")
    ap.add_argument("--min-p", type=float, default=0.0, help="only rows with in-sample P(right) at least this")
    ap.add_argument("--oof", type=Path, help="out-of-fold evidence saved by fit_calibration.py --dump")
    ap.add_argument("--calibration", type=Path, default=CALIBRATION_FILE)
    args = ap.parse_args()
    matcher = Matcher(load(), Calibration.load(args.calibration))
    rows = dev_sets()
    oof = oof_means(args.oof, sum(name != "dialogue" for name, _ in rows))
    found = [r for r in wrong_rows(matcher, rows, oof) if r["p"] >= args.min_p]
    n_in = sum(c.in_scope for _, c in rows)
    print(f"{len(found)} of {n_in} in-scope dev questions have a wrong first entry; "
          f"answered wrong: {sum(r['status'] == 'answer' for r in found)}")
    print(f"{'set':<8} {'P':>5} {'oof':>5} {'did':<7} {'rank':>4}  first entry -> right entry | question")
    for r in found[:args.top]:
        oof_s = f"{r['oof']:.2f}" if r["oof"] is not None else "-"
        print(f"{r['set']:<8} {r['p']:.2f} {oof_s:>5} {r['status']:<7} {r['rank']:>4}  "
              f"{r['top']} -> {r['right']} | {r['question'][:110]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
