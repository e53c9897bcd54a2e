"""Long and multi-part messages: greetings and preambles dropped, question sentences found."""

import unicodedata

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


# --- how letters and Q&A columns are written (issue 10, item 5) -----------------------------------

@pytest.mark.parametrize("text, first", [
    # a headline or label before a colon
    ("Giải đáp: Tài khoản VNeID bị xóa có lấy lại được không?", "Tài khoản VNeID bị xóa"),
    ("Ngày mai (1/7): Nhiều người vẫn không quét được CCCD trên app ngân hàng, phải làm sao?", "Nhiều người vẫn"),
    # calling someone, then the asking phrase
    ("Em ơi cho chị hỏi, chị nhận được 400 triệu từ một tài khoản lạ, phải làm sao em?", "chị nhận được 400"),
    ("Anh chị ơi, em hỏi vấn đề này ạ: Cứ bao nhiêu năm thì phải đổi thẻ Căn cước?", "Cứ bao nhiêu năm"),
    # a greeting clause closed by a comma, with a name the preamble list does not know
    ("Xin chào luatsu247, giấy khai sinh và chứng minh nhân dân không khớp nhau có sao không?", "giấy khai sinh"),
    # a linking word opening the sentence (on the accented text)
    ("Tuy nhiên, chữ ký số là gì?", "chữ ký số là gì?"),
    ("Nhưng liệu người cao tuổi có thể sử dụng VNeID không?", "người cao tuổi"),
    # whom the question is put to, after the asking phrase
    ("Xin hỏi Thời Nay, người tạm trú có được làm căn cước tại TP Hồ Chí Minh không?", "người tạm trú"),
    ("LVN Group cho tôi hỏi rằng có cần cắt hộ khẩu của bố tôi không?", "có cần cắt"),
])
def test_openers_of_letters_are_cut(text, first):
    assert split_question(text)[0].startswith(first)


def test_a_headline_that_names_the_topic_stays_as_context():
    """'Sáp nhập tỉnh, xã: Người dân có cần đổi giấy tờ?' asks about the merger; labels and dates go."""
    parts = split_question("Sáp nhập tỉnh, xã: Người dân có cần đổi giấy tờ tùy thân?")
    assert parts == ["Sáp nhập tỉnh, xã Người dân có cần đổi giấy tờ tùy thân?"]
    for label in ("Giải đáp", "Câu 2", "Ngày mai (1/7)", "Tôi muốn hỏi", "Anh chị ơi, em hỏi vấn đề này ạ"):
        assert split_question(f"{label}: Người dân có cần đổi giấy tờ tùy thân?") == [
            "Người dân có cần đổi giấy tờ tùy thân?"], label


def test_accent_free_vay_is_a_loan_and_stays():
    assert split_question("vay tien qua app co an toan khong") == ["vay tien qua app co an toan khong"]


@pytest.mark.parametrize("text, question", [
    ("Khi không may bị lừa đảo qua mạng thì người dân nên xử lý như thế nào, thưa Luật sư?",
     "Khi không may bị lừa đảo qua mạng thì người dân nên xử lý như thế nào?"),
    ("Luật sư cho tôi hỏi tài khoản ngân hàng có bán được không Tôi xin chân thành cảm ơn luật sư rất nhiều",
     "tài khoản ngân hàng có bán được không"),
])
def test_closing_words_and_an_asking_phrase_inside_a_sentence_are_cut(text, question):
    assert split_question(text) == [question]


def test_a_long_lead_in_before_the_asking_phrase_stays_as_context():
    parts = split_question("Trên mạng xuất hiện nhiều đối tượng lừa chuyển tiền qua thẻ cào, lừa trúng thưởng… "
                           "Xin hỏi Luật sư, nếu muốn tố cáo các đối tượng này, tôi phải làm thế nào?")
    assert len(parts) == 1
    assert parts[0].startswith("Trên mạng") and "Xin hỏi" not in parts[0] and "Luật sư" not in parts[0]
    assert parts[0].endswith("nếu muốn tố cáo các đối tượng này, tôi phải làm thế nào?")


def test_a_narrative_sentence_with_a_question_word_is_context_not_the_question():
    parts = split_question("Bà ngoại tôi 74 tuổi, chưa từng đi làm ở đâu. Ông đã nghỉ hưu và được nhận lương hưu. "
                           "Xin hỏi bà tôi có được hưởng trợ cấp hưu trí xã hội không?")
    assert len(parts) == 1
    assert parts[0].startswith("Bà ngoại") and parts[0].endswith("trợ cấp hưu trí xã hội không?")


def test_a_sentence_asking_two_things_comes_whole_then_each_clause():
    assert split_question("Giấy xác nhận cư trú là gì, xin cấp ở đâu?") == [
        "Giấy xác nhận cư trú là gì, xin cấp ở đâu?", "Giấy xác nhận cư trú là gì", "xin cấp ở đâu?"]
    assert split_question("Mobile Money là gì và dùng ra sao?")[1:] == ["Mobile Money là gì", "dùng ra sao?"]


@pytest.mark.parametrize("text", [
    "Khi đăng ký tài khoản định danh điện tử, có cần số điện thoại chính chủ không?",
    "bay gio khong con huyen thi lam giay to o dau",
    "Có được làm online không hay phải ra xã?",
])
def test_a_sentence_asking_one_thing_is_not_split(text):
    assert split_question(text) == [text]


def test_decomposed_accents_are_cut_in_the_right_place():
    text = unicodedata.normalize("NFD", "Cho tôi hỏi điều kiện đăng ký tạm trú online là gì?")
    assert split_question(text) == [unicodedata.normalize("NFC", "điều kiện đăng ký tạm trú online là gì?")]

