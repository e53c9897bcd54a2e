"""benchmarks/unseen.py: the near-copy similarity, the git dating of rows and phrasings, the pruned
knowledge base and the unseen view's evidence for the calibration fit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import fit_calibration  # noqa: E402
import unseen  # noqa: E402
from faq_eval import Case  # noqa: E402

from knowledge.calibration import Calibration  # noqa: E402
from knowledge.loader import load  # noqa: E402
from knowledge.matcher import Matcher  # noqa: E402
from knowledge.normalize import key  # noqa: E402


def test_similarity_reads_the_normalised_words():
    a = unseen.words("Kích hoạt tài khoản VNeID như thế nào?")
    assert unseen.similarity(a, unseen.words("kich hoat tai khoan vneid nhu the nao")) == 1.0
    assert unseen.similarity(a, unseen.words("tiền điện tháng này")) == 0.0
    assert unseen.similarity(a, frozenset()) == 0.0
    x, y = frozenset({"a", "b", "c", "d"}), frozenset({"a", "b"})
    assert unseen.similarity(x, y) == 2 * 2 / 6


def test_folds_are_fit_calibrations_folds():
    """The unseen view's folds are the calibration's (seed 0): one source page, one fold."""
    cases = [("member", Case(f"q{i}", ("e1",), "")) for i in range(30)]
    cases += [("real", Case(f"r{i}", ("e2",), f"https://page{i % 7}.example/")) for i in range(35)]
    groups = fit_calibration.case_groups(cases)
    fold = unseen.fold_of(groups, 0)
    for f, (_, held) in enumerate(fit_calibration.group_folds(cases, 0)):
        assert (fold[held] == f).all()


def _entries():
    return [e for e in load() if e.id in {"vneid-la-gi", "vneid-kich-hoat", "luadao-otp-la-gi", "smalltalk-chao-hoi"}]


def test_pruned_drops_only_the_right_entrys_near_phrasings():
    entries = _entries()
    target = next(e for e in entries if e.id == "vneid-la-gi")
    copied = target.questions[1]  # a question the knowledge base holds word for word
    row = unseen.Row("member", copied, frozenset({"vneid-la-gi"}), "q:0")
    kb, removed = unseen.pruned(entries, [row], 0.9)
    assert removed >= 1
    after = next(e for e in kb if e.id == "vneid-la-gi")
    assert copied not in after.questions
    assert after.title == target.title and after.answer == target.answer and after.short == target.short
    assert set(after.questions) < set(target.questions)
    assert all(unseen.similarity(unseen.words(p), unseen.words(copied)) < 0.9 for p in after.questions)
    # other entries keep every phrasing, even one that happened to be near the question
    assert [e for e in kb if e.id != "vneid-la-gi"] == [e for e in entries if e.id != "vneid-la-gi"]
    # an out-of-scope question removes nothing
    assert unseen.pruned(entries, [unseen.Row("real", copied, frozenset(), "q:1")], 0.5)[1] == 0


def test_later_keeps_phrasings_older_than_the_row():
    entries = _entries()
    target = next(e for e in entries if e.id == "vneid-la-gi")
    copied = target.questions[1]
    row = unseen.Row("member", copied, frozenset({"vneid-la-gi"}), "q:0")
    old = unseen.Times({key(copied): 200}, {key(p): 150 for p in target.questions}, 100)
    assert unseen.pruned(entries, [row], 0.9, old)[1] == 0  # every phrasing was there before the row
    new = unseen.Times({key(copied): 200}, {key(p): 250 for p in target.questions}, 100)
    assert unseen.pruned(entries, [row], 0.9, new)[1] >= 1
    # a row older than the knowledge base's first commit: only phrasings committed after that commit count
    first = unseen.Times({key(copied): 50}, {key(p): 100 for p in target.questions}, 100)
    assert not first.later(copied, copied)
    assert unseen.Times({key(copied): 50}, {key(copied): 101}, 100).later(copied, copied)


def _git(repo: Path, *args: str, when: str = "") -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def test_first_seen_dates_phrasings_and_rows(tmp_path: Path):
    (tmp_path / "kb").mkdir()
    kb = tmp_path / "kb" / "a.yaml"
    rows = tmp_path / "kb" / "rows.tsv"
    _git(tmp_path, "init", "-q")
    kb.write_text('- id: a\n  questions:\n    - "kich hoat vneid"\n  sources:\n    - outlet: "Báo"\n', encoding="utf-8")
    rows.write_text("question\texpected\nquen mat khau\ta\n", encoding="utf-8")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "one", when="2026-01-01T00:00:00+00:00")
    kb.write_text('- id: a\n  questions:\n    - "kich hoat vneid"\n    - quen mat khau vneid\n', encoding="utf-8")
    _git(tmp_path, "commit", "-qam", "two", when="2026-01-02T00:00:00+00:00")
    seen = unseen.first_seen(["kb/a.yaml"], root=tmp_path)
    first, second = key("kich hoat vneid"), key("quen mat khau vneid")
    assert set(seen) == {first, second}  # (not the source's outlet)
    assert seen[second] - seen[first] == 86400
    assert set(unseen.first_seen(["kb/rows.tsv"], {key("quen mat khau")}, root=tmp_path)) == {key("quen mat khau")}


def test_unseen_pool_hides_the_copied_phrasing_and_reranks_with_the_fold_matcher():
    entries = _entries()
    target = next(e for e in entries if e.id == "vneid-la-gi")
    copied = target.questions[1]
    cases = [("member", Case(copied, ("vneid-la-gi",), "")), ("member", Case("chao ban", ("smalltalk-chao-hoi",), ""))]
    full = Matcher(entries, Calibration(fusion=fit_calibration.FUSION))
    normal = fit_calibration.Pool.of(full, full.primary_key(copied), cases[0][1])
    assert normal.ev.exact is not None and entries[normal.ev.exact].id == "vneid-la-gi"
    pool = unseen.unseen_pool(entries, cases, 0.9, fit_calibration.FUSION)
    assert len(pool) == 2
    hidden = pool[0]
    assert hidden.ev.exact is None or entries[hidden.ev.exact].id != "vneid-la-gi"
    assert hidden.ok == {"vneid-la-gi"} and hidden.right.shape == (len(hidden.ev.order),)
    # the fold's matcher re-ranks with the calibration of the matcher it is given, and leaves its pool alone
    order = list(hidden.ev.order)
    ev = hidden.rerank(full)
    assert hidden.own is not full and hidden.own.calibration is full.calibration
    assert sorted(ev.order) == sorted(order) and hidden.ev.order == order
    assert np.isfinite(ev.features).all()
