"""The concept lexicon the re-ranker reads, on normalised keys."""

from knowledge.concepts import CONCEPTS, concepts
from knowledge.normalize import key


def test_single_and_multi_word_concepts_are_found_on_the_key():
    assert concepts(key("Quên mật khẩu Zalo lấy lại thế nào")) == {"password", "zalo"}
    assert {"temp_residence", "id_card"} <= concepts(key("đăng ký tạm trú có cần thẻ căn cước không"))
    assert "health" in concepts(key("khám bệnh bằng bảo hiểm y tế"))


def test_phone_typed_and_formal_forms_name_the_same_concepts():
    assert concepts(key("tk vneid bi khoa")) == concepts(key("Tài khoản định danh điện tử bị khóa"))
    assert "bank" in concepts(key("app nh bat xac thuc")) and "bank" in concepts(key("ứng dụng ngân hàng"))


def test_a_multi_word_pattern_needs_its_words_in_order_and_whole():
    assert "loan" not in concepts(key("vay tiền"[::-1]))
    assert "loan" in concepts(key("vay tiền ngân hàng"))
    assert concepts("") == frozenset()


def test_every_pattern_reaches_its_concept_through_the_normaliser():
    """A pattern the normaliser would rewrite (joined terms, expanded abbreviations) could never match."""
    missed = [(name, p) for name, patterns in CONCEPTS.items() for p in patterns if name not in concepts(key(p))]
    assert not missed, missed
