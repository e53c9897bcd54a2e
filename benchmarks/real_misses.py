"""The real dev questions of half a whose right entry is not ranked first, with what the pipeline made of them.

    .venv/bin/python benchmarks/real_misses.py             # every such row of half a
    .venv/bin/python benchmarks/real_misses.py --parts 1   # only the first part's query key

For each in-scope real row of dev half a (faq_eval.dev_half; half b and the held-out test are never
read here) that `Matcher.match` does not rank right first: its line in dev.tsv, the decision, the
question, the parts `split_question` cut from it with each part's query key (`Matcher.query_key`, where
the folds of knowledge/normalize.py show), the four best entries, and where the right entry stands in
the first part's own ranking. What docs/real-misses-2026-12-01.md was read from (issue 10, r19-real).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from faq_eval import accepted, read_real

from knowledge.loader import load
from knowledge.matcher import Matcher
from knowledge.question import split_question


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=3, help="parts of each question shown (split_question's order)")
    args = ap.parse_args()
    matcher = Matcher(load())
    cases, _ = read_real("dev", "a")
    n = 0
    for case in cases:
        if not case.in_scope:
            continue
        found = matcher.match(case.question)
        right = accepted(case.expected)
        if found.ranked and found.ranked[0].entry.id in right:
            continue
        n += 1
        print(f"=== {n} line {case.line} [{found.status}] expected {'|'.join(case.expected)}")
        print("  question:", case.question)
        parts = split_question(case.question)
        for part in parts[:args.parts]:
            print("  part:", part)
            print("    key:", matcher.query_key(part))
        print("  ranked:", ", ".join(f"{s.entry.id} {s.score:.1f}" for s in found.ranked[:4]))
        ids = [s.entry.id for s in matcher.rank(parts[0])]
        at = [ids.index(i) + 1 for i in right if i in ids]
        print("  right entry in the first part's ranking:", min(at) if at else f"not among {len(ids)}")
    print(f"{n} of {sum(c.in_scope for c in cases)} in-scope real rows of half a not ranked right first")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
