"""The re-ranker's training and the fusion weight, out of fold on the DEV halves only (issue 10, r16-rank5).

    python benchmarks/rank_study.py --seed 0                     # every variant, fold-seed set 0
    python benchmarks/rank_study.py --seed 1 --variants base unseen_train

For each variant, the right entry ranked first out of fold (re-ranker fitted on the other folds of
each of 20 fold seeds, as benchmarks/fit_calibration.py cross_fitted does) for member-typed and real
dev questions, the newer half of the real rows (by dev.tsv line, as NEWER_HALF) and the unseen view
(benchmarks/unseen.py: each question matched by a knowledge base without its right entry's phrasings of
similarity >= 0.8 to it that came with or after it); then the decision models and thresholds refitted
on that evidence as `make calibrate` fits them (fit_decision), and its out-of-fold figures at the
fitted thresholds. The fresh slice's own figures are never printed here. Variants:

  base          the shipped training (FUSION, pairs over the whole-KB candidates, set weights)
  unseen_train  the re-ranker's pairs from the unseen view's candidates (near-later phrasings pruned)
  unseen_all_train  the same with every near phrasing of the right entry pruned (no git history needed)
  both_train    the pairs from both views (each question's weight split between them)
  newer2        real rows at or after the median line weigh twice the older ones in the re-ranker
  fusionF       FUSION = F (e.g. fusion1, fusion1.5, fusion3): candidates and fused scores change
  lexT/P/A      BM25 field weights title/phrasings/answer (knowledge/lexical.py FIELD_WEIGHTS), e.g. lex1/1/2
  a+b           both (e.g. unseen_train+lex1/1/0.5)

Reads only dev questions; writes nothing but the optional --jsonl lines.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fit_calibration as fc
from faq_eval import read_member, read_real
from hash_seed import rerun_with
from unseen import unseen_pool

import knowledge.lexical as lexical
from knowledge.calibration import Calibration
from knowledge.loader import load
from knowledge.matcher import Matcher

TAU, PRUNE = 0.8, "later"


def parse(variant: str) -> dict:  # type: ignore[type-arg]
    opts = {"fusion": fc.FUSION, "train": "full", "newer": 1.0, "fields": None, "prune": PRUNE}
    for part in variant.split("+"):
        opts.update(_part(part))
    return opts


def _part(variant: str) -> dict:  # type: ignore[type-arg]
    opts: dict = {}  # type: ignore[type-arg]
    if variant.startswith("fusion"):
        opts["fusion"] = float(variant[6:])
    elif variant.startswith("lex"):
        t, p, a = (float(v) for v in variant[3:].split("/"))
        opts["fields"] = {"title": t, "phrasings": p, "answer": a}
    elif variant == "unseen_train":
        opts["train"] = "unseen"
    elif variant == "unseen_all_train":
        opts["train"], opts["prune"] = "unseen", "all"
    elif variant == "both_train":
        opts["train"] = "both"
    elif variant.startswith("newer"):
        opts["newer"] = float(variant[5:])
    elif variant != "base":
        raise SystemExit(f"unknown variant {variant}")
    return opts


def evidence_for(matcher: Matcher, eval_pool: list, train: list, rr_weights: np.ndarray,  # type: ignore[type-arg]
                 cases: list, cal: Calibration, seeds: list[int]) -> fc.Evidence4:
    """fit_calibration.cross_fitted with the re-ranker's training rows given apart: `train[i]` is
    question i's list of (candidates, labels) (one or two views), `rr_weights[i]` its weight in all."""
    n, shuffles = len(eval_pool), len(seeds)
    x = np.zeros((shuffles, n, len(fc.FEATURES)))
    y1, y3, exact = np.zeros((shuffles, n), bool), np.zeros((shuffles, n), bool), np.zeros((shuffles, n), bool)
    for s, seed in enumerate(seeds):
        for tr, held in fc.group_folds(cases, seed):
            cand = [c for i in tr for c in train[i]]
            w = np.array([rr_weights[i] / len(train[i]) for i in tr for _ in train[i]])
            matcher.calibration = fc.with_rerank(cal, fc.fit_rerank(cand, w, fc.RERANK_L2))
            for i in held:
                ev = eval_pool[i].rerank(matcher)
                if not ev.order:
                    continue
                x[s, i] = ev.features
                y1[s, i], y3[s, i], exact[s, i] = fc.labels(matcher, eval_pool[i], ev)
    matcher.calibration = cal
    return x, y1, y3, exact


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", nargs="+", default=["base", "unseen_train", "newer2", "fusion1", "fusion3"])
    fc.seed_options(ap)
    ap.add_argument("--no-unseen", action="store_true", help="skip the unseen view (unless a variant trains on it)")
    ap.add_argument("--at", type=float, default=0.95, help="also report the figures at this answer threshold")
    ap.add_argument("--jsonl", type=Path, help="append one JSON line per variant")
    args = ap.parse_args(argv)
    if (code := rerun_with(fc.HASH_SEED, __file__)) is not None:
        return code
    seeds = fc.fold_seeds(args.seed, args.shuffles)
    sets = {"member": read_member("dev"), "real": read_real("dev")[0]}
    cases = [(name, c) for name, cs in sets.items() for c in cs]
    weights = fc.set_weights(cases, sets)
    names = np.array([nm for nm, _ in cases])
    lines = fc.case_lines(cases)
    real = names == "real"
    newer = real & (lines >= np.median(lines[real & (lines > 0)]))
    scope = np.array([c.in_scope for _, c in cases])
    groups = {"member": (names == "member") & scope, "real": real & scope, "real newer": newer & scope}
    default_fields = dict(lexical.FIELD_WEIGHTS)
    for variant in args.variants:
        t0 = time.perf_counter()
        opts = parse(variant)
        lexical.FIELD_WEIGHTS = opts["fields"] or default_fields
        entries = load()
        fusion = opts["fusion"]
        pool = fc.dev_pool(entries, cases, fusion)
        upool = None
        if not args.no_unseen or opts["train"] != "full":
            with contextlib.redirect_stdout(io.StringIO()):
                upool = unseen_pool(entries, cases, TAU, fusion, opts["prune"])
        train = {"full": [[(p.ev.candidates, p.right)] for p in pool],
                 "unseen": [[(u.ev.candidates, u.right)] for u in upool or []],
                 "both": [[(p.ev.candidates, p.right), (u.ev.candidates, u.right)]
                          for p, u in zip(pool, upool or [], strict=False)]}[opts["train"]]
        rr_w = weights * np.where(newer, opts["newer"], 1.0)
        rr_w[real] *= weights[real].sum() / rr_w[real].sum()  # the real set keeps its weight in all
        # the shipped re-ranker of this variant (all dev), as fit_calibration's main fits it
        cand_all = [c for t in train for c in t]
        w_all = np.array([rr_w[i] / len(t) for i, t in enumerate(train) for _ in t])
        rr = fc.fit_rerank(cand_all, w_all, fc.RERANK_L2)
        cal = fc.with_rerank(Calibration(fusion=fusion), rr)
        matcher = Matcher(entries, cal)
        ev = evidence_for(matcher, pool, train, rr_w, cases, cal, seeds)
        out: dict[str, float] = {f"first.{g}": float(ev[1][:, m].mean()) for g, m in groups.items()}
        if upool is not None:
            uev = evidence_for(matcher, upool, train, rr_w, cases, cal, seeds)
            out.update({f"unseen_first.{g}": float(uev[1][:, m].mean()) for g, m in groups.items()})
        report: dict[str, float] = {}
        with contextlib.redirect_stdout(io.StringIO()):
            fc.fit_decision(matcher, pool, sets, cases, weights, fc.with_rerank(Calibration(fusion=fusion), rr),
                            seeds, report=report, evidence=ev, previous=(args.at, args.at))
        out.update(report)
        print(f"{variant} (seed set {args.seed}, {time.perf_counter() - t0:.0f} s): ranked first "
              + " ".join(f"{g} {out[f'first.{g}']:.3f}" for g in groups)
              + ("; unseen view " + " ".join(f"{g} {out[f'unseen_first.{g}']:.3f}" for g in groups) if upool else ""),
              flush=True)
        print(f"    mean top-1 {report['mean_top1']:.3f} at {report['answer_min']:.2f}/{report['answer_min_long']:.2f}; "
              + " | ".join(f"{s} top1 {report[f'{s}.top1']:.3f} wrong {report[f'{s}.wrong']:.3f} oos "
                           f"{report[f'{s}.oos']:.3f} found {report[f'{s}.answered_or_offered']:.3f}"
                           for s in ("member", "real")), flush=True)
        print(f"    at {args.at:.2f}: mean top-1 {np.mean([report[f'previous.{s}.top1'] for s in sets]):.3f}; "
              + " | ".join(f"{s} top1 {report[f'previous.{s}.top1']:.3f} wrong {report[f'previous.{s}.wrong']:.3f} "
                           f"oos {report[f'previous.{s}.oos']:.3f}" for s in sets)
              + f" | real newer wrong {report.get('previous.real newer.wrong', float('nan')):.3f}", flush=True)
        if args.jsonl:
            with args.jsonl.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"variant": variant, "seed": args.seed, **out}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
