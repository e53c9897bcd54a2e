"""The calibration fit's deterministic parts: the seeded source-grouped folds and the threshold picker.

The whole fit (`make calibrate`) takes a while; these check the pieces that decide which questions
fall in which fold and which thresholds are taken, on small synthetic inputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import fit_calibration  # noqa: E402
from faq_eval import Case  # noqa: E402


def _cases() -> list[tuple[str, Case]]:
    member = [("member", Case(f"q{i}", ("e1",), "")) for i in range(40)]
    real = [("real", Case(f"r{i}", ("e2",) if i % 3 else (), f"https://page{i % 9}.example/")) for i in range(45)]
    return member + real


def _fold_of(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    fold = np.full(n, -1)
    for f, (train, held) in enumerate(folds):
        assert not set(train) & set(held)
        assert len(train) + len(held) == n
        fold[held] = f
    return fold


def test_group_folds_are_seeded_and_keep_a_source_page_together():
    cases = _cases()
    a, b = fit_calibration.group_folds(cases, 7), fit_calibration.group_folds(cases, 7)
    fold = _fold_of(a, len(cases))
    assert (fold >= 0).all()  # every question held out exactly once
    assert np.array_equal(fold, _fold_of(b, len(cases)))  # same seed, same folds
    other = _fold_of(fit_calibration.group_folds(cases, 8), len(cases))
    assert not np.array_equal(fold, other)  # another seed moves questions between folds
    for page in {c.source for name, c in cases if name == "real"}:
        held = {fold[k] for k, (name, c) in enumerate(cases) if name == "real" and c.source == page}
        assert len(held) == 1, page


def test_group_folds_do_not_depend_on_the_string_hash_seed():
    """The folds come from sorted group names, never from a set's iteration order."""
    code = ("import sys; sys.path.insert(0, 'benchmarks'); sys.path.insert(0, 'tests');"
            "import fit_calibration, test_fit_calibration as t;"
            "print([h.tolist() for _, h in fit_calibration.group_folds(t._cases(), 3)])")
    outs = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1


def _synthetic(shuffles: int, rng: np.random.Generator):
    """Two sets; right answers have higher P(right) than wrong ones, off-topic questions lower."""
    n_member, n_real = 300, 200
    n = n_member + n_real
    names = np.array(["member"] * n_member + ["real"] * n_real)
    scope = rng.random(n) > 0.2
    right = rng.random(n) < np.where(names == "member", 0.85, 0.6)
    base = np.where(~scope, 0.2, np.where(right, 0.8, 0.45))
    p1 = np.clip(base[None, :] + rng.normal(0, 0.12, (shuffles, n)), 0, 1)
    y1 = np.broadcast_to(right & scope, (shuffles, n)).copy()
    exact = np.zeros((shuffles, n), bool)
    clear = np.ones((shuffles, n), bool)
    long_q = rng.random(n) < 0.4
    groups = [(name, names == name) for name in ("member", "real")]
    return p1, y1, exact, clear, long_q, groups, scope


def test_answer_table_keeps_the_budgets_on_the_rates_averaged_over_the_shuffles():
    grid = np.round(np.arange(0.3, 1.001, 0.01), 2)
    p1, y1, exact, clear, long_q, groups, scope = _synthetic(6, np.random.default_rng(5))
    table, smooth = fit_calibration.answer_table(grid, p1, y1, exact, clear, long_q, groups, scope)
    assert table.shape == smooth.shape == (len(grid), len(grid))
    i, j = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    assert table[i, j] > 0  # a pick inside the budgets exists and is taken
    ans = exact | ((p1 >= grid[i]) & clear & ~long_q) | ((p1 >= grid[j]) & clear & long_q)
    for name, g in groups:
        ins, oos = g & scope, g & ~scope
        wrong = np.mean([(ans[s] & ins & ~y1[s]).sum() / ins.sum() for s in range(len(p1))])
        assert wrong <= fit_calibration.WRONG_MAX[name]
        assert np.mean([(ans[s] & oos).sum() / oos.sum() for s in range(len(p1))]) <= fit_calibration.OOS_MAX
        top1 = np.mean([(ans[s] & ins & y1[s]).sum() / ins.sum() for s in range(len(p1))])
        assert top1 > 0
    # a cell whose thresholds answer everything breaks the budgets
    assert table[0, 0] == -1.0
    # the order of the shuffles does not matter, and repeating them changes nothing (an average)
    perm = np.random.default_rng(1).permutation(len(p1))
    t2, s2 = fit_calibration.answer_table(grid, p1[perm], y1[perm], exact[perm], clear[perm], long_q, groups, scope)
    assert np.allclose(t2, table) and np.allclose(s2, smooth)
    twice = [np.concatenate([a, a]) for a in (p1, y1, exact, clear)]
    t3, _ = fit_calibration.answer_table(grid, *twice, long_q, groups, scope)
    assert np.allclose(t3, table)


