"""The discriminative ranker (knowledge/classifier.py): a softmax regression over the entries."""

import datetime as dt

import numpy as np

from knowledge.calibration import CANDIDATE_FEATURES, FEATURES
from knowledge.classifier import Classifier, content_hash, terms, trained
from knowledge.loader import Entry
from knowledge.matcher import Matcher
from knowledge.normalize import key


def entry(ident: str, title: str, *questions: str) -> Entry:
    return Entry(id=ident, title=title, topic="vneid", questions=questions, answer="Trả lời.", related=(),
                 sources=(), checked=dt.date(2026, 11, 1))


# Siblings that share most of their words: only a word or two tells them apart.
TOY = [
    entry("doi-the-theo-tuoi", "Đổi thẻ căn cước khi đủ tuổi", "đến tuổi phải đổi thẻ căn cước",
          "đủ 25 tuổi đổi thẻ", "thẻ căn cước hết hạn theo tuổi"),
    entry("phat-cham-doi-the", "Phạt chậm đổi thẻ căn cước", "không đổi thẻ căn cước có bị phạt không",
          "chậm đổi thẻ bị phạt bao nhiêu", "quá hạn đổi thẻ phạt"),
    entry("quen-mat-khau-vneid", "Quên mật khẩu VNeID", "quên mật khẩu vneid", "lấy lại mật khẩu vneid"),
    entry("quen-mat-khau-ngan-hang", "Quên mật khẩu ngân hàng", "quên mật khẩu app ngân hàng",
          "lấy lại mật khẩu ngân hàng"),
]


def best(clf: Classifier, text: str) -> str:
    return TOY[int(np.argmax(clf.proba(key(text))))].id


def test_learns_what_tells_siblings_apart():
    clf = Classifier(TOY)
    assert best(clf, "toi du tuoi roi co phai doi the khong") == "doi-the-theo-tuoi"
    assert best(clf, "doi the muon co bi phat khong") == "phat-cham-doi-the"
    assert best(clf, "quen mk vneid") == "quen-mat-khau-vneid"
    assert best(clf, "quên mật khẩu ngân hàng thì làm sao") == "quen-mat-khau-ngan-hang"
    p = clf.proba(key("chậm đổi thẻ căn cước bị phạt"))
    assert p.shape == (len(TOY),) and abs(p.sum() - 1) < 1e-6 and p.argmax() == 1 and p.max() > 0.5


def test_the_fit_is_deterministic():
    a, b = Classifier(TOY), Classifier(TOY)
    assert np.array_equal(a.weights, b.weights) and a.vocab == b.vocab


def test_empty_and_garbage_input_give_a_flat_distribution():
    clf = Classifier(TOY)
    for text in ("", "!!! ???", "😀😀", "xyzzy qwfp"):
        z = clf.logits(key(text))
        assert not z.any()
        p = clf.proba(key(text))
        assert np.allclose(p, 1 / len(TOY))


def test_unknown_words_flatten_the_distribution_but_do_not_change_the_order():
    clf = Classifier(TOY)
    plain = clf.proba(key("quen mat khau vneid"))
    noisy = clf.proba(key("quen mat khau vneid xyzzy plugh frobnicate"))
    assert plain.argmax() == noisy.argmax()
    assert noisy.max() < plain.max()


def test_terms_are_syllables_and_pairs():
    assert terms("quen mat khau") == ["quen", "mat", "khau", "quen_mat", "mat_khau"]
    assert terms("a a") == ["a", "a_a"]
    assert terms("") == []


def test_an_empty_knowledge_base_fits_nothing():
    clf = Classifier([])
    assert clf.weights.shape[1] == 0 and clf.proba("vneid").shape == (0,)


def test_trained_is_cached_by_content():
    assert trained(TOY) is trained(list(TOY))
    changed = [*TOY[:-1], entry("quen-mat-khau-ngan-hang", "Quên mật khẩu ngân hàng", "quên pass ngân hàng")]
    assert content_hash(changed) != content_hash(TOY)
    assert trained(changed) is not trained(TOY)


def test_the_matcher_reads_the_classifier():
    m = Matcher(TOY)
    ev = m.evidence(m.query_key("chậm đổi thẻ căn cước bị phạt không"))
    assert ev.clf.shape == (len(TOY),)
    assert ev.candidates.shape == (len(ev.order), len(CANDIDATE_FEATURES))
    top = ev.candidates[:, CANDIDATE_FEATURES.index("clf_top")]
    assert top.sum() == 1 and ev.order[int(top.argmax())] == 1  # the classifier's own first entry
    assert ev.features[FEATURES.index("clf_prob")] == ev.candidates[0, CANDIDATE_FEATURES.index("clf_prob")]
