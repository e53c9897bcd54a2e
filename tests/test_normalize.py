"""Vietnamese normalisation: NFC, tone-mark conventions, đ, no-diacritic forms, abbreviations."""

import unicodedata

import pytest

from knowledge.normalize import accented, drop_opener, fold, has_diacritics, key, tokens


def test_nfc_and_decomposed_are_equal():
    composed = "kích hoạt tài khoản"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert tokens(composed) == tokens(decomposed)


@pytest.mark.parametrize("old, new", [("hòa", "hoà"), ("thủy", "thuỷ"), ("khỏe", "khoẻ")])
def test_tone_mark_placement(old, new):
    assert accented(old) == accented(new)
    assert key(old) == key(new)


def test_d_with_stroke_and_lookalike():
    assert fold("Đăng ký đường") == "dang ky duong"
    assert fold("\u00d0ăng") == "dang"  # Ð (U+00D0), the Icelandic eth lookalike


def test_fold_keeps_length_for_span_mapping():
    text = "Số CCCD của tôi là 001203004567"
    assert len(fold(text)) == len(text)


@pytest.mark.parametrize("typed, full", [
    ("kich hoat vneid ko dc", "kích hoạt VNeID không được"),
    ("quen mk dvc", "quên mật khẩu dịch vụ công"),
    ("mo tk ngan hang can gi", "mở tài khoản ngân hàng cần gì"),
    ("sdt dk cccd", "số điện thoại đăng ký căn cước công dân"),
    ("ck 10tr", "chuyển khoản 10tr"),
    ("vn eid", "VNeID"),
])
def test_abbreviations_and_missing_diacritics(typed, full):
    assert key(typed) == key(full)


def test_domain_abbreviations_are_not_teen_code():
    # Generic lists map mk -> mình and dk -> được; here they mean mật khẩu and đăng ký.
    assert "matkhau" in tokens("mk")
    assert tokens("dk") == ("dang", "ky")


def test_cccd_and_full_name_give_same_tokens():
    assert key("CCCD") == key("căn cước công dân") == key("thẻ căn cước")


def test_stop_words_dropped_but_never_everything():
    assert key("cho em hỏi với ạ") != ""
    assert "vneid" in key("cho em hỏi vneid với ạ").split()


def test_has_diacritics():
    assert has_diacritics("kích hoạt")
    assert not has_diacritics("kich hoat")


def test_greeting_before_question_is_dropped():
    assert drop_opener(["chao", "kich", "hoat", "vneid"]) == ["kich", "hoat", "vneid"]
    assert drop_opener(["xin", "chao"]) == ["xin", "chao"]
