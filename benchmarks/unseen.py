"""How much knowledge-base phrasings written from dev questions flatter the dev figures and the calibration.

    python benchmarks/unseen.py                 # near-copy distributions, git-history contrast, unseen view
    python benchmarks/unseen.py --tau 0.8 0.9   # the unseen view at these similarity cut-offs

Reads the DEV halves only (member-typed dev rows, *.dev.tsv, benchmarks/eval/real/dev.tsv and the
dev dialogues' first turns); never a held-out row.

1. Near copies. Each dev question's nearest knowledge-base phrasing (an entry's `questions`, not its
   title) by `similarity`: the F1 of the two texts' normalised word sets (knowledge.normalize.key:
   accents folded, abbreviations expanded, multi-word terms joined, stop words dropped). Counted per
   set at 0.9 / 0.8 / 0.7, over every entry's phrasings and over the right entry's only.
2. The git-history contrast. A phrasing added to knowledge/data after a dev row was committed may
   have been written from it; one that was there before cannot have been. For each dev row, its
   nearest right-entry phrasing among those that were there before the row and among those added
   with or after it (first time each text appears in `git log -p`; the KB files were first
   committed whole on 2026-11-22, so phrasings of that commit count as "before" only for rows committed later).
3. The unseen view. FOLDS folds of the dev questions that the calibration is fitted on (member-typed
   and real; real questions grouped by source page, fit_calibration.group_folds, seed 0); for each
   fold a Matcher on the knowledge base without the right entries' phrasings whose similarity to one
   of that fold's questions is `tau` or more (entries keep title, short, answer and other phrasings).
   The fold's questions are then matched with it, at the shipped calibration: the dev figures a
   question would get if no phrasing had been written from it. `unseen_pool` gives the same view's
   evidence to benchmarks/fit_calibration.py (`--unseen TAU`).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from faq_eval import EVAL_DIR, Case, accepted, read_dialogues, read_member, read_real, run_matcher, score

from knowledge.calibration import Calibration
from knowledge.loader import Entry, load
from knowledge.matcher import Evidence, Matcher
from knowledge.normalize import key

ROOT = Path(__file__).resolve().parent.parent
CUTS = (0.9, 0.8, 0.7)
FOLDS = 5
TAUS = (0.9, 0.8, 0.7)
PRUNE = {"all": "every near phrasing of the right entry", "later": "only those that came with or after the row"}


def words(text: str) -> frozenset[str]:
    return frozenset(key(text).split())


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """The F1 of two normalised word sets: 1 for the same words, 0 for none shared."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


@dataclass
class Row:
    """One dev question: its set, text, accepted entry ids (empty: out of scope) and fold group."""

    set: str
    question: str
    ok: frozenset[str]
    group: str


def dev_rows(dialogues: bool = True) -> list[Row]:
    rows = [Row("member", c.question, frozenset(accepted(c.expected)) if c.in_scope else frozenset(), f"q:{i}")
            for i, c in enumerate(read_member("dev"))]
    rows += [Row("real", c.question, frozenset(accepted(c.expected)) if c.in_scope else frozenset(),
                 f"real:{c.source}" if c.source else f"r:{i}") for i, c in enumerate(read_real("dev")[0])]
    if dialogues:
        rows += [Row("dialogue first turns", d[0][1], frozenset(accepted(d[0][2])), f"d:{i}")
                 for i, d in enumerate(read_dialogues("dev"))]
    return rows


def nearest(q: frozenset[str], phrasings: list[tuple[str, frozenset[str]]], ok: frozenset[str] | None = None) -> float:
    """The highest similarity of `q` to the phrasings (of the entries `ok` only, when given)."""
    return max((similarity(q, w) for ident, w in phrasings if ok is None or ident in ok), default=0.0)


def distribution(rows: list[Row], entries: list[Entry]) -> list[str]:
    phrasings = [(e.id, words(p)) for e in entries for p in e.questions]
    out = ["near copies: dev questions whose nearest phrasing has similarity >= cut (word-set F1 on normalize.key)"]
    for name in dict.fromkeys(r.set for r in rows):
        sel = [r for r in rows if r.set == name]
        inscope = [r for r in sel if r.ok]
        any_best = np.array([nearest(words(r.question), phrasings) for r in sel])
        right_best = np.array([nearest(words(r.question), phrasings, r.ok) for r in inscope])
        out.append(f"  {name} ({len(sel)} questions, {len(inscope)} in scope): any entry "
                   + ", ".join(f">={c}: {(any_best >= c).mean():.1%}" for c in CUTS)
                   + f" (=1.0: {(any_best >= 1 - 1e-9).mean():.1%}); right entry "
                   + ", ".join(f">={c}: {(right_best >= c).mean():.1%}" for c in CUTS)
                   + f" (=1.0: {(right_best >= 1 - 1e-9).mean():.1%}); median any {np.median(any_best):.2f}")
    return out