def test_answer_table_counts_match_a_direct_count():
    """The vectorised counting equals answering question by question at a few threshold pairs."""
    grid = np.round(np.arange(0.3, 1.001, 0.01), 2)
    p1, y1, exact, clear, long_q, groups, scope = _synthetic(3, np.random.default_rng(9))
    exact[:, :20] = True  # exact hits are answered at any threshold
    clear[:, 20:60] = False  # no clear lead: never answered
    table, _ = fit_calibration.answer_table(grid, p1, y1, exact, clear, long_q, groups, scope)
    for i, j in [(40, 40), (50, 60), (60, 45), (69, 70)]:
        ans = exact | ((p1 >= grid[i]) & clear & ~long_q) | ((p1 >= grid[j]) & clear & long_q)
        rates, ok = [], True
        for name, g in groups:
            ins, oos = g & scope, g & ~scope
            rates.append(np.mean([(ans[s] & ins & y1[s]).sum() / ins.sum() for s in range(3)]))
            ok &= np.mean([(ans[s] & ins & ~y1[s]).sum() / ins.sum() for s in range(3)]) <= fit_calibration.WRONG_MAX[name]
            ok &= np.mean([(ans[s] & oos).sum() / oos.sum() for s in range(3)]) <= fit_calibration.OOS_MAX
        assert np.isclose(table[i, j], np.mean(rates) if ok else -1.0), (i, j)


def test_diagnosis_names_the_budget_that_binds_and_agrees_with_the_table():
    grid = np.round(np.arange(0.3, 1.001, 0.01), 2)
    p1, y1, exact, clear, long_q, groups, scope = _synthetic(4, np.random.default_rng(3))
    table, smooth = fit_calibration.answer_table(grid, p1, y1, exact, clear, long_q, groups, scope)
    # every cell: broken budgets reported exactly where the table marks the cell -1, and the top-1 it averages
    for cell in [(0, 0), (30, 40), (45, 45), (55, 50), (69, 69)]:
        rates, broken = fit_calibration.cell_rates(grid, cell, p1, y1, exact, clear, long_q, groups, scope)
        assert bool(broken) == (table[cell] == -1.0), cell
        if not broken:
            assert np.isclose(table[cell], np.mean([r["top1"] for r in rates.values()]))
    rates, broken = fit_calibration.cell_rates(grid, (0, 0), p1, y1, exact, clear, long_q, groups, scope)
    # the lowest thresholds answer many off-topic questions: both sets' off-topic budgets are named
    assert {"member.oos", "real.oos"} <= set(broken)
    assert rates["real"]["oos"] > fit_calibration.OOS_MAX
    i, j = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    lines = fit_calibration.diagnose(grid, (int(i), int(j)), p1, y1, exact, clear, long_q, groups, scope)
    marked = [line for line in lines if line.startswith(" *")]
    assert len(marked) == 1 and f"short {grid[i]:.2f} long {grid[j]:.2f}" in marked[0]
    # one distribution line per set, length and kind present
    for name in ("member", "real"):
        for kind in ("right first", "wrong first", "off-topic"):
            assert any(line.split()[:1] == [name] and kind in line for line in lines), (name, kind)



def test_tied_pick_stays_on_the_line_and_inside_the_budgets():
    """One threshold is fitted: the long one is LONG_OFFSET steps from the short one, and the pick
    is the best cell on that line after smoothing, away from cells that break a budget."""
    grid = np.round(np.arange(0.3, 1.001, 0.01), 2)
    p1, y1, exact, clear, long_q, groups, scope = _synthetic(4, np.random.default_rng(11))
    table, _ = fit_calibration.answer_table(grid, p1, y1, exact, clear, long_q, groups, scope)
    i, j, smoothed = fit_calibration.tied_pick(table)
    assert j == i + fit_calibration.LONG_OFFSET
    assert table[i, j] > 0  # inside the budgets
    line = fit_calibration.on_line(table)
    k = fit_calibration.SMOOTH
    assert np.isclose(smoothed, line[i - k:i + k + 1].mean())
    assert (line[i - k:i + k + 1] > 0).all()  # no broken budget within the smoothing window
    # a cell on the line that breaks a budget pushes the pick at least SMOOTH + 1 steps away
    broken = table.copy()
    broken[i, j] = -1.0
    i2, j2, _ = fit_calibration.tied_pick(broken)
    assert abs(i2 - i) > k and j2 == i2 + fit_calibration.LONG_OFFSET


