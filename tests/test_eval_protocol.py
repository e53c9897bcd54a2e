"""The evaluation protocol: held-out questions stay out of the knowledge base, the dev figures
do not fall below the recorded floor, and the harness never shows held-out misses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.loader import load
from knowledge.normalize import key

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import faq_eval  # noqa: E402

FLOOR_DROP = 0.02  # two points


def test_no_phrasing_copies_a_held_out_question():
    held_out = {key(q): q for q in faq_eval.test_questions()}
    copies = [(e.id, q, held_out[key(q)]) for e in load() for q in e.questions if key(q) in held_out]
    assert not copies, ("phrasings equal (normalised) to held-out eval questions; remove them from the "
                        f"knowledge base: {copies[:10]}")


def test_dev_figures_hold_the_recorded_floor():
    floor = json.loads(faq_eval.FLOOR_FILE.read_text(encoding="utf-8"))
    report = faq_eval.evaluate("dev", baselines=False, out=lambda *_: None)
    now = faq_eval.floor_figures(report)
    dropped = {k: (v, now.get(k, 0.0)) for k, v in floor.items() if now.get(k, 0.0) < v - FLOOR_DROP}
    assert not dropped, (f"dev accuracy fell more than {FLOOR_DROP:.0%} below the recorded floor "
                         f"(recorded, now): {dropped}. Fix the regression, or after a knowledge-base change "
                         "run `make calibrate` and commit the refit and the new floor.")


def test_floor_covers_every_set():
    floor = json.loads(faq_eval.FLOOR_FILE.read_text(encoding="utf-8"))
    assert "member-typed.top1" in floor and "dialogues.right" in floor
    if (faq_eval.REAL_DIR / "dev.tsv").is_file():
        assert "real.top1" in floor


def test_splits_are_disjoint_and_dev_only_files_stay_in_dev(tmp_path, monkeypatch):
    (tmp_path / "a.tsv").write_text("question\texpected_id\nq1\tx\nq2\ty\nq3\tnone\nq4\tx\n", encoding="utf-8")
    (tmp_path / "a.dev.tsv").write_text("question\texpected_id\nq5\tx\n", encoding="utf-8")
    monkeypatch.setattr(faq_eval, "EVAL_DIR", tmp_path)
    dev = [c.question for c in faq_eval.read_member("dev")]
    test = [c.question for c in faq_eval.read_member("test")]
    assert sorted(dev) == ["q1", "q3", "q5"] and test == ["q2", "q4"]


def test_real_set_reads_alternatives_and_skips_gaps(tmp_path, monkeypatch):
    (tmp_path / "dev.tsv").write_text(
        "question\texpected\tsource\nA?\tx|y\tu1\nB?\tnone\tu2\nC?\tgap:no entry yet\tu3\n", encoding="utf-8")
    monkeypatch.setattr(faq_eval, "REAL_DIR", tmp_path)
    cases, gaps = faq_eval.read_real("dev")
    assert [(c.question, c.expected) for c in cases] == [("A?", ("x", "y")), ("B?", ())]
    assert gaps == 1


def test_test_split_never_prints_misses():
    script = ROOT / "benchmarks" / "faq_eval.py"
    refused = subprocess.run([sys.executable, str(script), "--split", "test", "--misses"],
                             capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0 and "dev split only" in refused.stderr


def test_dev_halves_split_dev_in_two_keeping_pages_and_dialogues_whole():
    for read in (faq_eval.read_member, lambda s, h=None: faq_eval.read_real(s, h)[0]):
        whole = [c.question for c in read("dev")]
        a, b = ([c.question for c in read("dev", h)] for h in faq_eval.HALVES)
        assert sorted(a + b) == sorted(whole) and a and b
    halves = {faq_eval.dev_half(c.source) for c in faq_eval.read_real("dev", "a")[0]}
    assert halves == {"a"}  # by source page: all questions of a page fall in one half
    dialogues = faq_eval.read_dialogues("dev")
    a, b = faq_eval.read_dialogues("dev", "a"), faq_eval.read_dialogues("dev", "b")
    assert len(a) + len(b) == len(dialogues) and a and b
    assert all(len(d) >= 2 for d in a + b)  # whole dialogues, not turns
    assert faq_eval.dev_half("x") == faq_eval.dev_half("x") in faq_eval.HALVES


def test_dev_half_b_prints_figures_only():
    script = ROOT / "benchmarks" / "faq_eval.py"
    refused = subprocess.run([sys.executable, str(script), "--dev-half", "b", "--misses"],
                             capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0 and "figures only" in refused.stderr
    lines: list[str] = []
    faq_eval.evaluate("dev", baselines=False, show_misses=True, out=lines.append, half="b")
    assert lines and not any(line.startswith("misses") for line in lines)
    with pytest.raises(ValueError):
        faq_eval.evaluate("test", baselines=False, out=lines.append, half="a")


@pytest.mark.parametrize("split", ["dev", "test"])
def test_dialogues_are_split_and_long_enough(split):
    dialogues = faq_eval.read_dialogues(split)
    assert len(dialogues) >= 10
    assert all(2 <= len(d) <= 3 for d in dialogues)


def test_pairwise_reranker_fit_learns_which_feature_marks_the_right_candidate():
    """fit_rerank on synthetic candidates: the right one has the higher first feature, the second is noise."""
    import fit_calibration
    import numpy as np

    rng = np.random.default_rng(3)
    cand = []
    for _ in range(80):
        x = rng.normal(size=(6, 2))
        y = np.zeros(6)
        y[int(np.argmax(x[:, 0]))] = 1.0
        cand.append((x, y))
    cand.append((np.zeros((0, 2)), np.zeros(0)))  # a question with no candidates is skipped
    w, mean, scale = fit_calibration.fit_rerank(cand, np.ones(len(cand)), l2=1.0)
    assert w[0] > 0 and abs(w[1]) < w[0] / 3
    assert mean.shape == scale.shape == (2,)


def test_reranker_pairs_contrast_the_right_candidate_with_the_wrong_ones_it_must_beat(monkeypatch):
    """hard_negatives: the wrong candidates among the first HARD_NEGATIVES by fused score (column 0),
    whatever order the rows come in; all wrong ones when none of those is wrong, or with 0."""
    import fit_calibration
    import numpy as np

    monkeypatch.setattr(fit_calibration, "HARD_NEGATIVES", 2)
    x = np.array([[0.2, 0.0], [0.9, 0.0], [0.5, 0.0], [0.1, 0.0]])  # fused order: 1, 2, 0, 3
    right_third = np.array([1.0, 0.0, 0.0, 0.0])
    assert fit_calibration.hard_negatives(x, right_third).tolist() == [False, True, True, False]
    right_first = np.array([0.0, 1.0, 0.0, 0.0])
    assert fit_calibration.hard_negatives(x, right_first).tolist() == [False, False, True, False]
    both_first = np.array([0.0, 1.0, 1.0, 0.0])  # two accepted entries lead: every wrong one
    assert fit_calibration.hard_negatives(x, both_first).tolist() == [True, False, False, True]
    monkeypatch.setattr(fit_calibration, "HARD_NEGATIVES", 0)
    assert fit_calibration.hard_negatives(x, right_first).tolist() == [True, False, True, True]


def test_a_dialogue_turn_marked_offered_is_right_when_offered_and_the_next_turn_follows_the_tap(monkeypatch):
    """`x|(choices)`: a question meant to be unclear is right answered or offered; the person taps x and
    the next turn is read with it. Without the mark an offered x is a miss (still tapped)."""
    from knowledge.matcher import Match, Scored

    entries = {e.id: e for e in load()}
    a, b, c = (entries[i] for i in ("vneid-tai-khoan-bi-khoa", "tocongnghe-sim-bi-khoa-thong-tin", "vneid-tong-dai"))

    class Scripted:
        def __init__(self, _matcher) -> None:  # type: ignore[no-untyped-def]
            self.topic: str | None = None

        def ask(self, text, now):  # type: ignore[no-untyped-def]
            if text == "bi khoa roi":
                offered = (Scored(a, 60.0), Scored(b, 50.0))
                return Match("choices", offered, offered, 0.5)
            best = c if self.topic == a.id else b  # the follow-up depends on the tapped topic
            return Match("answer", (Scored(best, 90.0),), (), 0.9)

        def pick(self, match, entry_id, now):  # type: ignore[no-untyped-def]
            self.topic = entry_id

    monkeypatch.setattr(faq_eval, "Conversation", Scripted)
    marked = [[(0.0, "bi khoa roi", (a.id, faq_eval.OFFERED)), (1.0, "goi tong dai so nao", (c.id,))]]
    r = faq_eval.run_dialogues(None, marked)  # type: ignore[arg-type]
    assert r["dialogues_right"] == 1.0 and r["turns_offered"] == 0.5 and r["followups_wrong"] == 0
    plain = [[(0.0, "bi khoa roi", (a.id,)), (1.0, "goi tong dai so nao", (c.id,))]]
    r = faq_eval.run_dialogues(None, plain)  # type: ignore[arg-type]
    assert r["dialogues_right"] == 0.0 and r["turns_right"] == 0.5  # the tap still sets the topic
    wrong = [[(0.0, "bi khoa roi", (c.id, faq_eval.OFFERED)), (1.0, "goi tong dai so nao", (c.id,))]]
    assert faq_eval.run_dialogues(None, wrong)["dialogues_right"] == 0.0  # c is not among the choices
