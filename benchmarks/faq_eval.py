"""FAQ matcher evaluation: accuracy, false accepts and latency, beside two baselines.

Run: `make eval` or `python benchmarks/faq_eval.py [--misses]`.
Labelled questions: benchmarks/eval/*.tsv (question<TAB>expected_id, `none` = out of scope).
Baselines on the same knowledge base: plain rapidfuzz (WRatio over raw phrasings, the
`process.extractOne` default) and BM25 over lower-cased words. Each baseline gets the
acceptance threshold that gives it the best top-1 accuracy on this very set while staying
within the same error budget as the bot (wrong answers <= 3%, out-of-scope false accepts
<= 5%): a generous, like-for-like comparison.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import process, utils  # noqa: E402

from knowledge.loader import Entry, load  # noqa: E402
from knowledge.matcher import Matcher  # noqa: E402

EVAL_DIR = Path(__file__).parent / "eval"
WRONG_BUDGET = 0.03
OOS_BUDGET = 0.05
# Entries that answer the same question from two angles (written for two topics); an answer
# from either counts as right. Listed here rather than hidden, so the overlap stays visible.
EQUIVALENT = [
    {"thanhtoan-phi-dich-vu-cong", "dichvucong-thanh-toan-truc-tuyen"},
    {"thanhtoan-tien-dien", "dichvucong-thanh-toan-tien-dien"},
    {"dichvucong-thue-bao-khong-khop", "vneid-sim-chinh-chu"},
    {"thanhtoan-khong-co-nfc", "vneid-khong-co-nfc"},
]


def accepted(expected: str) -> set[str]:
    for group in EQUIVALENT:
        if expected in group:
            return group
    return {expected}


@dataclass
class Case:
    question: str
    expected: str  # entry id or "none"
    source: str


def read_cases(directory: Path = EVAL_DIR, split: str = "all") -> list[Case]:
    """Labelled questions. `split`: "dev" (1st, 3rd, ... row of each file, the half used when
    writing phrasings), "test" (the other half, held out), or "all"."""
    cases = []
    for path in sorted(directory.glob("*.tsv")):
        rows = [line for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
        for n, line in enumerate(rows):
            if split == "dev" and n % 2 or split == "test" and not n % 2:
                continue
            question, _, expected = line.partition("\t")
            cases.append(Case(question.strip(), expected.strip(), path.stem))
    return cases


@dataclass
class Outcome:
    status: str  # answer | choices | none
    answer: str | None
    choices: tuple[str, ...]


def score(cases: list[Case], outcomes: list[Outcome]) -> dict[str, float]:
    inscope = [(c, o) for c, o in zip(cases, outcomes, strict=True) if c.expected != "none"]
    oos = [(c, o) for c, o in zip(cases, outcomes, strict=True) if c.expected == "none"]
    top1 = sum(o.status == "answer" and o.answer in accepted(c.expected) for c, o in inscope)
    tap = sum((o.status == "answer" and o.answer in accepted(c.expected)) or
              (o.status == "choices" and bool(accepted(c.expected) & set(o.choices))) for c, o in inscope)
    wrong = sum(o.status == "answer" and o.answer not in accepted(c.expected) for c, o in inscope)
    false_accept = sum(o.status == "answer" for _, o in oos)
    correct_all = top1 + sum(o.status != "answer" for _, o in oos)
    return {
        "in_scope": len(inscope), "out_of_scope": len(oos),
        "top1": top1 / max(len(inscope), 1),
        "within_one_tap": tap / max(len(inscope), 1),
        "wrong_answer": (wrong + false_accept) / max(len(cases), 1),
        "wrong_in_scope": wrong / max(len(inscope), 1),
        "oos_false_accept": false_accept / max(len(oos), 1),
        "overall": correct_all / max(len(cases), 1),
    }


def run_matcher(matcher: Matcher, cases: list[Case]) -> tuple[list[Outcome], list[float]]:
    outcomes, times = [], []
    for case in cases:
        t0 = time.perf_counter()
        m = matcher.match(case.question)
        times.append(time.perf_counter() - t0)
        best = m.best.entry.id if m.best else None
        outcomes.append(Outcome(m.status, best if m.status == "answer" else None,
                                tuple(s.entry.id for s in m.choices)))
    return outcomes, times


class Baseline:
    """Best-scoring phrasing's entry; answer when the score reaches a threshold."""

    def __init__(self, entries: list[Entry]) -> None:
        self.phrases = [(q, e.id) for e in entries for q in (e.title, *e.questions)]

    def best(self, question: str) -> tuple[str | None, float]:
        raise NotImplementedError

    def outcomes(self, cases: list[Case], threshold: float, cache: dict[str, tuple[str | None, float]]) -> list[Outcome]:
        out = []
        for c in cases:
            ident, s = cache[c.question]
            out.append(Outcome("answer", ident, ()) if ident and s >= threshold else Outcome("none", None, ()))
        return out

    def tuned(self, cases: list[Case]) -> tuple[dict[str, float], float, list[float]]:
        cache, times = {}, []
        for c in cases:
            t0 = time.perf_counter()
            cache[c.question] = self.best(c.question)
            times.append(time.perf_counter() - t0)
        candidates = sorted({s for _, s in cache.values()})
        best_metrics, best_t = None, 0.0
        for t in candidates:
            m = score(cases, self.outcomes(cases, t, cache))
            within_budget = m["wrong_answer"] <= WRONG_BUDGET and m["oos_false_accept"] <= OOS_BUDGET
            if within_budget and (best_metrics is None or m["top1"] > best_metrics["top1"]):
                best_metrics, best_t = m, t
        return best_metrics or score(cases, self.outcomes(cases, 101.0, cache)), best_t, times


