"""The calibration: a logistic regression that learns, and the shipped fit that loads."""

import math

import numpy as np
import pytest

from knowledge.calibration import CALIBRATION_FILE, FEATURES, Calibration, Model, fit_logistic


def test_logistic_regression_separates_a_simple_case():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)
    model = fit_logistic(x, y, l2=0.1)
    assert model.weights[0] > 0 > model.weights[1]
    accuracy = np.mean([(model.prob(r) >= 0.5) == bool(t) for r, t in zip(x, y, strict=True)])
    assert accuracy > 0.95


def test_shipped_calibration_is_fitted_and_matches_the_features():
    cal = Calibration.load()
    assert CALIBRATION_FILE.is_file()
    assert "dev" in cal.fitted_on
    assert len(cal.answer.weights) == len(cal.choices.weights) == len(cal.mean) == len(cal.used)
    assert set(cal.used) <= set(FEATURES)
    assert 0 < cal.answer_min <= 1 and 0 < cal.choices_min <= 1


def test_json_round_trip(tmp_path):
    cal = Calibration(fusion=0.7, answer_min=0.8)
    path = tmp_path / "c.json"
    path.write_text(cal.to_json(), encoding="utf-8")
    again = Calibration.load(path)
    assert again.fusion == 0.7 and again.answer_min == 0.8


def test_calibration_for_other_features_falls_back_to_defaults(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(Calibration().to_json().replace('"fused"', '"something else"'), encoding="utf-8")
    assert Calibration.load(path).fitted_on == "unfitted defaults"


def test_example_weights_count_like_repeated_examples():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] + rng.normal(scale=0.5, size=60) > 0).astype(float)
    weights = np.where(np.arange(60) < 30, 2.0, 1.0)
    repeated = fit_logistic(np.vstack([x, x[:30]]), np.concatenate([y, y[:30]]), l2=0.5)
    weighted = fit_logistic(x, y, l2=0.5, weights=weights)
    assert np.allclose(repeated.weights, weighted.weights, atol=1e-6)
    assert abs(repeated.bias - weighted.bias) < 1e-6


def test_reranker_round_trip_and_scores(tmp_path):
    from knowledge.calibration import CANDIDATE_FEATURES

    k = len(CANDIDATE_FEATURES)
    cal = Calibration(rerank=[1.0] + [0.0] * (k - 1), rerank_mean=[0.5] * k, rerank_scale=[2.0] * k)
    path = tmp_path / "c.json"
    path.write_text(cal.to_json(), encoding="utf-8")
    again = Calibration.load(path)
    x = np.zeros((3, k))
    x[:, 0] = [0.5, 2.5, 1.5]
    assert np.allclose(again.rerank_scores(x), [0.0, 1.0, 0.5])
    assert np.allclose(Calibration().rerank_scores(x), x[:, 0])  # unfitted: the fused score itself


