"""BM25 field weights (knowledge/lexical.py FIELD_WEIGHTS): a field's terms count by its weight."""

from __future__ import annotations

import dataclasses
from collections import Counter

from knowledge import lexical
from knowledge.loader import load
from knowledge.normalize import key


def _entries() -> list:  # type: ignore[type-arg]
    base = load()[0]
    # the same made-up word in one entry's answer and in the other's phrasing, both otherwise alike
    a = dataclasses.replace(base, id="a", title="Thủ tục một", questions=("hỏi về thủ tục",),
                            answer="Mang giấy tờ xyzqua đến xã.")
    b = dataclasses.replace(base, id="b", title="Thủ tục hai", questions=("hỏi về xyzqua",),
                            answer="Mang giấy tờ thủ tục đến xã.")
    return [a, b]


def test_equal_weights_count_every_term_once(monkeypatch):
    monkeypatch.setattr(lexical, "FIELD_WEIGHTS", {"title": 1.0, "phrasings": 1.0, "answer": 1.0})
    for e in load()[:20]:
        assert lexical.entry_counts(e) == Counter(lexical.entry_terms(e))


def test_answer_weight_scales_answer_terms(monkeypatch):
    q = key("xyzqua")
    monkeypatch.setattr(lexical, "FIELD_WEIGHTS", {"title": 1.0, "phrasings": 1.0, "answer": 1.0})
    even = lexical.Lexical(_entries()).scores(q)[0]
    assert even[0] > 0 and abs(even[0] - even[1]) < 0.05 * even[1]  # one occurrence each, alike lengths
    monkeypatch.setattr(lexical, "FIELD_WEIGHTS", {"title": 1.0, "phrasings": 1.0, "answer": 0.5})
    half = lexical.Lexical(_entries()).scores(q)[0]
    assert 0 < half[0] < half[1]  # the answer's occurrence now counts half
    assert lexical.entry_counts(_entries()[0])[q] == 0.5