def test_out_of_fold_evidence_subsets_and_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    p1, y1, exact, clear, long_q, groups, scope = _synthetic(3, rng)
    oof = fit_calibration.Oof(p1, p1 * 0.9, p1 * 0.8, y1, y1.copy(), exact, clear, long_q, scope, groups)
    oof.save(tmp_path / "e.npz")
    back = fit_calibration.Oof.load(tmp_path / "e.npz")
    assert np.array_equal(back.p1, p1) and np.array_equal(back.long_q, long_q)
    assert [n for n, _ in back.groups] == ["member", "real"]
    cols = np.arange(0, len(scope), 3)
    sub = oof.subset(cols)
    assert sub.p1.shape == (3, len(cols)) and np.array_equal(sub.groups[1][1], groups[1][1][cols])


def test_auc_counts_pairs_and_ties():
    auc = fit_calibration.auc
    assert auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert auc(np.array([0.1]), np.array([0.9])) == 0.0
    assert auc(np.array([0.5, 0.9]), np.array([0.5])) == 0.75  # one tie (half) and one win
    assert np.isnan(auc(np.array([]), np.array([0.5])))


def test_answer_models_split_scope_from_right_given_scope():
    rng = np.random.default_rng(4)
    n = 400
    z = rng.normal(size=(n, len(fit_calibration.USED)))
    in_scope = z[:, 0] > -0.5  # the first feature tells off-topic questions apart
    y1 = in_scope & (z[:, 1] > 0)  # the second, among in-scope ones, a right best entry
    answer, _, _, scope = fit_calibration.fit_models(z, y1.astype(float), y1.astype(float), np.ones(n), in_scope)
    assert scope.weights[0] > 1.0 and abs(scope.weights[1]) < 0.5
    assert answer.weights[1] > 1.0
    p = np.array([answer.prob(r) * scope.prob(r) for r in z])
    assert fit_calibration.auc(p[y1], p[~y1]) > 0.9


def test_decision_oof_reuses_given_evidence_and_choices_read_only_their_features(monkeypatch):
    """benchmarks/l2_study.py refits the decision on one cross-fitted evidence with other choices
    features: decision_oof must not re-rank when given the evidence, and the choices models must
    read only the features passed as `choices_used` (short, long)."""
    from knowledge.calibration import FEATURES, Calibration

    rng = np.random.default_rng(5)
    cases = _cases()
    n, shuffles = len(cases), 2
    x = rng.normal(size=(shuffles, n, len(FEATURES)))
    x[:, :, FEATURES.index("length")] = np.log1p(rng.integers(1, 15, size=n))[None, :]
    y1 = x[:, :, FEATURES.index("rr_prob")] > 0
    y3 = y1 | (x[:, :, FEATURES.index("phrase")] > 0)
    exact = np.zeros((shuffles, n), bool)

    def no_reranking(*_a, **_k):
        raise AssertionError("re-ranked although the evidence was given")

    monkeypatch.setattr(fit_calibration, "cross_fitted", no_reranking)
    sets = {"member": [c for nm, c in cases if nm == "member"], "real": [c for nm, c in cases if nm == "real"]}
    weights = fit_calibration.set_weights(cases, sets)
    figures = {}
    for used in (("phrase", "coverage"), ("phrase", "coverage", "rr_prob")):
        cal, oof = fit_calibration.decision_oof(None, [None] * n, sets, cases, weights, Calibration(), [0, 1],
                                                evidence=(x, y1, y3, exact), choices_used=(used, used + ("t_extra",)))
        assert oof.p3.shape == (shuffles, n) and np.array_equal(oof.y1, y1)
        read = {f for f, w in zip(cal.used, cal.choices.weights, strict=True) if w}
        assert read == set(used)
        assert {f for f, w in zip(cal.used, cal.choices_long.weights, strict=True) if w} == set(used) | {"t_extra"}
        figures[used] = oof.p3
    assert not np.allclose(*figures.values())  # rr_prob (which tells y1 here) moves the choices model


