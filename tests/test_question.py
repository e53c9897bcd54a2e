"""Long and multi-part messages: greetings and preambles dropped, question sentences found."""

import pytest

from knowledge.question import split_question, strip_preamble


def test_letter_keeps_context_and_question_drops_greeting_and_thanks():
    parts = split_question("Chào luật sư, tôi năm nay 60 tuổi, chưa có điện thoại thông minh. "
                           "Cho tôi hỏi tôi có làm được tài khoản định danh điện tử không? Xin cảm ơn!")
    assert len(parts) == 1
    assert parts[0].startswith("tôi năm nay 60 tuổi")
    assert "tài khoản định danh điện tử" in parts[0]
    assert "cảm ơn" not in parts[0] and "Chào" not in parts[0]


def test_two_questions_are_two_parts():
    assert split_question("Mã OTP là gì? Có nên đọc cho người khác không?") == [
        "Mã OTP là gì?", "Có nên đọc cho người khác không?"]


@pytest.mark.parametrize("text, rest", [
    ("Cho tôi hỏi điều kiện để đăng ký tài khoản định danh điện tử?", "điều kiện để đăng ký"),
    ("chào bạn cho hỏi cách kích hoạt VNeID", "cách kích hoạt VNeID"),
    ("Xin hỏi thủ tục cấp lại thẻ căn cước", "thủ tục cấp lại"),
])
def test_preambles_are_cut(text, rest):
    assert strip_preamble(text).startswith(rest)


@pytest.mark.parametrize("text", ["kich hoat vneid ko dc", "xin chao", "cảm ơn bạn nhiều", ""])
def test_short_messages_are_left_alone(text):
    assert split_question(text) == [text] if text else split_question(text) in ([""], [])