def test_calibration_for_other_candidate_features_falls_back_to_defaults(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(Calibration().to_json().replace('"title_recall"', '"something else"'), encoding="utf-8")
    assert Calibration.load(path).fitted_on == "unfitted defaults"


def test_follow_up_model_round_trip_and_probabilities(tmp_path):
    from knowledge.calibration import FOLLOWUP_FEATURES

    k = len(FOLLOWUP_FEATURES)
    cal = Calibration(followup_weights=[2.0] + [0.0] * (k - 1), followup_bias=-1.0, followup_mean=[0.5] * k,
                      followup_scale=[0.5] * k, followup_p_min=0.6, fitted_on="dev")
    path = tmp_path / "c.json"
    path.write_text(cal.to_json(), encoding="utf-8")
    again = Calibration.load(path)
    assert again.has_followup_model and again.followup_p_min == 0.6
    x = np.zeros((2, k))
    x[:, 0] = [0.5, 1.0]  # standardised 0 and 1: logits -1 and +1
    assert np.allclose(again.p_followup(x), [1 / (1 + np.e), 1 / (1 + np.exp(-1))])
    assert not Calibration().has_followup_model


def test_an_older_calibration_without_the_follow_up_model_keeps_the_rest(tmp_path):
    import json

    data = json.loads(Calibration(answer_min=0.81, followup_min=0.55, followup_weights=[1.0] * 5).to_json())
    data.pop("followup_features")  # written before the follow-up model existed
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    again = Calibration.load(path)
    assert again.answer_min == 0.81 and again.followup_min == 0.55
    assert not again.has_followup_model  # follow-ups decided by the answer model and followup_min, as before


def test_shipped_follow_up_model_matches_its_features():
    from knowledge.calibration import FOLLOWUP_FEATURES

    cal = Calibration.load()
    if cal.has_followup_model:  # kept by `make calibrate` only when it wins under cross-validation
        assert len(cal.followup_weights) == len(cal.followup_mean) == len(FOLLOWUP_FEATURES)
        assert 0 < cal.followup_p_min <= 1


def test_longer_questions_use_their_own_choices_model_and_threshold(tmp_path):
    """Questions of `long_words` content words or more are judged by `choices_long` against
    `choices_min_long`; shorter ones by `choices`; without a long model every length uses `choices`."""
    from knowledge.calibration import Model

    n = len(FEATURES)
    cal = Calibration(choices=Model([0.0] * n, -2.0), choices_min=0.3,
                      choices_long=Model([0.0] * n, 2.0), choices_min_long=0.6, long_words=7)
    short, long_ = np.zeros(n), np.zeros(n)
    short[FEATURES.index("length")] = np.log1p(2)
    long_[FEATURES.index("length")] = np.log1p(9)
    assert cal.p_choices(short) < 0.2 and cal.choices_threshold(short) == 0.3
    assert cal.p_choices(long_) > 0.8 and cal.choices_threshold(long_) == 0.6
    path = tmp_path / "c.json"
    path.write_text(cal.to_json(), encoding="utf-8")
    again = Calibration.load(path)
    assert again.p_choices(long_) == cal.p_choices(long_) and again.choices_min_long == 0.6
    older = Calibration(choices=Model([0.0] * n, -2.0), choices_min=0.3)  # no long model (an older file)
    assert older.p_choices(long_) < 0.2 and older.choices_threshold(long_) == 0.3


def test_shipped_calibration_has_a_long_choices_model():
    cal = Calibration.load()
    assert cal.choices_long is not None and len(cal.choices_long.weights) == len(cal.used)
    assert 0 < cal.choices_min_long <= 1


def test_scope_model_multiplies_the_answer_probability_and_round_trips(tmp_path):
    k = len(FEATURES)
    answer = Model([1.0] + [0.0] * (k - 1), 0.0)
    scope = Model([0.0] * k, -1.0)
    cal = Calibration(answer=answer)
    x = np.full(k, 0.5)
    alone = cal.p_answer(x)
    both = Calibration(answer=answer, scope=scope)
    assert both.p_answer(x) == pytest.approx(alone / (1 + math.exp(1.0)))
    path = tmp_path / "c.json"
    path.write_text(both.to_json(), encoding="utf-8")
    again = Calibration.load(path)
    assert again.scope is not None and again.p_answer(x) == pytest.approx(both.p_answer(x))
    # an older file without a scope model: the answer model alone decides
    path.write_text(cal.to_json(), encoding="utf-8")
    assert Calibration.load(path).scope is None and Calibration.load(path).p_answer(x) == pytest.approx(alone)


def test_shipped_calibration_has_a_scope_model():
    cal = Calibration.load()
    assert cal.scope is not None and len(cal.scope.weights) == len(cal.used)


def test_shipped_long_choices_model_reads_the_answer_models_features():
    """Longer questions' choices model reads every feature the answer models read (round 16: it found more
    real questions' right entries out of fold than the short model's features plus t_extra); the short
    one reads fewer (with them it read one- and two-word ties between siblings as off-topic)."""
    cal = Calibration.load()
    assert cal.choices_long is not None
    read_long = {f for f, w in zip(cal.used, cal.choices_long.weights, strict=True) if w}
    read_short = {f for f, w in zip(cal.used, cal.choices.weights, strict=True) if w}
    assert read_long == set(cal.used)
    assert read_short < read_long and "t_extra" not in read_short


def test_model_probability_is_bit_for_bit_the_plain_formula_on_its_weight_list():
    """Model keeps its weights as an array for np.dot (issue 10 item 8): the probability must be the one the
    list itself gives, to the last bit, for the shipped models and for a model built from plain ints."""
    cal = Calibration.load()
    models = [m for m in (cal.answer, cal.scope, cal.choices, cal.choices_long) if m is not None]
    models.append(Model([1, -2, 0], 3))
    rng = np.random.default_rng(7)
    for model in models:
        for z in rng.normal(scale=3.0, size=(50, len(model.weights))):
            t = float(np.dot(model.weights, z) + model.bias)
            assert model.prob(z) == 1.0 / (1.0 + math.exp(-max(min(t, 30.0), -30.0)))
