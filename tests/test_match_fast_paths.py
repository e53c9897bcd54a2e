"""The matcher's fast paths (issue 10, item 8) give exactly what the plain code they replace gives.

Each reference below is the straightforward version that the fast path replaced: fold with a Python
loop over characters, the phrase folding that scans the text for every phrase, BM25 and word shares
summed with np.concatenate per term, the candidate phrasings picked with np.unique / np.union1d, the
concepts found word by word, the re-ranker's word shares by np.concatenate, its query words unkept.
The shipped knowledge base is matched both ways, on real and phone-typed questions and on hard
input (empty, emoji, a 5,000-character letter), and every figure must be equal, not merely close:
a broken precomputation (a wrong offset, a stale or wrongly filled cache) cannot pass. No timing here:
speed is measured by benchmarks/match_profile.py and `make eval`.
"""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pytest

from knowledge import concepts, lexical, matcher, normalize
from knowledge import question as sentences_mod
from knowledge.lexical import terms
from knowledge.normalize import ABBREVIATIONS, PHRASES, fold_char

QUESTIONS = [
    "kich hoat vneid ko dc",
    "Quên mật khẩu VNeID thì làm sao?",
    "Cho tôi hỏi điều kiện để đăng ký sử dụng tài khoản định danh điện tử hiện nay được quy định thế nào?",
    "Chào bạn. Cho hỏi cách kích hoạt? Và đổi mật khẩu?",
    "“Mã OTP” là gì… – có nên đọc cho người khác không?",
    "chuyen khoan 10tr mat phi ko, quen pass code ngan hang",
    "Bà ngoại tôi 74 tuổi, chưa từng đi làm. Bà có được nhận trợ cấp hưu trí xã hội không? Làm ở đâu? Xin cảm ơn!",
    "xổ số miền bắc hôm nay",
    "vneid",
    "",
    " ",
    "?!?! 😀",
    "👍🙏🙏",
    "kich hoat vneid ko dc 🙏🙏",
    "'; DROP TABLE users; --",
    "/start",
    "a" * 5000,
    ("Chào bạn. Tôi năm nay 60 tuổi, ở xã. " * 60 + "Cho tôi hỏi cách kích hoạt tài khoản định danh điện tử? "
     "Và đổi mật khẩu thế nào? Xin cảm ơn.")[:5000],
    "kích hoạt vneid 🙂 " * 250,
    unicodedata.normalize("NFD", "Đăng ký tạm trú online được không? Mất bao lâu?"),
    "İstanbul ẞ ﬁ Ⅻ ① ｖｎｅｉｄ ⅰ",
]


# --- the references: the code before the fast paths ------------------------------------------------

_TABLE = {i: f for i in range(0x2000) if len(f := fold_char(chr(i))) == 1 and f != chr(i)}


def fold_reference(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_TABLE)
    if text.isascii():
        return text
    return "".join(c if ord(c) < 0x2000 else fold_char(c) for c in text)


def tokens_reference(text: str) -> tuple[str, ...]:
    text = normalize._MILLIONS_RE.sub(r"\1 trieu", normalize._PASSCODE_RE.sub("passcode", fold_reference(text)))
    expanded: list[str] = []
    for w in normalize._WORD_RE.findall(text):
        w = ABBREVIATIONS.get(w, w)
        if w:
            expanded.extend(w.split())
    joined = " " + " ".join(expanded) + " "
    for old, new in PHRASES:
        if f" {old} " in joined:
            joined = joined.replace(f" {old} ", f" {new} ")
    return tuple(joined.split())


def accumulate(postings: dict[str, tuple[np.ndarray, np.ndarray]], known: list[str], size: int) -> np.ndarray:
    """BM25 summed with np.concatenate per term (what lexical.scores and Matcher._sums replaced)."""
    if not known:
        return np.zeros(size)
    found = [postings[t] for t in known]
    return np.bincount(np.concatenate([p[0] for p in found]), weights=np.concatenate([p[1] for p in found]),
                       minlength=size)


def _weighted(arrays: list[np.ndarray], weights: list[float], size: int) -> np.ndarray:
    if not arrays:
        return np.zeros(size)
    return np.bincount(np.concatenate(arrays), weights=np.repeat(weights, [len(a) for a in arrays]), minlength=size)


