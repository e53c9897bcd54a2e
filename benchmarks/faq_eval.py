"""FAQ evaluation on the dev or held-out test halves, beside two baselines fitted on dev.

    make eval                                   # dev halves: figures, then every miss
    python benchmarks/faq_eval.py --dev-half a  # one half of dev: a with misses, b figures only
    python benchmarks/faq_eval.py --split test  # held-out halves: figures only, never misses
    python benchmarks/faq_eval.py --write-floor # record the dev figures in benchmarks/eval/floor.json

Three sets, each split into dev and test when it was collected (never re-split):

- member-typed: benchmarks/eval/*.tsv (question<TAB>expected_id, `none` = out of scope); odd rows
  of each file are dev, even rows test; files named *.dev.tsv are dev only;
- real: benchmarks/eval/real/{dev,test}.tsv (question, expected, source), split by source page.
  expected is an id, `id1|id2`, `none`, or `gap:<what>` (in scope, no entry yet: skipped, counted);
- dialogues: benchmarks/eval/dialogues/{dev,test}.tsv (dialogue, minutes since the last turn,
  text, expected), played through knowledge.followup.Conversation.

`--dev-half a|b` scores one fixed half of dev (`dev_half`: a bit of sha1): real rows by source address, so a
page stays whole, member-typed rows by question, dialogues by their first turn. Read misses on
half a only; half b prints figures only, so a change tuned on a can be judged on questions nobody read.

Baselines on the same knowledge base: plain BM25 (one document per entry: title + phrasings +
answer, lower-cased words, no other normalisation) and rapidfuzz token_set_ratio with
utils.default_process over the phrasings. Each gets the one acceptance threshold that gives the best
top-1 on the dev halves within wrong <= 3% and out-of-scope false accepts <= 5%; that threshold
is then applied unchanged to whichever split is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz, process, utils

from knowledge.followup import Conversation
from knowledge.loader import Entry, load, load_aliases, resolve
from knowledge.matcher import Matcher

EVAL_DIR = Path(__file__).parent / "eval"
REAL_DIR = EVAL_DIR / "real"
DIALOGUE_DIR = EVAL_DIR / "dialogues"
FLOOR_FILE = EVAL_DIR / "floor.json"
ALIASES = load_aliases()
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


def accepted(expected: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for ident in expected:
        out |= next((g for g in EQUIVALENT if ident in g), {ident})
    return out


@dataclass
class Case:
    question: str
    expected: tuple[str, ...]  # () = out of scope
    source: str
    # The row's line in its file (1-based, the header is line 1); set for real questions, 0 otherwise.
    line: int = field(default=0, compare=False)

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


def _numbered_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Each non-blank row after the header with its line number (1-based, the header is line 1)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(n, [c.strip() for c in line.split("\t")]) for n, line in enumerate(lines[1:], start=2) if line.strip()]


def _rows(path: Path) -> list[list[str]]:
    return [row for _, row in _numbered_rows(path)]


def _expected(value: str) -> tuple[str, ...]:
    """The ids of an `expected` cell; an entry merged into another (knowledge/aliases.yaml) counts as that one."""
    if value in {"none", ""}:
        return ()
    return tuple(dict.fromkeys(resolve(v.strip(), ALIASES) for v in value.split("|") if v.strip()))


HALVES = ("a", "b")


def dev_half(key: str) -> str:
    """The half of dev ("a" or "b") a row falls in: the parity of int(sha1(key)) // 2. Not of sha1 itself:
    that bit already splits real pages into dev (even) and test (see benchmarks/eval/real/README.md)."""
    return HALVES[hashlib.sha1(key.encode("utf-8")).digest()[-1] >> 1 & 1]


def _in_half(key: str, half: str | None) -> bool:
    return half is None or dev_half(key) == half


def read_member(split: str, half: str | None = None) -> list[Case]:
    """Member-typed questions: odd rows of each file are dev, even rows test; *.dev.tsv is dev only.
    With `half`, only the dev rows whose question falls in that half."""
    cases = []
    for path in sorted(EVAL_DIR.glob("*.tsv")):
        dev_only = path.name.endswith(".dev.tsv")
        if dev_only and split != "dev":
            continue
        for n, row in enumerate(_rows(path)):
            if not dev_only and (split == "dev" and n % 2 or split == "test" and not n % 2):
                continue
            if _in_half(row[0], half):
                cases.append(Case(row[0], _expected(row[1] if len(row) > 1 else ""), path.name.split(".")[0]))
    return cases


def read_real(split: str, half: str | None = None) -> tuple[list[Case], int]:
    """Real questions of one split, and how many `gap:` rows (in scope, no entry yet) were skipped.
    With `half`, only the rows whose source address falls in that half of dev."""
    path = REAL_DIR / f"{split}.tsv"
    if not path.is_file():
        return [], 0
    cases, gaps = [], 0
    for n, row in _numbered_rows(path):
        expected = row[1] if len(row) > 1 else ""
        if not _in_half(row[2] if len(row) > 2 else "", half):
            continue
        if expected.startswith("gap:"):
            gaps += 1
            continue
        cases.append(Case(row[0], _expected(expected), row[2] if len(row) > 2 else "", line=n))
    return cases, gaps


def read_dialogues(split: str, half: str | None = None) -> list[list[tuple[float, str, tuple[str, ...]]]]:
    """Dialogues of one split; with `half`, those whose first turn falls in that half of dev."""
    path = DIALOGUE_DIR / f"{split}.tsv"
    if not path.is_file():
        return []
    dialogues: dict[str, list[tuple[float, str, tuple[str, ...]]]] = {}
    for row in _rows(path):
        dialogues.setdefault(row[0], []).append((float(row[1] or 0), row[2], _expected(row[3])))
    return [d for d in dialogues.values() if _in_half(d[0][1], half)]


def test_questions() -> list[str]:
    """Every held-out question of both sets (used only to keep them out of the knowledge base)."""
    return [c.question for c in read_member("test")] + [c.question for c in read_real("test")[0]]


@dataclass
class Outcome:
    status: str  # answer | choices | none
    answer: str | None
    choices: tuple[str, ...] = ()
    top3: tuple[str, ...] = ()


def right(case: Case, o: Outcome) -> bool:
    if case.in_scope:
        return o.status == "answer" and o.answer in accepted(case.expected)
    return o.status != "answer"


def score(cases: list[Case], outcomes: list[Outcome]) -> dict[str, float]:
    pairs = list(zip(cases, outcomes, strict=True))
    inscope = [(c, o) for c, o in pairs if c.in_scope]
    oos = [o for c, o in pairs if not c.in_scope]
    top1 = sum(right(c, o) for c, o in inscope)
    offered = sum(right(c, o) or (o.status == "choices" and bool(accepted(c.expected) & set(o.choices)))
                  for c, o in inscope)
    wrong = sum(o.status == "answer" and not right(c, o) for c, o in inscope)
    top3 = sum(bool(accepted(c.expected) & set(o.top3)) for c, o in inscope)
    first = sum(bool(o.top3) and o.top3[0] in accepted(c.expected) for c, o in inscope)
    n_in, n_oos = max(len(inscope), 1), max(len(oos), 1)
    return {
        "in_scope": len(inscope), "out_of_scope": len(oos),
        "top1": top1 / n_in, "answered_or_offered": offered / n_in,
        "wrong_in_scope": wrong / n_in, "oos_false_accept": sum(o.status == "answer" for o in oos) / n_oos,
        "oos_offered": sum(o.status == "choices" for o in oos) / n_oos,
        "wrong_all": (wrong + sum(o.status == "answer" for o in oos)) / max(len(pairs), 1),
        "top3_ranked": top3 / n_in, "top1_ranked": first / n_in,
    }


def run_matcher(matcher: Matcher, cases: list[Case]) -> tuple[list[Outcome], list[float]]:
    outcomes, times = [], []
    for case in cases:
        t0 = time.perf_counter()
        m = matcher.match(case.question)
        times.append(time.perf_counter() - t0)
        best = m.best.entry.id if m.best else None
        outcomes.append(Outcome(m.status, best if m.status == "answer" else None,
                                tuple(s.entry.id for s in m.choices), tuple(s.entry.id for s in m.ranked[:3])))
    return outcomes, times


# In a dialogue's `expected` cell ("x|(choices)"): the turn is also right when x is offered among choices
# (a question meant to be unclear on its own); the person taps it and the next turn follows it.
OFFERED = "(choices)"


def run_dialogues(matcher: Matcher, dialogues: list, misses: list | None = None) -> dict[str, float]:  # type: ignore[type-arg]
    """A dialogue is right when every turn is: the expected entry answered (or, for `none`, nothing
    answered; with OFFERED, answered or offered). A turn answered with choices holding the expected
    entry counts as offered; the simulated person then taps it, as a member would."""
    turns_right = follow_right = follow_n = follow_wrong = follow_answered = offered = dialogues_right = 0
    n_turns = 0
    for dialogue in dialogues:
        conv = Conversation(matcher)
        now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
        all_right = True
        for i, (minutes, text, expected) in enumerate(dialogue):
            now += dt.timedelta(minutes=minutes)
            m = conv.ask(text, now)
            best = m.best.entry.id if m.best else None
            hit = [s.entry.id for s in m.choices if s.entry.id in accepted(expected)]
            ok = (m.status == "answer" and best in accepted(expected)) if expected else m.status != "answer"
            if OFFERED in expected and hit and m.status == "choices":
                ok = True
                offered += 1
                conv.pick(m, hit[0], now)
            n_turns += 1
            turns_right += ok
            if i:
                follow_n += 1
                follow_right += ok
                follow_wrong += m.status == "answer" and not ok
                follow_answered += m.status == "answer"
            if not ok:
                all_right = False
                if misses is not None:
                    misses.append(f"  turn {i + 1} [{m.status}:{','.join(s.entry.id for s in m.ranked[:3])}] "
                                  f"{text!r} expected {'|'.join(expected) or 'none'}")
                if hit:
                    offered += 1
                    conv.pick(m, hit[0], now)
        dialogues_right += all_right
    return {"dialogues": len(dialogues), "turns": n_turns, "dialogues_right": dialogues_right / max(len(dialogues), 1),
            "turns_right": turns_right / max(n_turns, 1), "followups_right": follow_right / max(follow_n, 1),
            "turns_offered": offered / max(n_turns, 1), "followups": follow_n, "followups_wrong": follow_wrong,
            "followups_answered": follow_answered}


class Baseline:
    """Best-scoring document's entry; answer when the score reaches a threshold fitted on dev."""

    name = ""

    def ranked(self, question: str) -> list[tuple[str, float]]:
        raise NotImplementedError

    def run(self, cases: list[Case], threshold: float) -> tuple[list[Outcome], list[float]]:
        out, times = [], []
        for c in cases:
            t0 = time.perf_counter()
            ranked = self.ranked(c.question)
            times.append(time.perf_counter() - t0)
            ident, s = ranked[0] if ranked else (None, 0.0)
            top3 = tuple(dict.fromkeys(i for i, _ in ranked))[:3]
            status = "answer" if ident and s >= threshold else "none"
            out.append(Outcome(status, ident if status == "answer" else None, (), top3))
        return out, times

    def fit(self, cases: list[Case]) -> float:
        """The threshold with the best dev top-1 within the error budgets."""
        outcomes, _ = self.run(cases, 0.0)
        scores = {c.question: (self.ranked(c.question)[:1] or [(None, 0.0)])[0][1] for c in cases}
        best, best_t = -1.0, math.inf
        for t in sorted(set(scores.values())):
            trial = [o if scores[c.question] >= t else Outcome("none", None, (), o.top3)
                     for c, o in zip(cases, outcomes, strict=True)]
            m = score(cases, trial)
            if m["wrong_all"] <= WRONG_BUDGET and m["oos_false_accept"] <= OOS_BUDGET and m["top1"] > best:
                best, best_t = m["top1"], t
        return best_t


