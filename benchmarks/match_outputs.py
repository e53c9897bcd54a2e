"""Dump everything the matcher decides on the dev questions, to check that a speed-only change
changes nothing (issue 10, item 8).

    python benchmarks/match_outputs.py > /tmp/before.txt   # before the change
    python benchmarks/match_outputs.py > /tmp/after.txt    # after it
    diff /tmp/before.txt /tmp/after.txt                     # must be empty

One line per question of the dev halves (member-typed, real) and per turn of the dev dialogues, plus
a few hard inputs (empty, emoji, a 5,000-character message): the status, the ranked and offered
entry ids with their scores, the confidence, and the primary query key's evidence (fused scores,
re-ranker scores, decision features and the re-ranker's candidate rows), all rounded to 1e-9 (`--exact`: in full).
`--scaled N` also runs the dev questions against the N-times synthetic knowledge base.
Held-out (test) questions are never read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faq_eval import dev_cases, read_dialogues, synthetic

from knowledge.followup import Conversation
from knowledge.loader import load
from knowledge.matcher import Match, Matcher

HARD = [
    "", " ", "?", "🙂🙏", "👍", "kich hoat vneid ko dc 🙏🙏", "'; DROP TABLE users; --", "/start", "a" * 5000,
    ("Chào bạn. Tôi năm nay 60 tuổi, ở xã. " * 60 + "Cho tôi hỏi cách kích hoạt tài khoản định danh điện tử? "
     "Và đổi mật khẩu thế nào? Xin cảm ơn.")[:5000],
    "kích hoạt vneid " * 320, "Đăng ký tạm trú online được không?\n\n\nMất bao lâu?",
]


EXACT = False  # --exact: every float in full (repr), to check that a change is bit for bit the same


def _r(x: float) -> str:
    return repr(float(x)) if EXACT else f"{round(float(x), 9):.9f}"


def _nums(values: Iterable[float]) -> str:
    return ",".join(_r(v) for v in values)


def describe(m: Match) -> str:
    ranked = ";".join(f"{s.entry.id}={s.score!r}" for s in m.ranked)
    offered = ";".join(f"{s.entry.id}={s.score!r}" for s in m.offered)
    return f"{m.status} | {ranked} | {offered} | {_r(m.confidence)}"


def evidence(matcher: Matcher, question: str) -> str:
    q = matcher.primary_key(question)
    ev = matcher.evidence(q)
    rows = "/".join(_nums(row) for row in ev.candidates)
    return (f"key={q!r} order={ev.order} fused={_nums(ev.fused[ev.order])} rr={_nums(ev.rr)} "
            f"features={_nums(ev.features)} cand={rows} "
            f"phrase={_nums(ev.phrase.get(i, 0.0) for i in range(len(matcher.entries)))}")


def dump(matcher: Matcher, questions: list[str], out=print, deep: bool = True) -> None:  # type: ignore[no-untyped-def]
    for q in questions:
        out(f"Q {q[:80]!r} -> {describe(matcher.match(q))}")
        if deep:
            out(f"  E {evidence(matcher, q)}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exact", action="store_true", help="floats in full; run with a fixed PYTHONHASHSEED "
                    "(sums over a set of words follow its hash order)")
    ap.add_argument("--scaled", type=int, default=0, help="also the dev questions on an N-times synthetic KB")
    args = ap.parse_args()
    global EXACT
    EXACT = args.exact
    entries = load()
    matcher = Matcher(entries)
    questions = [c.question for c in dev_cases()]
    dump(matcher, questions + HARD)
    for n, dialogue in enumerate(read_dialogues("dev")):
        conv = Conversation(matcher)
        now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
        for minutes, text, _ in dialogue:
            now += dt.timedelta(minutes=minutes)
            print(f"D{n} {text!r} -> {describe(conv.ask(text, now))}")
    if args.scaled > 1:
        dump(Matcher(synthetic(entries, args.scaled)), questions, deep=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
