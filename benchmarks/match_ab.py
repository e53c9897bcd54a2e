"""This checkout's matcher against another checkout's, in one process, by CPU time (issue 10, item 8).

    git worktree add /tmp/before main                      # or any other checkout
    python benchmarks/match_ab.py /tmp/before              # shipped knowledge base
    python benchmarks/match_ab.py /tmp/before --scale 10   # the 10x synthetic one

On a shared machine wall-clock figures mostly measure the other jobs. Here both matchers answer
every dev question in turn (A, B, A, B, ...), each timed by `time.thread_time_ns` with the
normaliser's caches and the typo cache emptied first (every run sees the question for the first
time), and the fastest of `--repeats` runs is kept: the ratio of the two is what the change is worth.
The fastest of N is an optimistic figure for a p99 (a question that is slow once in three is not
slow in it): "single runs" gives the p99 of each of the N passes on its own (median and range),
which is what one pass such as `make eval ARGS=--scaling`'s first run measures. Each checkout's `knowledge` package is imported under its own
name (it uses relative imports only). Held-out (test) questions are never read.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from faq_eval import dev_cases, synthetic  # noqa: E402

from knowledge.loader import load  # noqa: E402


def _tree(name: str, scale: int) -> tuple[Any, list[Any]]:
    matcher = importlib.import_module(f"{name}.matcher")
    loader = importlib.import_module(f"{name}.loader")
    normalize = importlib.import_module(f"{name}.normalize")
    lexical = importlib.import_module(f"{name}.lexical")
    entries = loader.load()
    m = matcher.Matcher(synthetic(entries, scale) if scale > 1 else entries)
    clears = [normalize.tokens.cache_clear]
    if hasattr(lexical, "query_sets"):
        clears.append(lexical.query_sets.cache_clear)
    if hasattr(m, "_typo_cache"):
        clears.append(m._typo_cache.clear)
    return m, clears


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("other", type=Path, help="another checkout of this repository")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scale", type=int, default=1, help="also time an N-times synthetic knowledge base")
    ap.add_argument("--longest", type=int, default=70, help="also report the N longest questions")
    args = ap.parse_args()
    load()  # (fails early if this checkout's knowledge base does not load)
    with tempfile.TemporaryDirectory() as tmp:
        links = {"k_this": ROOT / "knowledge", "k_other": args.other.resolve() / "knowledge"}
        for name, package in links.items():
            (Path(tmp) / name).symlink_to(package, target_is_directory=True)
        sys.path.insert(0, tmp)
        trees = {name: _tree(name, args.scale) for name in links}
        questions = [c.question for c in dev_cases()]
        spent: dict[str, list[float]] = {name: [] for name in trees}
        passes: dict[str, list[list[float]]] = {name: [[] for _ in range(args.repeats)] for name in trees}
        for q in questions:
            runs: dict[str, list[int]] = {name: [] for name in trees}
            for _ in range(args.repeats):
                for name, (m, clears) in trees.items():
                    for clear in clears:
                        clear()
                    t0 = time.thread_time_ns()
                    m.match(q)
                    runs[name].append(time.thread_time_ns() - t0)
            for name in trees:
                spent[name].append(min(runs[name]) / 1e3)
                for i, ns in enumerate(runs[name]):
                    passes[name][i].append(ns / 1e3)
    longest = sorted(range(len(questions)), key=lambda i: -len(questions[i]))[:args.longest]
    print(f"{len(questions)} dev questions, knowledge base x{args.scale}, CPU time, fastest of {args.repeats}:")
    for name, label in (("k_this", "this checkout"), ("k_other", str(args.other))):
        v = spent[name]
        print(f"  {label:<30} mean {sum(v) / len(v):7.1f} µs  p50 {pct(v, .5):7.1f}  p90 {pct(v, .9):7.1f}  "
              f"p99 {pct(v, .99):7.1f}; {len(longest)} longest: mean {sum(v[i] for i in longest) / len(longest):7.1f} µs")
        p99s = sorted(pct(p, .99) for p in passes[name])
        print(f"  {'':<30} single runs: p99 median {p99s[len(p99s) // 2]:7.1f} µs, range {p99s[0]:.1f}-{p99s[-1]:.1f}")
    a, b = spent["k_this"], spent["k_other"]
    print(f"  this / other: mean {sum(a) / sum(b):.3f}, {len(longest)} longest "
          f"{sum(a[i] for i in longest) / sum(b[i] for i in longest):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
