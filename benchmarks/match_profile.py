"""Where a question's matching time goes, stage by stage (issue 10, item 8).

    python benchmarks/match_profile.py            # dev halves: real questions, then member-typed
    python benchmarks/match_profile.py --slowest 0.02   # only the slowest 2% of each set (the p99 tail; real rows by length)

Each stage function of the matcher is wrapped with a CPU-time timer (`time.thread_time_ns`: time
spent waiting for other jobs on a shared machine is left out; inclusive, so nested stages are
shown under their parent); the normaliser's and the query sets' caches are emptied before each
question, so every question is timed as if seen for the first time. Mean microseconds per question, and the share of
the whole `match`, from the fastest of REPEATS runs of each question (the others may have waited
for other jobs on a shared machine). The timers add about a microsecond per call: compare runs of this script, not
its totals with `make eval`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faq_eval import read_member, read_real

from knowledge import lexical, matcher, normalize
from knowledge.loader import load

REPEATS = 5
SPENT: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)

# (owner, attribute, label); nested stages are indented under their parent.
STAGES = [
    (matcher.Matcher, "match", "match"),
    (matcher, "split_question", "  split_question"),
    (matcher.Matcher, "query_key", "  query_key"),
    (normalize, "tokens", "    tokens"),
    (matcher.Matcher, "_fix_word", "    _fix_word"),
    (matcher.Matcher, "evidence", "  evidence"),
    (matcher.Matcher, "_phrase_scores", "    _phrase_scores"),
    (matcher.Matcher, "_sums", "      _sums (BM25, shares, lex)"),
    (matcher.Matcher, "_candidates", "      _candidates"),
    (matcher.Matcher, "_score", "      _score"),
    (matcher.process, "cdist", "        cdist token_set_ratio"),
    (lexical.Lexical, "scores", "    lexical.scores"),
    (matcher.Matcher, "_rerank", "    _rerank"),
    (matcher.Matcher, "candidates_matrix", "      candidates_matrix"),
    (matcher, "concepts", "        concepts"),
    (matcher.Calibration, "rerank_scores", "      rerank_scores"),
    (matcher.Matcher, "_features", "      _features"),
    (matcher.Matcher, "decide", "  decide"),
    (matcher.Matcher, "scored", "  scored"),
]


def _timed(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time_ns()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[label] += time.thread_time_ns() - t0
            CALLS[label] += 1
    return wrapper


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slowest", type=float, default=1.0,
                    help="report only this fraction of each set's questions, the slowest (by their fastest run)")
    args = ap.parse_args()
    m = matcher.Matcher(load())
    sets = {"real (dev)": [c.question for c in read_real("dev")[0]],
            "member-typed (dev)": [c.question for c in read_member("dev")]}
    stages = [s for s in STAGES if hasattr(s[0], s[1])]  # a stage the code no longer has is skipped
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in stages]
    clears = [normalize.tokens.cache_clear] + ([lexical.query_sets.cache_clear] if hasattr(lexical, "query_sets") else [])

    def cache_clear() -> None:
        for clear in clears:
            clear()
    for (owner, attr, fn), (_, _, label) in zip(originals, stages, strict=True):
        setattr(owner, attr, _timed(fn, label))
    try:
        for name, questions in sets.items():
            spent: dict[str, float] = defaultdict(float)
            calls: dict[str, int] = defaultdict(int)
            timed = []
            for q in questions:
                runs = []
                for _ in range(REPEATS):
                    SPENT.clear()
                    CALLS.clear()
                    cache_clear()
                    m.match(q)
                    runs.append((SPENT["match"], dict(SPENT), dict(CALLS)))
                timed.append((q, *min(runs, key=lambda r: r[0])))
            timed.sort(key=lambda t: -t[1])
            kept = timed[:max(1, round(args.slowest * len(timed)))]
            for _, _, fastest, counted in kept:
                for label, ns in fastest.items():
                    spent[label] += ns
                    calls[label] += counted[label]
            total = spent["match"] or 1
            n = len(kept)
            which = f"the slowest {n} of {len(timed)}" if n < len(timed) else f"{n}"
            print(f"{name}: {which} questions, mean {total / n / 1e3:.0f} µs per question (fastest of {REPEATS})")
            for _, _, label in STAGES:
                if calls[label]:
                    print(f"  {label:<32} {spent[label] / n / 1e3:8.1f} µs  {spent[label] / total:6.1%}"
                          f"  ({calls[label] / n:.1f} calls)")
            if n < len(timed):
                for q, ns, _, _ in kept:  # (real rows by length only: they include the fresh slice, not to be read)
                    print(f"  {ns / 1e3:7.0f} µs  {len(q):5d} chars" + (f"  {q[:70]!r}" if name.startswith("member") else ""))
            print()
    finally:
        for owner, attr, fn in originals:
            setattr(owner, attr, fn)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
