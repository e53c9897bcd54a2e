"""The follow-up reading's rule cut-offs: read from the calibration, fitted on the dev dialogues
(benchmarks/fit_followups.py), and chosen without the dialogue they are scored on."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from knowledge import followup
from knowledge.calibration import CALIBRATION_FILE, Calibration
from knowledge.followup import RULES, Conversation, rule

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import fit_followups


def test_rule_reads_the_calibration_else_the_default(shipped_kb):
    matcher = shipped_kb.matcher
    saved = matcher.calibration
    try:
        matcher.calibration = replace(saved, followup_rules={})
        assert {name: rule(matcher, name) for name in RULES} == RULES
        matcher.calibration = replace(saved, followup_rules={"alone_min": 0.7, "agree_min": 0.5})
        assert rule(matcher, "alone_min") == 0.7  # a cut-off of a dropped rule in an older file is ignored
    finally:
        matcher.calibration = saved


def test_rule_cut_offs_survive_the_calibration_file(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(Calibration(followup_rules={"alone_min": 0.95}).to_json(), encoding="utf-8")
    assert Calibration.load(path).followup_rules == {"alone_min": 0.95}
    data = json.loads(Calibration().to_json())
    data.pop("followup_rules")  # a file written before the cut-offs were fitted
    path.write_text(json.dumps(data), encoding="utf-8")
    assert Calibration.load(path).followup_rules == {}


def test_shipped_calibration_has_fitted_cut_offs_on_the_grid():
    """`make calibrate` writes one value per rule, from the grid it searches."""
    fitted = Calibration.load(CALIBRATION_FILE).followup_rules
    assert set(fitted) == set(RULES)
    assert all(fitted[name] in fit_followups.GRID[name] for name in RULES)


def test_the_answer_uses_the_fitted_cut_off(shipped_kb):
    """With `alone_min` above any confidence, a short cue-worded message inside the window is always
    read with the topic: "tong dai ho tro vneid so may" after the fee answer is no longer taken alone."""
    matcher = shipped_kb.matcher
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    saved, text = matcher.calibration, "tong dai ho tro vneid so may"

    def second() -> bool:
        conv = Conversation(matcher)
        conv.ask("lam vneid co mat tien khong", at)
        alone = matcher.match(text)
        return followup.reads_with_topic(alone, text, conv.ctx, at + dt.timedelta(minutes=1),
                                         rule(matcher, "alone_min"))

    try:
        matcher.calibration = replace(saved, followup_rules={"alone_min": 0.5})
        sure = matcher.match(text)
        assert sure.status == "answer" and sure.confidence >= 0.5
        assert not second()
        matcher.calibration = replace(saved, followup_rules={"alone_min": 1.01})
        assert second()
    finally:
        matcher.calibration = saved


def _table(right: list[list[float]], wrong: list[list[float]], answered: list[list[float]]) -> dict[str, np.ndarray]:
    return {"right": np.array(right, float), "wrong": np.array(wrong, float), "answered": np.array(answered, float)}


def test_pick_takes_the_best_value_then_the_fewest_answers(monkeypatch):
    monkeypatch.setattr(fit_followups, "_height", lambda c: 0.0)
    # combination 1 wins a dialogue but answers one follow-up wrong (worth -3); 2 ties 0 and answers less
    t = _table(right=[[1, 1, 0], [1, 1, 1], [1, 1, 0]], wrong=[[0, 0, 0], [0, 0, 1], [0, 0, 0]],
               answered=[[1, 1, 1], [1, 1, 2], [1, 0, 1]])
    assert fit_followups.pick(t, np.arange(3)) == 2


def test_estimate_scores_each_dialogue_with_cut_offs_chosen_without_it():
    """Combination 1 is right only on dialogue 0: chosen on all three, but never when dialogue 0 is
    held out, so the leave-one-out figure does not count it (an in-sample figure would)."""
    t = _table(right=[[0, 1, 1], [1, 1, 1]], wrong=[[0, 0, 0], [0, 0, 0]], answered=[[1, 1, 1], [2, 2, 2]])
    assert fit_followups.pick(t, np.arange(3)) == 1
    est = fit_followups.estimate(t, lambda cols: fit_followups.pick(t, cols))
    assert est["loo"] == pytest.approx(2 / 3)


def _ways_table(default_misses: list[int], n: int = 6) -> tuple[dict[str, np.ndarray], int]:
    """A table over the real grid: the hand-set cut-offs miss `default_misses`; one combination that
    tunes alone_min is right on every dialogue but answers more; every other combination is right on
    none."""
    rules = fit_followups.combos()
    default = rules.index(dict(RULES))
    tuned = rules.index({**RULES, "alone_min": 0.95})
    right = np.zeros((len(rules), n))
    right[default] = [0 if d in default_misses else 1 for d in range(n)]
    right[tuned] = 1
    answered = np.ones((len(rules), n))
    answered[tuned] = 2
    return {"right": right, "wrong": np.zeros_like(right), "answered": answered}, tuned


def test_a_cut_off_that_wins_one_dialogue_in_sample_is_not_taken():
    """Tuning alone_min wins dialogue 0 on all dev, but chosen without it the tuned value loses it
    (ties go to answering less): out of sample it is worth no more, so the hand-set cut-offs stay."""
    table, tuned = _ways_table([0])
    assert fit_followups.pick(table, np.arange(6)) == tuned  # in-sample, tuning wins
    name, chosen = fit_followups.choose_way(table, verbose=False)
    assert name == "hand-set" and fit_followups.combos()[chosen] == RULES


def test_a_cut_off_that_wins_out_of_sample_is_tuned_alone():
    """Tuning alone_min wins three dialogues also when each is held out: it is taken."""
    table, tuned = _ways_table([0, 1, 2])
    name, chosen = fit_followups.choose_way(table, verbose=False)
    assert name == "alone_min tuned" and chosen == tuned


def test_rules_report_switches_each_rule_off_and_back():
    def now() -> tuple:  # type: ignore[type-arg]
        return followup.single_cue_answer, followup.LOSS_DAMP, followup.CUE_BONUS, followup.on_topic_first

    before = now()
    for name in ("single cue", "lost money", "cue bonus", "own words on topic"):
        with fit_followups._off(name):
            assert now() != before
    assert now() == before


def test_dialogue_ids_follow_the_evaluation_order():
    """`--rules` names dialogues by id: the ids must line up with read_dialogues, turn counts included."""
    ids = fit_followups.dialogue_ids()
    dialogues = fit_followups.read_dialogues("dev")
    assert len(ids) == len(dialogues) and len(set(ids)) == len(ids)
    first_turns = {row[0]: row[2] for row in reversed(fit_followups._rows(fit_followups.DIALOGUE_DIR / "dev.tsv"))}
    assert all(first_turns[i] == d[0][1] for i, d in zip(ids, dialogues, strict=True))


@pytest.mark.parametrize("text", ["quen mat khau vneid thi lam sao", "dang ky muc 2 can mang gi"])
def test_the_same_question_again_in_the_window_gets_the_same_answer(shipped_kb, text):
    """The topic reading leaves the previous entry out, so a sure question of its own must stand alone
    whatever `alone_min` the fit picks: its grid stops at 0.99 (at 1.01 the first got the bank's entry)."""
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    conv = Conversation(shipped_kb.matcher)
    first = conv.ask(text, at)
    assert first.status == "answer" and first.best is not None
    again = conv.ask(text, at + dt.timedelta(minutes=2))
    assert again.status == "answer" and again.best is not None and again.best.entry.id == first.best.entry.id
    assert max(fit_followups.GRID["alone_min"]) <= 0.99


def test_the_follow_up_threshold_keeps_its_floor_and_rises_with_the_cost():
    from fit_calibration import FollowTurn

    rng = np.random.default_rng(7)
    turns, probs = [], []
    for d in range(60):
        right = d % 4 != 0  # a quarter of the turns have a wrong first candidate
        p = np.array([rng.uniform(0.3, 0.95) if right else rng.uniform(0.2, 0.6), 0.1])
        turns.append(FollowTurn(d, np.zeros((2, 5)), np.array([1.0 if right else 0.0, 1.0 - right])))
        probs.append(p)
    low = fit_followups.threshold(turns, [probs], fit_followups.Setting(4.0, 0.3))
    high_floor = fit_followups.threshold(turns, [probs], fit_followups.Setting(4.0, 0.7))
    high_cost = fit_followups.threshold(turns, [probs], fit_followups.Setting(16.0, 0.3))
    assert high_floor >= 0.7
    assert high_cost >= low


def test_the_study_takes_the_setting_worth_most_and_keeps_the_current_one_within_noise():
    S = fit_followups.Setting
    # worth = right * 200 - 4 * wrong: 181 - 16 = 165, 180 - 8 = 172, 172 - 0 = 172
    out = {S(4, 0.3): {"right": 0.905, "wrong": 4.0}, S(4, 0.4): {"right": 0.900, "wrong": 2.0},
           S(4, 0.6): {"right": 0.860, "wrong": 0.0}}
    assert fit_followups.take(out, 200) == S(4, 0.6)  # as much worth as 0.4, fewer wrong answers
    out[S(4, 0.6)]["right"] = 0.850  # 170: more than one below 172
    assert fit_followups.take(out, 200) == S(4, 0.4)
    out[S(4, 0.3)] = {"right": 0.895, "wrong": 2.0}  # 179 - 8 = 171: within one of the best (172)
    assert fit_followups.take(out, 200) == S(4, 0.3)