_PHRASING = re.compile(r"^\+\s+- (.+)$")


def first_seen(paths: list[str], wanted: set[str] | None = None, root: Path = ROOT) -> dict[str, int]:
    """The commit time (epoch seconds) at which each text first appears as an added line in `paths`:
    for knowledge/data, list items (phrasings); for .tsv files, a row's first cell. `wanted`: the
    texts (normalised) to record; others are skipped (the member-typed files hold held-out rows too)."""
    log = subprocess.run(["git", "log", "-p", "--reverse", "--format=@@C %ct", "--", *paths], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    seen: dict[str, int] = {}
    t, tsv = 0, False
    for line in log.splitlines():
        if line.startswith("@@C "):
            t = int(line[4:])
        elif line.startswith("+++ "):
            tsv = line.endswith(".tsv")
        elif line.startswith("+") and not line.startswith("+++"):
            if tsv:
                text = line[1:].split("\t")[0]
            else:
                m = _PHRASING.match(line)
                if not m or ":" in m.group(1).split()[0]:  # (a source's `outlet:` etc.)
                    continue
                text = m.group(1).strip().strip('"').strip("'")
            k = key(text)
            if k and (wanted is None or k in wanted):
                seen[k] = min(seen.get(k, t), t)
    return seen


@dataclass
class Times:
    """When each dev row (by normalised text) and each phrasing first appeared in git (epoch seconds);
    `start`: the knowledge base's first commit (it was committed whole, written before)."""

    row: dict[str, int]
    phrasing: dict[str, int]
    start: int

    def row_time(self, question: str) -> int:
        return self.row.get(key(question), 0)

    def later(self, phrasing: str, question: str) -> bool:
        """Whether `phrasing` came with or after the row `question` (so may have been written from
        it); for a row older than the KB's first commit, whether it came after that commit."""
        return self.phrasing.get(key(phrasing), self.start) >= max(self.row_time(question), self.start + 1)


def times(rows: list[Row]) -> Times:
    member_files = [str(p.relative_to(ROOT)) for p in sorted(EVAL_DIR.glob("*.tsv"))]
    wanted = {key(r.question) for r in rows}
    row_time = first_seen(member_files + ["benchmarks/eval/real/dev.tsv"], wanted)
    # the dialogues' file: the text is the third cell, not the first
    log_rows = subprocess.run(["git", "log", "-p", "--reverse", "--format=@@C %ct", "--",
                               "benchmarks/eval/dialogues/dev.tsv"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    t = 0
    for line in log_rows.splitlines():
        if line.startswith("@@C "):
            t = int(line[4:])
        elif line.startswith("+") and not line.startswith("+++") and line.count("\t") >= 3:
            k = key(line[1:].split("\t")[2])
            if k in wanted:
                row_time[k] = min(row_time.get(k, t), t)
    kb_time = first_seen(["knowledge/data"])
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip()
    if not kb_time or not row_time or shallow == "true":
        raise SystemExit("unseen view: no git history for knowledge/data or the dev rows (a shallow clone?); "
                         "fetch the history, or fit on the whole knowledge base (fit_calibration.py --unseen)")
    return Times(row_time, kb_time, min(kb_time.values()))


def history(rows: list[Row], entries: list[Entry], when: Times) -> list[str]:
    """Each dev row's nearest right-entry phrasing among those there before the row and those added with or after it."""
    row_time, kb_time, start = when.row, when.phrasing, when.start
    out = ["git-history contrast: nearest right-entry phrasing among those there BEFORE the row was committed, "
           "and among those added WITH or AFTER it (share of the in-scope rows at >= cut; rows dated after the "
           "KB's first commit only)"]
    for name in dict.fromkeys(r.set for r in rows):
        sel = [r for r in rows if r.set == name and r.ok and row_time.get(key(r.question), 0) > start]
        undated = sum(1 for r in rows if r.set == name and r.ok) - len(sel)
        if not sel:
            out.append(f"  {name}: no rows dated after the KB's first commit ({undated} undated)")
            continue
        sims = []  # per row: the nearest phrasing there before it, added in its commit, added later
        for r in sel:
            q, t0 = words(r.question), row_time[key(r.question)]
            ps = [(words(p), kb_time.get(key(p), start)) for e in entries if e.id in r.ok for p in e.questions]
            sims.append([max((similarity(q, w) for w, tp in ps if keep(tp, t0)), default=0.0)
                         for keep in (lambda tp, t0: tp < t0, lambda tp, t0: tp == t0, lambda tp, t0: tp > t0)])
        b, same, a = np.array(sims).T
        w = np.maximum(same, a)
        out.append(f"  {name} ({len(sel)} rows; {undated} older or undated left out): before "
                   + ", ".join(f">={c}: {(b >= c).mean():.1%}" for c in CUTS) + "; with/after "
                   + ", ".join(f">={c}: {(w >= c).mean():.1%}" for c in CUTS)
                   + f"; rows whose only phrasing >= 0.8 came with them {((same >= 0.8) & (b < 0.8) & (a < 0.8)).sum()}"
                   + f", after them {((a >= 0.8) & (b < 0.8)).sum()}")
        # by when the row came: early rows have been read by more knowledge-base editors since
        t_rows = np.array([row_time[key(r.question)] for r in sel])
        cuts = np.quantile(t_rows, [1 / 3, 2 / 3])
        parts = []
        for label, m in (("first third", t_rows <= cuts[0]), ("middle", (t_rows > cuts[0]) & (t_rows <= cuts[1])),
                         ("last third", t_rows > cuts[1])):
            if m.any():
                now = np.maximum(b, w)[m]
                parts.append(f"{label} ({m.sum()} rows) any phrasing now >= 0.8 {(now >= 0.8).mean():.1%}, "
                             f"before the row {(b[m] >= 0.8).mean():.1%}")
        out.append("    by commit time: " + "; ".join(parts))
    return out


def pruned(entries: list[Entry], rows: list[Row], tau: float, when: Times | None = None) -> tuple[list[Entry], int]:
    """The entries without the phrasings of each row's right entries at similarity `tau` or more to
    that row's question (with `when`: only those that came with or after the row, Times.later),
    and how many phrasings went."""
    drop: dict[str, list[tuple[frozenset[str], str]]] = {}
    for r in rows:
        for ident in r.ok:
            drop.setdefault(ident, []).append((words(r.question), r.question))
    out, removed = [], 0
    for e in entries:
        qs = drop.get(e.id)
        if not qs:
            out.append(e)
            continue
        kept = tuple(p for p in e.questions
                     if not any(similarity(words(p), q) >= tau and (when is None or when.later(p, text)) for q, text in qs))
        removed += len(e.questions) - len(kept)
        out.append(replace(e, questions=kept))
    return out, removed


def fold_of(groups: list[str], seed: int = 0) -> np.ndarray:
    """Each row's fold: fit_calibration.group_folds' assignment for these groups (one source page, one fold)."""
    unique = sorted(set(groups))
    rank = {g: r for r, g in enumerate(np.random.default_rng(seed).permutation(len(unique)))}
    fold = {g: rank[k] % FOLDS for k, g in enumerate(unique)}
    return np.array([fold[g] for g in groups])


def fold_matchers(entries: list[Entry], rows: list[Row], tau: float, cal: Calibration,
                  when: Times | None = None, seed: int = 0) -> tuple[np.ndarray, list[Matcher], int]:
    """Each row's fold, and per fold a Matcher (calibration `cal`) on the KB without the phrasings
    near that fold's questions (pruned); the number of phrasings removed over the folds."""
    folds = fold_of([r.group for r in rows], seed)
    matchers, removed = [], 0
    for f in range(FOLDS):
        kb, n = pruned(entries, [r for r, k in zip(rows, folds, strict=True) if k == f], tau, when)
        removed += n
        matchers.append(Matcher(kb, cal))
    return folds, matchers, removed


def view_figures(matchers: list[Matcher] | Matcher, rows: list[Row], folds: np.ndarray) -> dict[str, dict[str, float]]:
    """faq_eval.score per set, each row matched by its fold's matcher (or by one matcher for all)."""
    cases = [Case(r.question, tuple(sorted(r.ok)), r.group) for r in rows]
    outcomes = [None] * len(rows)
    for f in range(FOLDS):
        idx = [i for i in range(len(rows)) if folds[i] == f]
        m = matchers if isinstance(matchers, Matcher) else matchers[f]
        got, _ = run_matcher(m, [cases[i] for i in idx])
        for i, o in zip(idx, got, strict=True):
            outcomes[i] = o  # type: ignore[call-overload]
    out = {}
    for name in dict.fromkeys(r.set for r in rows):
        idx = [i for i, r in enumerate(rows) if r.set == name]
        out[name] = score([cases[i] for i in idx], [outcomes[i] for i in idx])  # type: ignore[misc]
    return out


def line(name: str, s: dict[str, float]) -> str:
    return (f"{name}: ranked first {s['top1_ranked']:.1%}, top-1 {s['top1']:.1%}, answered or offered "
            f"{s['answered_or_offered']:.1%}, wrong {s['wrong_in_scope']:.1%}, off-topic answered "
            f"{s['oos_false_accept']:.1%}")


def unseen_pool(entries: list[Entry], cases: list[tuple[str, Case]], tau: float, fusion: float,
                prune: str = "all") -> list:  # type: ignore[type-arg]
    """fit_calibration's Pool for `cases` in the unseen view: each question's fused-order evidence from
    its fold's pruned Matcher, which also re-ranks it (with the calibration of the matcher passed to
    `rerank`). Same entries in the same order, so candidate indices mean the same as in the full KB.
    `prune`: "all" near phrasings of the right entry, or only the "later" ones (git history)."""
    from fit_calibration import Pool  # (fit_calibration imports this module only when asked to)

    @dataclass
    class UnseenPool(Pool):
        own: Matcher | None = None

        def rerank(self, matcher: Matcher) -> Evidence:
            assert self.own is not None
            self.own.calibration = matcher.calibration
            return super().rerank(self.own)

    rows = [Row(name, c.question, frozenset(accepted(c.expected)) if c.in_scope else frozenset(),
                f"real:{c.source}" if name == "real" and c.source else f"q:{i}") for i, (name, c) in enumerate(cases)]
    when = times(rows) if prune == "later" else None
    t0 = time.perf_counter()
    folds, matchers, removed = fold_matchers(entries, rows, tau, Calibration(fusion=fusion), when)
    print(f"unseen view for the decision's fit: tau {tau}, {PRUNE[prune]}: {removed} phrasings removed over "
          f"{FOLDS} folds ({time.perf_counter() - t0:.1f} s)")
    out = []
    for (_, c), f in zip(cases, folds, strict=True):
        m = matchers[f]
        p = Pool.of(m, m.primary_key(c.question), c)
        out.append(UnseenPool(p.key, p.ev, p.lex_rel, p.right, p.ok, own=m))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tau", type=float, nargs="*", default=list(TAUS), help="similarity cut-offs for the unseen view")
    ap.add_argument("--prune", nargs="*", choices=PRUNE, default=list(PRUNE),
                    help="which near phrasings the unseen view removes: all, or only those that came with or "
                         "after the row (git history)")
    ap.add_argument("--no-history", action="store_true", help="skip the git-history contrast")
    ap.add_argument("--calibration", type=Path, help="match with this calibration (default: the shipped one)")
    args = ap.parse_args(argv)
    entries = load()
    rows = dev_rows()
    for text in distribution(rows, entries):
        print(text)
    when = times(rows) if not args.no_history or "later" in args.prune else None
    if not args.no_history and when is not None:
        for text in history(rows, entries, when):
            print(text)
    rows = [r for r in rows if r.set != "dialogue first turns"]
    cal = Calibration.load(args.calibration) if args.calibration else Calibration.load()
    folds = fold_of([r.group for r in rows])
    full = Matcher(entries, cal)
    print(f"\n{'the shipped calibration' if not args.calibration else args.calibration} (answer from {cal.answer_min:.2f} / {cal.answer_min_long:.2f}), "
          f"{FOLDS} folds of the {len(rows)} dev questions it is fitted on (real grouped by page):")
    for name, s in view_figures(full, rows, folds).items():
        print("  normal view, " + line(name, s))
    for prune in args.prune:
        for tau in args.tau:
            t0 = time.perf_counter()
            folds, matchers, removed = fold_matchers(entries, rows, tau, cal, when if prune == "later" else None)
            built = time.perf_counter() - t0
            figures = view_figures(matchers, rows, folds)
            print(f"  unseen view, tau {tau}, {PRUNE[prune]} ({removed} phrasings removed over the folds, of "
                  f"{sum(len(e.questions) for e in entries)}; {FOLDS} matchers built in {built:.1f} s):")
            for name, s in figures.items():
                print("    " + line(name, s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
