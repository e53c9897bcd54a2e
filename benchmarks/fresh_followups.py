"""Round 16's five follow-up rules on dev dialogues nobody tuned them on (r16-dlg9).

    python benchmarks/fresh_followups.py            # the p* dev dialogues
    python benchmarks/fresh_followups.py --prefix n # another batch's dev dialogues
    python benchmarks/fresh_followups.py --prefix r --every-rule  # every rule fit_followups.py switches

Plays the DEV dialogues whose id starts with `--prefix` (never test.tsv) with the shipped calibration
and every rule on, with each of the five rules added in r16-follow7 switched off in turn (the switches
of fit_followups.py `--rules`), and with all five off. For each configuration: dialogues all right and
follow-up turns answered wrong. Then, with all rules on, the dialogues on which each rule fired (its
condition held, so it decided the turn; for CUE_LISTED_BY, a flag inside the topic reading's scoring:
the dialogues whose turns come out differently with it off). With `--every-rule`, each of the other rules
and weights `fit_followups.py --rules` switches is switched off in turn too (r19-dlg).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from faq_eval import read_dialogues, run_dialogues
from fit_followups import HASH_SEED, _off, dialogue_ids
from hash_seed import rerun_with

from knowledge import followup
from knowledge.calibration import CALIBRATION_FILE, Calibration
from knowledge.loader import load
from knowledge.matcher import Matcher

RULES = ("only related first", "cue listed by", "own words agree", "related over stranger", "parallel title")
FUNCTIONS = {"only related first": "only_related_first", "own words agree": "own_words_agree",
             "related over stranger": "related_over_stranger", "parallel title": "parallel_title"}


# Every switch of fit_followups.py `--rules` (`--every-rule`).
EVERY_RULE = ("single cue", "lost money", "concept bonus", "bare weight", "cue bonus", "related bonus",
              "own words on topic", "lost, not a fee", "named on topic", "related first", *RULES, "cue stays")
Result = tuple[bool, int, int, int, tuple[str, ...]]


def play(matcher: Matcher, dialogues: list[tuple[str, Any]]) -> dict[str, Result]:
    """Per dialogue id: all right, follow-up turns answered wrong, follow-up turns right, follow-up
    turns, and its missed turns as printed."""
    out = {}
    for ident, dialogue in dialogues:
        misses: list[str] = []
        r = run_dialogues(matcher, [dialogue], misses)
        right = round(r["followups_right"] * r["followups"])
        out[ident] = (r["dialogues_right"] == 1.0, int(r["followups_wrong"]), right, int(r["followups"]),
                      tuple(misses))
    return out


@contextlib.contextmanager
def watched(fired: dict[str, set[str]], current: list[str]) -> Any:
    """Record the dialogue (`current[0]`) each rule function fires on."""
    stack = contextlib.ExitStack()
    for name, attr in FUNCTIONS.items():
        real = getattr(followup, attr)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            result = _real(*args)
            if result:
                fired[_name].add(current[0])
            return result

        setattr(followup, attr, spy)
        stack.callback(setattr, followup, attr, real)
    with stack:
        yield


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prefix", default="p", help="dialogue ids starting with this (dev only)")
    ap.add_argument("--every-rule", action="store_true",
                    help="switch off each rule fit_followups.py --rules knows, not only round 16's five")
    args = ap.parse_args(argv)
    if (code := rerun_with(HASH_SEED, __file__)) is not None:
        return code
    matcher = Matcher(load(), Calibration.load(CALIBRATION_FILE))
    dialogues = [(i, d) for i, d in zip(dialogue_ids(), read_dialogues("dev"), strict=True)
                 if i.startswith(args.prefix)]
    n = len(dialogues)
    configs: dict[str, dict[str, Result]] = {}
    fired: dict[str, set[str]] = defaultdict(set)
    current = [""]
    with watched(fired, current):
        base = {}
        for ident, dialogue in dialogues:
            current[0] = ident
            base.update(play(matcher, [(ident, dialogue)]))
    configs["all on"] = base
    for name in EVERY_RULE if args.every_rule else RULES:
        with _off(name):
            configs[f"{name} off"] = play(matcher, dialogues)
    with contextlib.ExitStack() as stack:
        for name in RULES:
            stack.enter_context(_off(name))
        configs["all five off"] = play(matcher, dialogues)
    print(f"{n} dev dialogues '{args.prefix}*': dialogues all right, follow-up turns right "
          "and answered wrong")
    for name, res in configs.items():
        right = sum(r[0] for r in res.values())
        wrong = sum(r[1] for r in res.values())
        f_right, f_n = sum(r[2] for r in res.values()), sum(r[3] for r in res.values())
        changed = [i for i in res if res[i] != base[i]]
        won = [i for i in changed if base[i][0] and not res[i][0]]
        lost = [i for i in changed if res[i][0] and not base[i][0]]
        print(f"  {name:26} {right:3d}/{n} ({right / max(n, 1):.1%}), follow-ups right {f_right}/{f_n}, {wrong} wrong; "
              f"differs from all on: "
              f"{' '.join(changed) or '-'} (right only with it on: {' '.join(won) or '-'}; "
              f"right only with it off: {' '.join(lost) or '-'})")
    print("fired with all rules on:")
    for name in RULES:
        ids = sorted(fired[name]) if name in FUNCTIONS else \
            [i for i in base if configs[f"{name} off"][i] != base[i]]
        print(f"  {name:26} {' '.join(ids) or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
