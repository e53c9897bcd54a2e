"""Three follow-up ideas tried and dropped in round 19 (r19-dlg), measured on the dev dialogues' halves.

    python benchmarks/followup_ideas.py           # counts for dev half a and half b, and the r batch
    python benchmarks/followup_ideas.py --show    # also half a's turns (misses are read on half a only)

Plays every DEV dialogue (never test.tsv) with the shipped calibration, earlier turns as expected (the
expected entry tapped when offered), and looks at each later turn inside the 10-minute window. For the
turns the bot leaves as choices, what each idea would answer instead: the expected entry (a win), another
(a follow-up answered wrong), or nothing.

- `only related`: the one offered entry related to the previous answer (it lists it, or is listed by it),
  wherever offered (`only_related_first` and `related_first` ask it to be first).
- `parallel anywhere`: when nothing offered is related, the offered entry whose title shares strictly the
  most rare words of the previous title, wherever offered, naming the message's own words or not (round
  16's `parallel_title` asked it to be first; round 19's asks the title to name the own words).
- `substituted`: for "còn X thì sao", the first entry (the previous one aside) the matcher ranks for the
  previous title followed by X, when the bot offers it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from faq_eval import OFFERED, accepted, dev_half, read_dialogues
from fit_followups import HASH_SEED, dialogue_ids
from hash_seed import rerun_with

from knowledge import followup
from knowledge.calibration import CALIBRATION_FILE, Calibration
from knowledge.loader import Entry, load
from knowledge.matcher import Match, Matcher
from knowledge.normalize import fold


def only_related(m: Match, prev: Entry) -> str | None:
    near = [s.entry.id for s in m.offered if followup._related(s.entry, prev)]
    return near[0] if len(near) == 1 else None


def parallel_anywhere(matcher: Matcher, m: Match, prev: Entry, text: str) -> str | None:
    if any(followup._related(s.entry, prev) for s in m.offered):
        return None
    prev_words = set(followup._content(prev.title)) - set(followup._content(text))
    weight = followup._title_idf(tuple(e.title for e in matcher.entries))
    shared = [sum(weight.get(w, 0.0) for w in set(followup._content(s.entry.title)) & prev_words) for s in m.offered]
    best = max(range(len(shared)), key=lambda k: shared[k])
    if shared[best] <= 0 or any(shared[best] <= n for k, n in enumerate(shared) if k != best):
        return None
    return m.offered[best].entry.id


def substituted(matcher: Matcher, m: Match, prev: Entry, text: str) -> str | None:
    if followup.bare(text) or not followup._NAMES_RE.match(" ".join(fold(text).split())):
        return None
    s = matcher.match(f"{prev.title} {followup._own_words(text)}")
    pick = next((x.entry.id for x in s.ranked if x.entry.id != prev.id), None)
    return pick if pick in {x.entry.id for x in m.offered} else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--show", action="store_true", help="print half a's turns each idea would answer")
    args = ap.parse_args(argv)
    if (code := rerun_with(HASH_SEED, __file__)) is not None:
        return code
    matcher = Matcher(load(), Calibration.load(CALIBRATION_FILE))
    counts: dict[str, Counter[str]] = {}
    for ident, dialogue in zip(dialogue_ids(), read_dialogues("dev"), strict=True):
        groups = [f"half {dev_half(dialogue[0][1])}"] + (["r batch"] if ident.startswith("r") else [])
        conv, now = followup.Conversation(matcher), dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
        for i, (minutes, text, expected) in enumerate(dialogue):
            now += dt.timedelta(minutes=minutes)
            ctx = conv.ctx
            m = conv.ask(text, now)
            hit = [s.entry.id for s in m.choices if s.entry.id in accepted(expected)]
            if hit:
                conv.pick(m, hit[0], now)
            if not i or m.status != "choices" or ctx is None or not ctx.fresh(now) or ctx.entry_id not in matcher.index:
                continue
            if OFFERED in expected and hit:
                continue  # meant to be offered
            prev = matcher.entries[matcher.index[ctx.entry_id]]
            picks = {"only related": only_related(m, prev),
                     "parallel anywhere": parallel_anywhere(matcher, m, prev, text),
                     "substituted": substituted(matcher, m, prev, text)}
            for idea, pick in picks.items():
                outcome = "nothing" if pick is None else "win" if pick in accepted(expected) else "wrong"
                for g in groups:
                    counts.setdefault(g, Counter())[f"{idea}: {outcome}"] += 1
                if args.show and groups[0] == "half a" and pick is not None:
                    print(f"  {ident} turn {i + 1} {text!r}: {idea} -> {pick} ({outcome})")
    for g in ("half a", "half b", "r batch"):
        c = counts.get(g, Counter())
        print(f"{g}: {sum(c.values()) // 3} follow-ups left as choices")
        for idea in ("only related", "parallel anywhere", "substituted"):
            print(f"  {idea:18} wins {c[idea + ': win']}, answered wrong {c[idea + ': wrong']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