def sums_reference(m: matcher.Matcher, q: str, query: matcher.Query | None = None) -> tuple[np.ndarray, np.ndarray,
                                                                                              np.ndarray]:
    """(`query` is left unfilled: the lexical scores and word shares then come from their own references.)"""
    bm = accumulate(m.postings, [t for t in set(matcher._terms(q)) if t in m.postings], len(m.keys))
    words = [w for w in set(q.split()) if w in m.postings]
    shared = _weighted([m.postings[w][0] for w in words], [m.weight(w) for w in words], len(m.keys))
    entries = [w for w in set(q.split()) if w in m.entry_postings]
    entry_shared = _weighted([m.entry_postings[w] for w in entries], [m.weight(w) for w in entries], len(m.entries))
    return bm, shared, entry_shared


def candidates_reference(m: matcher.Matcher, bm: np.ndarray, nonzero: int, wide: int = matcher.CANDIDATES,
                         entries: int = matcher.ENTRY_CANDIDATES) -> np.ndarray:
    pool = min(nonzero, wide * 8)
    part = np.argpartition(-bm, pool - 1)[:pool] if pool < len(bm) else np.flatnonzero(bm)
    part = part[np.argsort(-bm[part], kind="stable")]
    part = part[bm[part] > 0]
    _, first = np.unique(m.owner_a[part], return_index=True)
    firsts = part[np.sort(first)[:entries]]
    return np.union1d(firsts, part[:wide])


def lexical_reference(lex: lexical.Lexical, q: str) -> tuple[np.ndarray, float]:
    known = [t for t in set(terms(q)) if t in lex.postings]
    return accumulate(lex.postings, known, lex.size), sum(lex.idf[t] for t in known)


def word_shares_reference(m: matcher.Matcher, known: list[str], weights: dict[str, float]) -> np.ndarray:
    return _weighted([m.share_postings[w] for w in known], [weights[w] for w in known],
                     3 * len(m.entries))


def query_words_reference(m: matcher.Matcher, q: str) -> dict[str, float]:
    words = set(q.split()) - normalize.STOPWORDS or set(q.split())
    return {w: m.lexical.idf.get(w, m.unknown_idf) for w in words}


def concepts_reference(text_key: str) -> frozenset[str]:
    words = text_key.split()
    found: set[str] = set()
    for i, w in enumerate(words):
        hit = concepts._SINGLE.get(w)
        if hit is not None:
            found.add(hit)
        for pattern, c in concepts._MULTI.get(w, ()):
            if tuple(words[i:i + len(pattern)]) == pattern:
                found.add(c)
        guarded = concepts._GUARDED.get(w)  # ("phạt" unless the next word makes it "phát hiện", ...)
        if guarded is not None and (words[i + 1] if i + 1 < len(words) else "") not in guarded[1]:
            found.add(guarded[0])
    return frozenset(found)


# --- the tests --------------------------------------------------------------------------------------


def test_fold_agrees_with_the_per_character_definition_on_every_code_point_up_to_u30000():
    # one character at a time (NFC may compose neighbours in a longer string), then as strings
    for start in range(0, 0x30000, 0x1000):
        chars = [chr(i) for i in range(start, start + 0x1000)]
        assert [normalize.fold(c) for c in chars] == [fold_reference(c) for c in chars], hex(start)
        text = "".join(chars)
        assert normalize.fold(text) == fold_reference(text)
    assert len(normalize._FOLD_MAP) <= normalize._FoldMap.LIMIT  # the lazily filled part stays bounded


@pytest.mark.parametrize("text", QUESTIONS)
def test_fold_and_tokens_agree_with_the_references(text):
    for _ in range(2):  # the second time from the filled fold map
        assert normalize.fold(text) == fold_reference(text)
        assert len(normalize.fold(text)) == len(unicodedata.normalize("NFC", text))
    normalize.tokens.cache_clear()
    assert normalize.tokens(text) == tokens_reference(text)


def test_phrase_folding_with_first_word_skips_matches_scanning_every_phrase(shipped_kb):
    """Chained phrases ("dinh danh" -> "dinhdanh" -> "dinhdanh vneid"), phrases that become empty ("the
    nao"), and random runs of phrase words: the skip by first word never skips a phrase that is there."""
    texts = [t for e in shipped_kb.entries.values() for t in (e.title, *e.questions, e.answer)]
    words = sorted({w for old, new in PHRASES for w in (*old.split(), *new.split())} | set(ABBREVIATIONS))
    rng = random.Random(10)
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    texts += ["ho so dinh danh dien tu", "so dinh danh ca nhan", "the nao the nao", "pass  code 5tr", "PASS CODE"]
    normalize.tokens.cache_clear()
    wrong = [t for t in texts if normalize.tokens(t) != tokens_reference(t)]
    assert not wrong, wrong[:5]