class RapidfuzzBaseline(Baseline):
    name = "rapidfuzz token_set"

    def __init__(self, entries: list[Entry]) -> None:
        self.phrases = [(utils.default_process(q), e.id) for e in entries for q in (e.title, *e.questions)]
        self.choices = [p for p, _ in self.phrases]

    def ranked(self, question: str) -> list[tuple[str, float]]:
        hits = process.extract(utils.default_process(question), self.choices, scorer=fuzz.token_set_ratio, limit=10)
        return [(self.phrases[i][1], s) for _, s, i in hits]


class BM25Baseline(Baseline):
    name = "plain BM25"

    def __init__(self, entries: list[Entry]) -> None:
        self.ids = [e.id for e in entries]
        self.docs = [utils.default_process(" ".join((e.title, *e.questions, e.answer))).split() for e in entries]
        self.df: Counter[str] = Counter(t for d in self.docs for t in set(d))
        self.n = len(self.docs)
        self.avg = sum(map(len, self.docs)) / max(self.n, 1)
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, d in enumerate(self.docs):
            for t, tf in Counter(d).items():
                self.postings[t].append((i, tf))

    def ranked(self, question: str) -> list[tuple[str, float]]:
        scores: dict[int, float] = defaultdict(float)
        for t in set(utils.default_process(question).split()):
            if t not in self.df:
                continue
            idf = math.log(1 + (self.n - self.df[t] + 0.5) / (self.df[t] + 0.5))
            for i, tf in self.postings[t]:
                scores[i] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(self.docs[i]) / self.avg))
        top = sorted(scores.items(), key=lambda kv: -kv[1])[:10]
        return [(self.ids[i], s) for i, s in top]


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
    return values[min(len(values) - 1, int(q * len(values)))] * 1e3 if values else 0.0


