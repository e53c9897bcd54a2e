"""Where the matcher's honest first run loses time (issue 10, item 8).

    python benchmarks/first_pass.py              # three passes over the dev questions in a fresh process
    python benchmarks/first_pass.py --stages     # also stage CPU times of the slowest 5% of each pass
    python benchmarks/first_pass.py --warm       # first match every KB title and phrasing (a start-up warm-up)

`make eval ARGS=--scaling` reports the p99 of each dev question's first run beside the fastest of
three. This script splits the difference, by CPU time (`time.thread_time_ns`), in one fresh process:
  A  one pass, every question seen for the first time (what `--scaling`'s first run sees);
  B  the same pass again with the caches on the path emptied before each question (the normaliser's
     `tokens`, the query sets, the typo cache): A - B is what the process's own first use costs,
     the only part a warm-up at start could remove;
  C  each question run twice in a row, the second timed (its caches filled, its memory just read):
     B - C is what seeing a question for the first time costs, whatever ran before.
Cache misses are counted in pass A. The slowest 5% are described by kind (member-typed or real, query
keys ranked, length), never by their text: the real dev rows include the fresh slice. Held-out (test)
questions are never read.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from faq_eval import read_member, read_real  # noqa: E402
from match_profile import SPENT, STAGES, _timed  # noqa: E402

from knowledge import lexical, matcher, normalize  # noqa: E402
from knowledge.loader import load  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stages", action="store_true", help="stage times of the slowest 5%% (timers add ~1 µs a call)")
    ap.add_argument("--warm", action="store_true", help="match every KB title and phrasing before pass A")
    args = ap.parse_args()
    t0 = time.process_time()
    m = matcher.Matcher(load())
    print(f"Matcher built in {time.process_time() - t0:.2f} s CPU", end="")
    if args.warm:
        t0 = time.process_time()
        for e in m.entries:
            for text in (e.title, *e.questions):
                m.match(text)
        print(f"; warm-up over the KB's titles and phrasings {time.process_time() - t0:.2f} s CPU", end="")
    print()
    tokens, query_sets = normalize.tokens, lexical.query_sets  # (before --stages wraps them)
    if args.stages:
        for owner, attr, label in STAGES:
            setattr(owner, attr, _timed(getattr(owner, attr), label))
    cases = [("member", c.question) for c in read_member("dev")] + [("real", c.question) for c in read_real("dev")[0]]
    keys: list[int] = []
    match_key = matcher.Matcher.match_key

    def counted(self: matcher.Matcher, q: str, pool: int | None = None) -> matcher.Match:
        keys[-1] += 1
        return match_key(self, q, pool)

    def empty() -> None:
        tokens.cache_clear()
        query_sets.cache_clear()
        m._typo_cache.clear()

    def misses() -> tuple[int, int, int]:
        return tokens.cache_info().misses, query_sets.cache_info().misses, len(m._typo_cache)

    times: dict[str, list[int]] = {p: [] for p in "ABC"}
    stages: dict[str, list[dict[str, float]]] = {p: [] for p in "ABC"}
    missed = [0, 0, 0]
    for name in "ABC":
        for _, q in cases:
            if name == "A":
                keys.append(0)
                matcher.Matcher.match_key = counted  # type: ignore[method-assign]
                before = misses()
            elif name == "B":
                empty()
            else:
                m.match(q)
            SPENT.clear()
            t0 = time.thread_time_ns()
            m.match(q)
            times[name].append(time.thread_time_ns() - t0)
            stages[name].append(dict(SPENT))
            if name == "A":
                matcher.Matcher.match_key = match_key  # type: ignore[method-assign]
                missed = [a + b - c for a, b, c in zip(missed, misses(), before, strict=True)]
    n = len(cases)
    print(f"{n} dev questions, CPU time per question (µs); machine shared, figures noisy:")
    for name, label in (("A", "first pass"), ("B", "caches emptied"), ("C", "second run")):
        v = times[name]
        print(f"  {name} {label:<15} mean {sum(v) / n / 1e3:7.1f}  p50 {pct(v, .5) / 1e3:7.1f}  "
              f"p90 {pct(v, .9) / 1e3:7.1f}  p99 {pct(v, .99) / 1e3:7.1f}")
    print(f"  misses in pass A: tokens {missed[0]}, query sets {missed[1]}, typo cache {missed[2]}")
    # (the slowest by all three passes together: picked by A alone, they would be slow in A by chance too)
    tail = sorted(range(n), key=lambda i: -sum(times[p][i] for p in "ABC"))[:max(1, round(0.05 * n))]
    kinds: dict[str, int] = defaultdict(int)
    for i in tail:
        kinds[f"{cases[i][0]} ranked {keys[i]}x"] += 1
    print(f"  slowest {len(tail)} (A + B + C): " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) +
          f"; median {pct([len(cases[i][1]) for i in tail], .5)} characters (all: {pct([len(c[1]) for c in cases], .5)});"
          " their mean µs in A / B / C: " + " / ".join(f"{sum(times[p][i] for i in tail) / len(tail) / 1e3:.0f}"
                                                      for p in "ABC"))
    if args.stages:
        print(f"  stages, mean µs over those {len(tail)} in A / B / C:")
        for _, _, label in STAGES:
            print(f"    {label:<34}" + " / ".join(f"{sum(stages[p][i].get(label, 0) for i in tail) / len(tail) / 1e3:6.1f}"
                                            for p in "ABC"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