def test_concepts_by_set_intersection_are_the_same(shipped_kb):
    texts = [normalize.key(t) for e in shipped_kb.entries.values() for t in (e.title, *e.questions, e.answer)]
    words = sorted({w for ps in concepts.CONCEPTS.values() for p in ps for w in p.split()} | {"x", "vay", "hien", "song"})
    rng = random.Random(11)
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(0, 15))) for _ in range(5000)]
    wrong = [t for t in texts if concepts.concepts(t) != concepts_reference(t)]
    assert not wrong, wrong[:5]


def test_one_bincount_gives_the_same_sums_to_the_last_bit(shipped_kb):
    m = shipped_kb.matcher
    for question in QUESTIONS:
        q = m.query_key(question)
        for got, want in zip(m._sums(q), sums_reference(m, q), strict=True):
            assert np.array_equal(got, want), question[:40]
        got_lex, got_ceiling = m.lexical.scores(q)
        want_lex, want_ceiling = lexical_reference(m.lexical, q)
        assert np.array_equal(got_lex, want_lex) and got_ceiling == want_ceiling


def test_candidates_are_the_same_phrasings(shipped_kb):
    m = shipped_kb.matcher
    for question in QUESTIONS + [e.title for e in shipped_kb.entries.values()]:
        q = m.query_key(question)
        bm = m._sums(q)[0]
        nonzero = int(np.count_nonzero(bm))
        if nonzero:
            assert np.array_equal(m._candidates(bm, nonzero), candidates_reference(m, bm, nonzero)), question[:40]
            light = matcher.LIGHT_CANDIDATES
            assert np.array_equal(m._candidates(bm, nonzero, light, light),
                                  candidates_reference(m, bm, nonzero, light, light)), question[:40]


def test_the_query_words_are_those_of_the_query_asked(shipped_kb):
    m = shipped_kb.matcher
    keys = [m.query_key(q) for q in QUESTIONS]
    for q in keys + keys[::-1] + keys:  # each asked again right after, and after others
        assert m._query_words(q) == query_words_reference(m, q)
        assert list(m._query_words(q)) == list(query_words_reference(m, q))  # same order: same sums


def test_each_query_carries_its_own_sums(shipped_kb):
    """The sums one query's stages share travel with its evidence (no matcher state): evidence for
    one key, then for another, leaves the first one's lexical scores and word shares as they were."""
    m = shipped_kb.matcher
    a, b = m.query_key(QUESTIONS[1]), m.query_key(QUESTIONS[2])
    ev_a = m.evidence(a)
    lex_a, shares_a = ev_a.query.lex.copy(), ev_a.query.shares.copy()
    m.evidence(b)
    assert ev_a.query.key == a and np.array_equal(ev_a.query.lex, lex_a) and np.array_equal(ev_a.query.shares, shares_a)
    want_lex, want_ceiling = lexical_reference(m.lexical, a)
    assert np.array_equal(ev_a.query.lex, want_lex) and ev_a.query.ceiling == want_ceiling
    weights = query_words_reference(m, a)
    want_shares = word_shares_reference(m, [w for w in weights if w in m.share_postings], weights)
    assert np.array_equal(ev_a.query.shares, want_shares)


def _outcome(m: matcher.Matcher, question: str) -> tuple:  # type: ignore[type-arg]
    match = m.match(question)
    ev = m.evidence(m.primary_key(question))
    return (match.status, [(s.entry.id, s.score) for s in match.ranked], [s.entry.id for s in match.offered],
            match.confidence, ev.order, ev.fused.tolist(), ev.phrase, ev.f1, ev.rr.tolist(), ev.features.tolist(),
            ev.candidates.tolist())