def test_extra_groups_must_keep_the_budgets_without_counting_in_top1():
    """A "real newer" group (newer_groups) whose wrong rate breaks the real budget marks cells -1 that the
    sets alone allow; where it keeps the budgets the value (mean top-1 of the sets) is unchanged."""
    grid = np.round(np.arange(0.3, 1.001, 0.01), 2)
    p1, y1, exact, clear, long_q, groups, scope = _synthetic(4, np.random.default_rng(21))
    real = dict(groups)["real"]
    # the newer rows: every other real question; three of them wrong firsts made confident, which is
    # within the real budget over all real questions but not over the newer half's
    newer = real & (np.arange(len(real)) % 2 == 0)
    p1 = p1.copy()
    p1[:, np.nonzero(newer & scope & ~y1[0])[0][:3]] = 0.97
    plain, _ = fit_calibration.answer_table(grid, p1, y1, exact, clear, long_q, groups, scope)
    table, _ = fit_calibration.answer_table(grid, p1, y1, exact, clear, long_q, groups, scope,
                                            [("real newer", newer)])
    assert ((table == -1.0) | np.isclose(table, plain)).all()
    assert ((table == -1.0) & (plain > 0)).any()  # the newer rows' budget binds where the sets' does not
    cell = tuple(int(v) for v in np.argwhere((table == -1.0) & (plain > 0))[0])
    rates, broken = fit_calibration.cell_rates(grid, cell, p1, y1, exact, clear, long_q, groups, scope,
                                               [("real newer", newer)])
    assert "real newer.wrong" in broken and set(rates) == {"member", "real", "real newer"}
    assert rates["real newer"]["wrong"] > fit_calibration.WRONG_MAX["real"]


def test_tied_pick_takes_the_strictest_thresholds_when_no_cell_keeps_the_budgets():
    table = np.full((71, 71), -1.0)
    i, j, _ = fit_calibration.tied_pick(table)
    assert i == 70 and j == 70 + fit_calibration.LONG_OFFSET


def test_case_lines_newer_half_and_fresh_slice():
    import faq_eval
    from faq_eval import read_member, read_real

    cases = [("member", c) for c in read_member("dev")[:5]] + [("real", c) for c in read_real("dev")[0]]
    lines = fit_calibration.case_lines(cases)
    assert (lines[:5] == 0).all()
    assert lines[5:].tolist() == fit_calibration.real_dev_lines()  # every real dev question, in file order
    text = (faq_eval.REAL_DIR / "dev.tsv").read_text(encoding="utf-8").splitlines()
    for (_, c), n in zip(cases[5:], lines[5:], strict=True):  # each line is the question's own row
        assert text[n - 1].split("\t")[0].strip() == c.question
    assert (np.diff(lines[5:]) > 0).all()
    n = len(cases)
    names = np.array([nm for nm, _ in cases])
    scope = np.array([c.in_scope for _, c in cases])
    groups = [("member", names == "member"), ("real", names == "real")]
    zeros = np.zeros((2, n), bool)
    oof = fit_calibration.Oof(np.zeros((2, n)), np.zeros((2, n)), np.zeros((2, n)), zeros, zeros, zeros, zeros,
                              np.zeros(n, bool), scope, groups, None, lines)
    [(name, newer)] = fit_calibration.newer_groups(oof)
    real_n = (names == "real").sum()
    assert name == "real newer" and abs(newer.sum() - real_n / 2) <= 1 and not newer[:5].any()
    assert lines[newer].min() > lines[(names == "real") & ~newer].max()
    assert fit_calibration.newer_groups(oof.subset(np.arange(5))) == []  # no real rows, no group
    # the fresh slice: the rows from the line on; answered right everywhere, never offered
    answered = np.ones((2, n), bool)
    y1 = np.broadcast_to(scope, (2, n)).copy()
    oof.y1 = y1
    out = fit_calibration.fresh_slice(oof, answered, zeros, first_line=int(lines[-10]))
    assert len(out) == 3 and out[2].startswith("  fresh:")
    fresh = (names == "real") & (lines >= lines[-10])
    assert f"{(fresh & scope).sum()} in scope, {(fresh & ~scope).sum()} off-topic; top1 1.000" in out[2]