@dataclass
class Report:
    split: str
    sets: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # set -> system -> metrics
    dialogues: dict[str, float] = field(default_factory=dict)
    gaps: int = 0


def dev_cases() -> list[Case]:
    return read_member("dev") + read_real("dev")[0]


def evaluate(split: str, entries: list[Entry] | None = None, baselines: bool = True,
             show_misses: bool = False, out=print, half: str | None = None) -> Report:  # type: ignore[no-untyped-def]
    """`half` (dev only): score one half of dev; misses are listed for half a only."""
    if half is not None and split != "dev":
        raise ValueError("a half is a half of dev")
    show_misses = show_misses and half != "b"
    entries = entries if entries is not None else load()
    matcher = Matcher(entries)
    matcher.match("khởi động")  # warm caches
    sets = {"member-typed": read_member(split, half)}
    real, gaps = read_real(split, half)
    if real:
        sets["real"] = real
    report = Report(split, gaps=gaps)
    dev_sets = {"member-typed": read_member("dev"), "real": read_real("dev")[0]}
    systems: list[tuple[str, Baseline]] = []
    if baselines:
        systems = [(b.name, b) for b in (BM25Baseline(entries), RapidfuzzBaseline(entries))]
    thresholds: dict[str, list[str]] = defaultdict(list)
    times: dict[str, list[float]] = defaultdict(list)
    for name, cases in sets.items():
        outcomes, t = run_matcher(matcher, cases)
        times["tcns"] += t
        report.sets[name] = {"tcns": score(cases, outcomes)}
        for bname, b in systems:
            threshold = b.fit(dev_sets[name])  # fitted on this set's dev half, whatever is printed
            thresholds[bname].append(f"{name} {threshold:.2f}")
            b_out, b_t = b.run(cases, threshold)
            times[bname] += b_t
            report.sets[name][bname] = score(cases, b_out)
        if show_misses and split == "dev":
            report.sets[name]["_misses"] = [(c, o) for c, o in zip(cases, outcomes, strict=True)  # type: ignore[assignment]
                                            if not right(c, o)]
    dialogue_misses: list[str] | None = [] if show_misses and split == "dev" else None
    report.dialogues = run_dialogues(matcher, read_dialogues(split, half), dialogue_misses)
    out(f"Knowledge base: {len(entries)} entries, {len(matcher.keys)} phrasings. Split: {split}"
        + (f", half {half}" + (" (figures only)" if half == "b" else "") if half else "")
        + (" (held out: figures only)" if split == "test" else ""))
    rows = [("top-1 right (in scope)", "top1"), ("answered or offered", "answered_or_offered"),
            ("wrong answers (in scope)", "wrong_in_scope"), ("out-of-scope answered", "oos_false_accept"),
            ("out-of-scope offered choices", "oos_offered"), ("ranked first (no threshold)", "top1_ranked"),
            ("in top 3 (no threshold)", "top3_ranked")]
    names = ["tcns"] + [n for n, _ in systems]
    for set_name, by_system in report.sets.items():
        m = by_system["tcns"]
        out("")
        out(f"{set_name} ({split}): {int(m['in_scope'])} in scope, {int(m['out_of_scope'])} out of scope"
            + (f"; {gaps} `gap:` rows skipped (in scope, no entry yet)" if set_name == "real" else ""))
        out(f"{'':<32}" + "".join(f"{n:>22}" for n in names))
        for label, k in rows:
            out(f"{label:<32}" + "".join(f"{by_system[n][k]:>22.1%}" for n in names))
    d = report.dialogues
    if d.get("dialogues"):
        out("")
        out(f"dialogues ({split}): {d['dialogues']} dialogues, {d['turns']} turns: all turns right "
            f"{d['dialogues_right']:.1%}, follow-up turns right {d['followups_right']:.1%}, "
            f"turns right {d['turns_right']:.1%}, turns offered as a choice {d['turns_offered']:.1%}, "
            f"follow-up turns answered wrong {d['followups_wrong']} of {d['followups']}")
    out("")
    for name in names:
        t = times[name]
        out(f"latency per question, {name:<20} p50 {pct(t, .5):7.3f} ms  p99 {pct(t, .99):7.3f} ms  "
            f"mean {sum(t) / max(len(t), 1) * 1e3:7.3f} ms")
    if systems:
        bm = times[systems[0][0]]
        out(f"tcns / plain BM25 mean cost: {sum(times['tcns']) / max(sum(bm), 1e-9):.1f}x")
        out("baseline thresholds, fitted on each set's dev half (best top-1 within wrong <= 3% and out of scope "
            "<= 5%): " + "; ".join(f"{n}: {', '.join(thresholds[n])}" for n, _ in systems))
    for set_name, by_system in report.sets.items():
        misses = by_system.pop("_misses", None)
        if misses:
            out("")
            out(f"misses, {set_name} (dev):")
            for c, o in misses:  # type: ignore[union-attr]
                shown = o.answer or ",".join(o.choices) or "-"
                out(f"  [{o.status}:{shown}] {c.question[:150]!r} expected {'|'.join(c.expected) or 'none'} "
                    f"| top3 {','.join(o.top3)}")
    if dialogue_misses:
        out("")
        out("misses, dialogues (dev):")
        for line in dialogue_misses:
            out(line)
    return report


