"""benchmarks/semantic_study.py: the corpus-derived word vectors and the extra re-ranker column it studies."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import semantic_study  # noqa: E402

from knowledge.matcher import LEX_K1, Matcher  # noqa: E402


@pytest.fixture(scope="module")
def ppmi() -> semantic_study.Ppmi:
    return semantic_study.Ppmi()


def test_ppmi_vectors_put_words_used_together_closer_than_unrelated_ones(ppmi):
    # "mat khau" (password) and "quen" (forget) share many answer lines; "lua dao" (fraud) lines rarely hold both
    near = ppmi.vec(["matkhau"]) @ ppmi.vec(["quen"])
    far = ppmi.vec(["matkhau"]) @ ppmi.vec(["khaisinh"])
    assert near > far + 0.2
    assert not ppmi.vec(["zzzz"]).any()  # an unknown word has no vector


def test_extra_column_is_appended_and_leaves_the_shipped_features_untouched(ppmi, shipped_kb, monkeypatch):
    m = shipped_kb.matcher
    entries = m.entries
    q = m.primary_key("quên mật khẩu VNeID thì làm sao")
    ev = m.evidence(q)
    lex, ceiling = m.lexical.scores(q)
    lex_rel = lex / (ceiling * (1 + LEX_K1))
    cands = list(ev.order)
    plain = m.candidates_matrix(q, ev, lex_rel, cands)
    monkeypatch.setattr(semantic_study, "_ACTIVE", [semantic_study.Feature(ppmi, "max")])
    monkeypatch.setattr(Matcher, "candidates_matrix", semantic_study._patched)
    wide = m.candidates_matrix(q, ev, lex_rel, cands)
    assert wide.shape == (len(cands), plain.shape[1] + 1)
    assert np.array_equal(wide[:, :-1], plain)
    assert ((wide[:, -1] >= -1.0) & (wide[:, -1] <= 1.0 + 1e-9)).all()
    # the closest candidate in the vector space is one about the password
    best = cands[int(np.argmax(wide[:, -1]))]
    assert "matkhau" in semantic_study.key(" ".join([entries[best].title, *entries[best].questions]))