def test_match_is_the_same_through_the_fast_paths_and_the_plain_code(shipped_kb, monkeypatch):
    m = shipped_kb.matcher
    questions = QUESTIONS + [q for e in list(shipped_kb.entries.values())[::9] for q in e.questions[:2]]
    normalize.tokens.cache_clear()
    fast = [_outcome(m, q) for q in questions]
    fast_again = [_outcome(m, q) for q in questions]  # from the filled caches
    monkeypatch.setattr(normalize, "fold", fold_reference)
    monkeypatch.setattr(matcher.Matcher, "_sums", sums_reference)
    monkeypatch.setattr(matcher.Matcher, "_candidates", candidates_reference)
    monkeypatch.setattr(lexical.Lexical, "scores", lexical_reference)
    monkeypatch.setattr(matcher, "concepts", concepts_reference)
    monkeypatch.setattr(matcher.Matcher, "_word_shares", word_shares_reference)
    monkeypatch.setattr(matcher.Matcher, "_query_words", query_words_reference)
    normalize.tokens.cache_clear()
    plain = [_outcome(m, q) for q in questions]
    normalize.tokens.cache_clear()
    assert fast == fast_again
    for question, got, want in zip(questions, fast, plain, strict=True):
        assert got == want, question[:60]


def test_phrasings_that_share_no_word_score_without_nan(shipped_kb):
    """The F1 of a candidate sharing no word is 0 (the guarded division), and mixing such a candidate
    with ordinary ones changes nothing for the others."""
    m = shipped_kb.matcher
    q = m.query_key("kich hoat vneid ko dc")
    bm, shared, entry_shared = m._sums(q)
    docs = m._candidates(bm, int(np.count_nonzero(bm)))
    stranger = int(np.flatnonzero(shared == 0)[0])
    both = np.union1d(docs, [stranger])
    alone: dict[int, float] = {}
    f1_alone: dict[int, float] = {}
    m._score(q, docs, bm[docs], alone, f1_alone, (shared, entry_shared))
    mixed: dict[int, float] = {}
    f1_mixed: dict[int, float] = {}
    m._score(q, both, bm[both], mixed, f1_mixed, (shared, entry_shared))
    owner = m.owner[stranger]
    assert all(np.isfinite(list(mixed.values()))) and f1_mixed.get(owner, 0.0) == f1_alone.get(owner, 0.0)
    assert {i: s for i, s in mixed.items() if i != owner} == {i: s for i, s in alone.items() if i != owner}


def test_cached_query_sets_iterate_like_fresh_sets(shipped_kb):
    """The cached word and term sets are iterated in the order `set(...)` gives, so the sums over
    them (BM25 ceilings, query weights) are the same to the last bit, and asked again they come back."""
    m = shipped_kb.matcher
    for question in QUESTIONS:
        q = m.query_key(question)
        words, query_terms = lexical.query_sets(q)
        assert list(words) == list(set(q.split())) and list(query_terms) == list(set(terms(q)))
        assert lexical.query_sets(q) == (words, query_terms)


def asking_most_reference(folded: list[str]) -> list[bool] | None:
    """Each sentence's own tier (the first pattern it meets), then those at the lowest tier."""
    tiers = [next((i for i, r in enumerate(sentences_mod._TIERS) if r.search(f)), len(sentences_mod._TIERS)) for f in folded]
    best = min(tiers)
    return None if best == len(sentences_mod._TIERS) else [t == best for t in tiers]


def test_question_sentences_found_tier_by_tier_are_the_same(shipped_kb, monkeypatch):
    letters = QUESTIONS + [
        "Tôi 70 tuổi. Tôi chưa từng đi làm ở đâu. Bà có được nhận trợ cấp không",
        "Chào anh. Thủ tục đăng ký kết hôn cần những gì, thực hiện ra sao. Mất bao lâu nhỉ",
        "Em muốn biết cách cài VNeID. Có mất phí không. Xin cảm ơn.",
        "Hộ tôi mới chuyển đến. Cần làm gì để đăng ký tạm trú",
        "Con tôi chọn nơi nào cho nhanh cũng được. Làm căn cước cho cháu có mất phí không",
        "Tôi mất ví. Thẻ căn cước cũng mất. Không biết làm lại thẻ thế nào. Cảm ơn",
    ] + [q for e in list(shipped_kb.entries.values())[::5] for q in e.questions[:3]]
    fast = [sentences_mod.split_question(t) for t in letters]
    monkeypatch.setattr(sentences_mod, "_asking_most", asking_most_reference)
    assert fast == [sentences_mod.split_question(t) for t in letters]