def scaling(entries: list[Entry], out=print, repeats: int = 3) -> None:  # type: ignore[no-untyped-def]
    """Match latency with the shipped knowledge base and one 10 times larger. Each question is timed
    `repeats` times: the first run, and the fastest run (which leaves out pauses caused by other jobs).
    Also in CPU time (`time.thread_time`): on a shared machine a single run's wall-clock p99 is mostly a
    wait for a core (at load 4 on two cores, ~5 ms for us and for plain BM25 alike), its CPU time not."""
    questions = [c.question for c in dev_cases()]
    for factor in (1, 10):
        big = synthetic(entries, factor)
        t0 = time.perf_counter()
        matcher = Matcher(big)
        build = time.perf_counter() - t0
        matcher.match("khởi động")
        first, fastest, first_cpu, fastest_cpu = [], [], [], []
        for q in questions:
            runs, cpu = [], []
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.thread_time()
                matcher.match(q)
                cpu.append(time.thread_time() - c0)
                runs.append(time.perf_counter() - t0)
            first.append(runs[0])
            fastest.append(min(runs))
            first_cpu.append(cpu[0])
            fastest_cpu.append(min(cpu))
        out(f"KB x{factor}: {len(big)} entries / {len(matcher.keys)} phrasings: build {build:.2f} s; "
            f"{len(questions)} dev questions, first run p50 {pct(first, .5):.3f} ms p99 {pct(first, .99):.3f} ms; "
            f"fastest of {repeats} p50 {pct(fastest, .5):.3f} ms p99 {pct(fastest, .99):.3f} ms")
        out(f"  CPU time: first run p50 {pct(first_cpu, .5):.3f} ms p99 {pct(first_cpu, .99):.3f} ms; "
            f"fastest of {repeats} p50 {pct(fastest_cpu, .5):.3f} ms p99 {pct(fastest_cpu, .99):.3f} ms")


