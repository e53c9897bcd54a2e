"""Vietnamese normalisation: NFC, tone-mark conventions, đ, no-diacritic forms, abbreviations."""

import unicodedata

import pytest

from knowledge.normalize import NEGATION, drop_opener, fold, key, tokens


def test_nfc_and_decomposed_are_equal():
    composed = "kích hoạt tài khoản"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert tokens(composed) == tokens(decomposed)


@pytest.mark.parametrize("old, new", [("hòa", "hoà"), ("thủy", "thuỷ"), ("khỏe", "khoẻ")])
def test_tone_mark_placement(old, new):
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


def test_greeting_before_question_is_dropped():
    assert drop_opener(["chao", "kich", "hoat", "vneid"]) == ["kich", "hoat", "vneid"]
    assert drop_opener(["xin", "chao"]) == ["xin", "chao"]


@pytest.mark.parametrize("typed, full", [
    ("tra tien dien", "đóng tiền điện"),
    ("nop tien nc", "thanh toán tiền nước"),
    ("ck 12tr", "chuyển khoản 12 triệu"),
    ("kich hoat ntn", "kích hoạt làm sao"),
    ("kich hoat the nao", "kích hoạt ra sao"),
    ("vì sao bị từ chối", "tại sao bị từ chối"),
    ("to cns", "tổ công nghệ số"),
    ("ngay hoi cds", "ngày hội chuyển đổi số"),
    ("xac thuc guong mat", "xác thực khuôn mặt"),
    ("mk vs passcode", "mật khẩu với passcode"),
    ("co ton phi ko", "có mất phí không"),
    ("to cnscd", "tổ công nghệ số cộng đồng"),
    ("ký số từ xa", "chữ ký số từ xa"),
    ("xac thuc sinh trac", "xác thực sinh trắc học"),
    ("dang ky tam chu", "đăng ký tạm trú"),
    ("dang ki thuong chu", "đăng ký thường trú"),
])
def test_domain_synonyms(typed, full):
    assert key(typed) == key(full)


@pytest.mark.parametrize("typed, full", [
    ("may tuoi thi phai lam cccd", "bao nhiêu tuổi thì phải làm căn cước"),
    ("bao nhieu lau thi co the", "bao lâu thì có thẻ"),
])
def test_may_tuoi_asks_at_what_age(typed, full):
    assert key(typed) == key(full)


def test_may_as_a_phone_stays_a_phone():
    """Accent-free "máy" (the phone) is "mấy" too; only "mấy" before a unit of count is rewritten."""
    assert key("doi may moi dang nhap vneid") == "doi may moi dang nhap vneid"
    assert key("may tinh bang") == "may tinh bang"
    assert "nhieu" not in key("tai khoan dinh danh dung duoc may nam")  # how long, not how many


def test_question_words_do_not_look_like_card():
    # "thế nào" must not leave "the", which is also "thẻ" (card).
    assert "the" not in tokens("kich hoat the nao")
    assert "the" in tokens("the bhyt")


def test_stop_words_do_not_split_domain_terms():
    # "cụ", "đi", "nhà", "hà", "như" are stop words; the terms they start must survive.
    assert "cutru" in tokens("khai báo cư trú")
    assert "didong" in tokens("tiền điện thoại di động")
    assert "nhamang" in tokens("nhà mạng")
    assert "hason" in key("xã Hà Sơn").split()
    assert "nhuxuan" in key("huyện Như Xuân").split()
    assert "dean" in key("đề án 06").split()  # "đề" is a stop word
    assert "toipham" in key("tố giác tội phạm").split()  # "tôi" is a stop word
    assert "xahoi" in key("an sinh xã hội").split()  # "hỏi" is a stop word


def test_electricity_bill_is_not_phone_or_electronic():
    assert "tiendien" in tokens("trả tiền điện")
    assert "tiendien" not in tokens("điện thoại")
    assert "tiendien" not in tokens("ví điện tử")