class RapidfuzzBaseline(Baseline):
    def best(self, question: str) -> tuple[str | None, float]:
        hit = process.extractOne(question, [p for p, _ in self.phrases])
        if hit is None:
            return None, 0.0
        return self.phrases[hit[2]][1], hit[1]


class BM25Baseline(Baseline):
    def __init__(self, entries: list[Entry]) -> None:
        super().__init__(entries)
        self.docs = [utils.default_process(p).split() for p, _ in self.phrases]
        self.df: Counter[str] = Counter(t for d in self.docs for t in set(d))
        self.n = len(self.docs)
        self.avg = sum(map(len, self.docs)) / self.n
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, d in enumerate(self.docs):
            for t, tf in Counter(d).items():
                self.postings[t].append((i, tf))

    def best(self, question: str) -> tuple[str | None, float]:
        scores: dict[int, float] = defaultdict(float)
        for t in set(utils.default_process(question).split()):
            if t not in self.df:
                continue
            idf = math.log(1 + (self.n - self.df[t] + 0.5) / (self.df[t] + 0.5))
            for i, tf in self.postings[t]:
                scores[i] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(self.docs[i]) / self.avg))
        if not scores:
            return None, 0.0
        i = max(scores, key=scores.__getitem__)
        return self.phrases[i][1], scores[i]


def synthetic(entries: list[Entry], factor: int, seed: int = 7) -> list[Entry]:
    """`factor` times as many entries: copies whose phrasings are shuffled and re-mixed."""
    rng = random.Random(seed)
    out = list(entries)
    for k in range(1, factor):
        for e in entries:
            qs = []
            for q in e.questions:
                words = q.split()
                rng.shuffle(words)
                qs.append(" ".join(words + [rng.choice(words)]))
            out.append(Entry(**{**e.__dict__, "id": f"{e.id}-x{k}", "questions": tuple(qs), "related": ()}))
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1e3


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--misses", action="store_true", help="list every question not answered right")
    ap.add_argument("--split", choices=["all", "dev", "test"], default="all",
                    help="dev: the half used when writing phrasings; test: the held-out half")
    args = ap.parse_args()
    entries = load()
    cases = read_cases(split=args.split)
    matcher = Matcher(entries)
    matcher.match("khởi động")  # warm caches
    outcomes, times = run_matcher(matcher, cases)
    ours = score(cases, outcomes)
    rf, rf_t, rf_times = RapidfuzzBaseline(entries).tuned(cases)
    bm, bm_t, bm_times = BM25Baseline(entries).tuned(cases)
    print(f"Knowledge base: {len(entries)} entries, {len(matcher.keys)} phrasings")
    print(f"Evaluation set ({args.split}): {len(cases)} questions ({ours['in_scope']} in scope, {ours['out_of_scope']} out of scope)")
    print()
    print(f"{'metric':<28}{'tcns matcher':>14}{'rapidfuzz raw':>15}{'BM25':>10}")
    rows = [("top-1 accuracy (in scope)", "top1"), ("within one tap", "within_one_tap"),
            ("wrong answers (all)", "wrong_answer"), ("wrong answers (in scope)", "wrong_in_scope"),
            ("out-of-scope false accept", "oos_false_accept"), ("overall correct", "overall")]
    for label, k in rows:
        print(f"{label:<28}{ours[k]:>14.1%}{rf[k]:>15.1%}{bm[k]:>10.1%}")
    print(f"{'match latency p50 (ms)':<28}{pct(times, .5):>14.3f}{pct(rf_times, .5):>15.3f}{pct(bm_times, .5):>10.3f}")
    print(f"{'match latency p99 (ms)':<28}{pct(times, .99):>14.3f}{pct(rf_times, .99):>15.3f}{pct(bm_times, .99):>10.3f}")
    print(f"(baseline thresholds: best top-1 on this set within wrong <= {WRONG_BUDGET:.0%} and out-of-scope "
          f"false accepts <= {OOS_BUDGET:.0%}: rapidfuzz WRatio >= {rf_t:.1f}, BM25 >= {bm_t:.2f})")
    big = synthetic(entries, 10)
    t0 = time.perf_counter()
    big_matcher = Matcher(big)
    build = time.perf_counter() - t0
    _, big_times = run_matcher(big_matcher, cases)
    print()
    print(f"Scaling: {len(big)} entries / {len(big_matcher.keys)} phrasings (10x): index build {build:.2f} s, "
          f"p50 {pct(big_times, .5):.3f} ms, p99 {pct(big_times, .99):.3f} ms "
          f"(vs p50 {pct(times, .5):.3f} ms, p99 {pct(times, .99):.3f} ms at 1x)")
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c, o in zip(cases, outcomes, strict=True):
        ok = (o.status == "answer" and o.answer in accepted(c.expected)) if c.expected != "none" else o.status != "answer"
        by_source[c.source][0] += ok
        by_source[c.source][1] += 1
    print()
    print("Correct by file: " + ", ".join(f"{s} {a}/{n}" for s, (a, n) in sorted(by_source.items())))
    if args.misses:
        print()
        for c, o in zip(cases, outcomes, strict=True):
            ok = (o.status == "answer" and o.answer in accepted(c.expected)) if c.expected != "none" else o.status != "answer"
            if not ok:
                m = matcher.match(c.question)
                top = ", ".join(f"{s.entry.id}:{s.score:.0f}" for s in m.ranked[:3])
                print(f"[{o.status}] {c.question!r} expected {c.expected} | {top}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