def floor_figures(report: Report) -> dict[str, float]:
    figures = {}
    for set_name, by_system in report.sets.items():
        figures[f"{set_name}.top1"] = round(by_system["tcns"]["top1"], 4)
        figures[f"{set_name}.answered_or_offered"] = round(by_system["tcns"]["answered_or_offered"], 4)
    if report.dialogues.get("dialogues"):
        figures["dialogues.right"] = round(report.dialogues["dialogues_right"], 4)
    return figures


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["dev", "test"], default="dev",
                    help="dev (default): the halves used for tuning; test: held out, figures only")
    ap.add_argument("--misses", action="store_true", help="list the questions not answered right (dev only; "
                    "the default on dev)")
    ap.add_argument("--no-misses", action="store_true", help="figures only, also on dev")
    ap.add_argument("--dev-half", choices=HALVES, help="score one half of dev: a (with misses) or b (figures only: "
                    "the half a change tuned on a is judged on)")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--scaling", action="store_true", help="also time the matcher with a 10x knowledge base")
    ap.add_argument("--write-floor", action="store_true", help=f"record the dev figures in {FLOOR_FILE.name}")
    args = ap.parse_args()
    if args.misses and args.split != "dev":
        ap.error("misses are printed for the dev split only; the test half stays unseen")
    if args.dev_half and (args.split != "dev" or args.write_floor):
        ap.error("--dev-half scores one half of dev; the floor is recorded on all of dev")
    if args.misses and args.dev_half == "b":
        ap.error("half b prints figures only: changes are judged on it unread")
    report = evaluate(args.split, baselines=not args.no_baselines,
                      show_misses=args.split == "dev" and not args.no_misses, half=args.dev_half)
    if args.scaling:
        print()
        scaling(load())
    print("\n(The machine is shared with other jobs; latency figures are noisy.)")
    if args.write_floor:
        if args.split != "dev":
            ap.error("the floor is recorded from the dev split")
        FLOOR_FILE.write_text(json.dumps(floor_figures(report), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"Floor written to {FLOOR_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