def test_identification_account_means_vneid_but_id_number_does_not():
    assert "vneid" in tokens("tài khoản định danh mức 2")
    assert "vneid" in tokens("định danh điện tử")
    assert "vneid" not in tokens("số định danh cá nhân")
    assert "vneid" in tokens("hồ sơ định danh bị từ chối")  # the application, not the ID number
    assert key("ddcn") == key("số định danh cá nhân")


def test_signing_is_not_digital_skills():
    # "ký số" (digital signature) and "kỹ năng số" (digital skills) fold to similar letters.
    assert "chukyso" in tokens("ký số")
    assert "chukyso" not in tokens("kỹ năng số")


def test_cannot_is_kept_as_one_word_but_the_question_form_is_not():
    # "không được" (it fails) carries meaning a stop-word filter would drop; "được không" (may I?)
    # stays two stop words.
    assert "khongduoc" in key("kich hoat vneid ko dc").split()
    assert "khongduoc" in key("Kích hoạt VNeID không được")
    assert "khongduoc" not in key("kich hoat vneid tren may tinh duoc khong")


def test_words_of_ascii_text_by_translation_match_the_patterns():
    """_words reads ASCII text by byte translation; it must find what the patterns find."""
    import random

    from knowledge.normalize import _MILLIONS_RE, _WORD_RE, _words

    rng = random.Random(12)
    alphabet = "abcxyzAZ019 _-.,;:!?/\\'\"()[]\t\n\r\x0b\x0c\x1c\x1f\x7f@#tr"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(5000)]
    texts += ["10tr", "10 tr", "10\ttr.", "a5tr", "5tr_x", "5,tr", "tr 5", "so 10trieu", "2tr5", "ck 10tr nhe", ""]
    texts += [t + " đ" for t in texts[:50]]  # not ASCII: the patterns themselves
    for text in texts:
        assert _words(text) == _WORD_RE.findall(_MILLIONS_RE.sub(r"\1 trieu", text)), repr(text)


@pytest.mark.parametrize("text, expected", [
    ("Không quét được mã QR", "phudinh quet ma qr"),
    ("ko quet dc ma qr", "phudinh quet ma qr"),
    ("k quét đc mã qr", "phudinh quet ma qr"),
    ("hok quet duoc ma qr", "phudinh quet ma qr"),
    ("Chưa kích hoạt được VNeID", "phudinh kich hoat vneid"),
    ("chua kich hoat dc vneid", "phudinh kich hoat vneid"),
    ("Hồ sơ chưa được duyệt", "hoso phudinh duyet"),
    ("Thẻ căn cước không có chip", "can cuoc phudinh chip"),
    ("máy ko đọc được chíp", "may phudinh doc chip"),
    ("tai khoan ngan hang chua quet mat", "taikhoan nganhang phudinh quet mat"),
])
def test_negation_before_a_word_is_kept_as_one_word(text, expected):
    # "không"/"chưa" fold to stop words; before the word they negate (past "có"/"được") they are kept
    # as NEGATION, whichever of them and whichever abbreviation ("ko", "k", "hok") was typed.
    assert key(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("VNeID kích hoạt xong chưa", "vneid kich hoat xong"),
    ("kich hoat vneid tren may tinh duoc khong", "kich hoat vneid tren may tinh"),
    ("Có bắt buộc phải đăng ký tài khoản định danh điện tử không?", "bat buoc dang ky taikhoan vneid"),
    ("kich hoat vneid ko dc", "kich hoat vneid khongduoc"),
])
def test_question_particles_are_not_a_negation(text, expected):
    # At the end of a question "không"/"chưa" only ask: dropped. "X không được" (it fails) stays `khongduoc`.
    assert key(text) == expected
    assert NEGATION not in key(text).split()


def test_negated_and_plain_phrasings_differ():
    assert key("chưa kích hoạt VNeID") != key("kích hoạt VNeID")
    assert key("chưa") == "chua"  # a message of stop words alone falls back to all its tokens
