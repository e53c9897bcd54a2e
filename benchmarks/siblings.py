"""Sibling entries the matcher confuses, counted over the DEV questions only.

    .venv/bin/python benchmarks/siblings.py                 # top confusable pairs and their families
    .venv/bin/python benchmarks/siblings.py --top 40 --gap 1.0
    .venv/bin/python benchmarks/siblings.py --calibration /tmp/old_calibration.json --figures
    .venv/bin/python benchmarks/siblings.py --dev-half a    # pairs of one half of dev (faq_eval.dev_half)
    .venv/bin/python benchmarks/siblings.py --dev-half b --only ID...  # half b: totals and figures only

Over the in-scope dev questions (member-typed dev rows and real dev.tsv, as benchmarks/faq_eval.py
reads them; never the held-out halves) each question is matched once, and for each unordered pair
of entries it counts:

- `close`: the pair is ranked first and second with a re-ranker margin below `--gap` (the margin
  the decision reads: a direct answer needs a clear lead, see knowledge/matcher.py clear_lead);
- `close_right`: of those, one of the two is the right entry;
- `choices`: the question got choices (no direct answer) holding both, one of them right;
- `lost`: of those, the right entry was ranked first: a direct answer was one step away;
- `wrong`: one of the pair was answered directly while the other was the right entry.

Pairs are sorted by choices + wrong + close_right; connected pairs are then grouped into families
(the entries a family's members are confused with). `--figures` also prints the dev figures of
faq_eval with the calibration file given by `--calibration` (default: the shipped one), so a change
to the knowledge base can be judged at the OLD thresholds as well as after `make calibrate`.

`--dev-half a|b` reads one half of dev (faq_eval.dev_half): list pairs on half a, tune there, and
judge on half b, which prints the totals only (of the pairs naming an `--only` id, when given).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faq_eval import (
    HALVES,
    Case,
    accepted,
    read_dialogues,
    read_member,
    read_real,
    run_dialogues,
    run_matcher,
    score,
)

from knowledge.calibration import CALIBRATION_FILE, Calibration
from knowledge.loader import load
from knowledge.matcher import Matcher

COUNTS = ("close", "close_right", "choices", "lost", "wrong")


def pair_counts(matcher: Matcher, cases: list[Case], gap: float) -> dict[tuple[str, str], Counter[str]]:
    """Per unordered pair of entry ids (sorted), the COUNTS above."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for case in cases:
        if not case.in_scope:
            continue
        right = accepted(case.expected)
        m = matcher.match(case.question)
        ev = matcher.evidence(matcher.primary_key(case.question))
        ranked = [matcher.entries[i].id for i in ev.order[:2]]
        if len(ranked) == 2 and len(ev.rr) > 1 and float(ev.rr[0] - ev.rr[1]) < gap:
            pair = tuple(sorted(ranked))
            counts[pair]["close"] += 1  # type: ignore[index]
            if right & set(ranked):
                counts[pair]["close_right"] += 1  # type: ignore[index]
        if m.status == "choices":
            offered = [s.entry.id for s in m.choices]
            for r in (o for o in offered if o in right):
                for other in offered:
                    if other in right:
                        continue
                    pair = tuple(sorted((r, other)))
                    counts[pair]["choices"] += 1  # type: ignore[index]
                    if m.ranked and m.ranked[0].entry.id == r:
                        counts[pair]["lost"] += 1  # type: ignore[index]
        elif m.status == "answer" and m.best is not None and m.best.entry.id not in right:
            for r in right:
                counts[tuple(sorted((r, m.best.entry.id)))]["wrong"] += 1  # type: ignore[index]
    return counts


def weight(c: Counter[str]) -> int:
    return c["choices"] + c["wrong"] + c["close_right"]


def families(pairs: list[tuple[str, str]]) -> list[set[str]]:
    """Connected components of the given pairs, largest first."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups: dict[str, set[str]] = defaultdict(set)
    for x in parent:
        groups[find(x)].add(x)
    return sorted(groups.values(), key=lambda g: (-len(g), sorted(g)))


def figures(matcher: Matcher, out=print, half: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """The dev figures of faq_eval (member-typed, real, dialogues) with this matcher's calibration."""
    for name, cases in (("member-typed", read_member("dev", half)), ("real", read_real("dev", half)[0])):
        m = score(cases, run_matcher(matcher, cases)[0])
        out(f"{name:<13} top-1 {m['top1']:.1%}  ranked first {m['top1_ranked']:.1%}  top 3 {m['top3_ranked']:.1%}  "
            f"answered/offered {m['answered_or_offered']:.1%}  wrong {m['wrong_in_scope']:.1%}  "
            f"off-topic answered {m['oos_false_accept']:.1%}")
    d = run_dialogues(matcher, read_dialogues("dev", half))
    out(f"dialogues     {d['dialogues_right']:.1%} of {d['dialogues']} all right")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gap", type=float, default=1.0, help="re-ranker margin below which a first/second pair is close")
    ap.add_argument("--top", type=int, default=30, help="pairs to print")
    ap.add_argument("--calibration", type=Path, default=CALIBRATION_FILE, help="calibration.json to match with")
    ap.add_argument("--figures", action="store_true", help="also print the dev figures with that calibration")
    ap.add_argument("--only", nargs="*", default=(), help="print only pairs naming one of these ids")
    ap.add_argument("--dev-half", choices=HALVES, help="one half of dev: a (pairs listed) or b (totals only)")
    args = ap.parse_args()
    matcher = Matcher(load(), Calibration.load(args.calibration))
    cases = read_member("dev", args.dev_half) + read_real("dev", args.dev_half)[0]
    counts = pair_counts(matcher, cases, args.gap)
    pairs = sorted((p for p in counts if weight(counts[p])), key=lambda p: (-weight(counts[p]), p))
    if args.only:
        pairs = [p for p in pairs if set(p) & set(args.only)]
    totals = Counter[str]()
    for p in counts:
        if not args.only or set(p) & set(args.only):
            totals.update(counts[p])
    half = f" (half {args.dev_half})" if args.dev_half else ""
    print(f"{sum(c.in_scope for c in cases)} in-scope dev questions{half}; calibration {args.calibration}; "
          f"gap {args.gap}")
    print("totals" + (" of the pairs naming " + ", ".join(args.only) if args.only else "") + ": "
          + ", ".join(f"{k} {totals[k]}" for k in COUNTS) + f"; weight {weight(totals)}")
    if args.dev_half == "b":
        if args.figures:
            print()
            figures(matcher, half="b")
        return 0
    print(f"{'close':>5} {'c.right':>7} {'choices':>7} {'lost':>5} {'wrong':>5}  pair")
    shown = pairs[:args.top]
    for p in shown:
        c = counts[p]
        print(f"{c['close']:>5} {c['close_right']:>7} {c['choices']:>7} {c['lost']:>5} {c['wrong']:>5}  {p[0]} / {p[1]}")
    print("\nfamilies (connected pairs above):")
    for group in families(shown):
        total = sum(weight(counts[p]) for p in shown if set(p) <= group)
        print(f"  {total:>3}  " + ", ".join(sorted(group)))
    if args.figures:
        print()
        figures(matcher, half=args.dev_half)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