def _choices_oof(tier_found: int, tier_off_topic: int) -> fit_calibration.Oof:
    """One fold seed, two sets of 10 in-scope and 10 off-topic short questions, none answered: P(right in
    offered) 0.8 for 6 in-scope questions found among the choices, 0.3 for a tier of `tier_found` found and
    `tier_off_topic` off-topic ones, 0.1 for the rest."""
    p3, y3, names = [], [], []
    for name in ("member", "real"):
        p3 += [0.8] * 6 + [0.3] * tier_found + [0.1] * (4 - tier_found)
        y3 += [True] * (6 + tier_found) + [False] * (4 - tier_found)
        p3 += [0.3] * tier_off_topic + [0.1] * (10 - tier_off_topic)
        y3 += [False] * 10
        names += [name] * 20
    scope = np.array(([True] * 10 + [False] * 10) * 2)
    p = np.array([p3])
    names_a = np.array(names)
    groups = [(name, names_a == name) for name in ("member", "real")]
    zeros = np.zeros_like(p, dtype=bool)
    return fit_calibration.Oof(p * 0, p, p, zeros, np.array([y3]), zeros, ~zeros, np.zeros(len(names), bool),
                               scope, groups)


def test_choices_are_offered_when_the_right_entries_found_outweigh_the_off_topic_cost():
    """choose_choices weighs each set's share of in-scope questions whose right entry is offered against
    OOS_CHOICE_COST times its share of off-topic questions offered choices: with the shipped cost (0.2) a
    tier that rescues one real question for every four off-topic ones offered is worth offering, one that
    costs six is not."""
    answered = np.zeros((1, 40), bool)
    worth = _choices_oof(tier_found=1, tier_off_topic=4)
    c, _, _, value = fit_calibration.choose_choices(worth, answered)
    assert c == 0.11  # the lowest threshold that offers the 0.3 tier (and not the 0.1 one)
    assert abs(value - (0.7 - fit_calibration.OOS_CHOICE_COST * 0.4)) < 1e-9
    not_worth = _choices_oof(tier_found=1, tier_off_topic=6)
    c, _, _, value = fit_calibration.choose_choices(not_worth, answered)
    assert c == 0.31 and abs(value - 0.6) < 1e-9  # only the 0.8 tier
    # questions already answered are never offered choices, whatever their P(right in offered)
    c, _, _, value = fit_calibration.choose_choices(worth, np.ones((1, 40), bool))
    assert value == 0.0


def test_answer_weight_lifts_the_newer_real_rows_in_p_right_only(monkeypatch):
    """ANSWER_WEIGHT: the newer half of the real rows (by dev.tsv line) weighs more in P(right | in scope);
    P(in scope) and the choices models keep the set weights (WEIGHT_SCOPE off)."""
    member = [("member", Case(f"q{i}", ("e1",), "")) for i in range(4)]
    real = [("real", Case(f"r{i}", ("e2",), "p", line=10 + i)) for i in range(6)]
    monkeypatch.setattr(fit_calibration, "ANSWER_WEIGHT", {"real": 1.0, "real newer": 1.5})
    factor = fit_calibration.answer_factor(member + real)
    assert factor.tolist() == [1.0] * 4 + [1.0] * 3 + [1.5] * 3  # lines 13-15: at or after the median (12.5)

    rng = np.random.default_rng(8)
    n = 300
    z = rng.normal(size=(n, len(fit_calibration.USED)))
    in_scope = z[:, 0] > -0.5
    newer = np.arange(n) % 2 == 0
    # on the newer rows the second feature tells a right best entry, on the others the third
    y1 = in_scope & np.where(newer, z[:, 1] > 0, z[:, 2] > 0)
    w, heavy = np.ones(n), np.where(newer, 3.0, 1.0)
    monkeypatch.setattr(fit_calibration, "WEIGHT_SCOPE", False)
    plain = fit_calibration.fit_models(z, y1.astype(float), y1.astype(float), w, in_scope)
    lifted = fit_calibration.fit_models(z, y1.astype(float), y1.astype(float), w, in_scope, answer_w=heavy)
    assert lifted[0].weights[1] - lifted[0].weights[2] > plain[0].weights[1] - plain[0].weights[2] + 0.3
    assert lifted[3] == plain[3] and lifted[1] == plain[1]  # the scope and choices models are untouched
    monkeypatch.setattr(fit_calibration, "WEIGHT_SCOPE", True)
    assert fit_calibration.fit_models(z, y1.astype(float), y1.astype(float), w, in_scope, answer_w=heavy)[3] != plain[3]
