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


# Neighbouring matters the knowledge base does not cover, each asked the way a household might
# (written for this test from what each field is about, not taken from the evaluation sets).
NEIGHBOURS = {
    "medical_care": "khám trái tuyến thì bảo hiểm y tế trả mức hưởng bao nhiêu",
    "insurance_benefit": "nghỉ thai sản được mấy tháng",
    "inheritance": "bố mẹ mất không để lại di chúc thì chia thừa kế thế nào",
    "family_law": "ly hôn thì ai được quyền nuôi con",
    "nationality": "con lai có được mang quốc tịch Việt Nam không",
    "labour": "công ty sa thải không báo trước có đúng luật không",
    "traffic_law": "xe máy vi phạm nồng độ cồn phạt bao nhiêu",
    "device_repair": "vỡ màn hình điện thoại thay ở đâu rẻ",
    "other_accounts": "quên mật khẩu gmail lấy lại sao",
    "utility_service": "công tơ điện quay nhanh bất thường báo ai",
    "education": "hồ sơ tuyển sinh lớp 10 gồm những gì",
    "military": "năm nay bao nhiêu tuổi thì đi nghĩa vụ quân sự",
    "television": "đầu thu truyền hình số bị mất kênh",
    "court": "nộp đơn khởi kiện ra tòa án ở đâu",
    "farming": "phân bón cho lúa loại nào tốt",
    "leisure": "tối nay có bóng đá không",
    "land": "tách thửa đất cần giấy tờ gì",
    "tax": "hoàn thuế thu nhập cá nhân làm thế nào",
    "loan": "vay trả góp mua xe bị nợ xấu",
}


def test_neighbouring_matters_are_named():
    missed = {name: sorted(concepts(key(q))) for name, q in NEIGHBOURS.items() if name not in concepts(key(q))}
    assert not missed, missed


def test_words_that_lose_their_accents_do_not_name_the_wrong_matter():
    """Accent-free, "thuê" (rent) is "thuế" (tax) and "thuộc" (belongs to) is "thuốc" (medicine)."""
    for q in ("sinh viên thuê trọ có phải đăng ký tạm trú", "lỗi thuê bao không khớp", "cho thuê tài khoản ngân hàng"):
        assert "tax" not in concepts(key(q)), q
    assert "tax" in concepts(key("cán bộ thuế gọi điện bảo cập nhật hồ sơ"))
    assert "health" not in concepts(key("nhà em thuộc hộ nghèo"))
    assert "health" in concepts(key("xem đơn thuốc trên VNeID"))


def test_everyday_words_inside_our_topics_name_no_neighbouring_matter():
    """Words that also turn up in questions we answer ("xây dựng" an app, "tốc độ" of the network, a game
    used for a scam) are not cues for land, traffic law or leisure."""
    for q in ("VNeID do cơ quan nào xây dựng?", "mạng tốc độ chậm kích hoạt VNeID không được",
              "chơi game bị lừa mất tiền thì làm gì", "xem bói qua Zalo bị lừa", "bị lừa ngân hàng có bồi thường không",
              "nhận tiền lương qua tài khoản ngân hàng", "bị tai nạn mất thẻ căn cước", "công chứng bản sao căn cước"):
        found = concepts(key(q)) & {"land", "traffic_law", "leisure", "labour", "court", "device_repair"}
        assert not found, (q, found)


def test_no_entry_is_about_a_neighbouring_matter():
    """The concepts added for matters the knowledge base does not cover stay out of every entry's title.
    A new entry on one of them should move that concept out of the neighbours (and refit)."""
    from knowledge.loader import load

    added = set(NEIGHBOURS) - {"land", "tax", "loan"}
    named = {e.id: sorted(concepts(key(e.title)) & added) for e in load()}
    assert not {k: v for k, v in named.items() if v}


def test_a_fine_is_named_but_words_that_start_with_phat_are_not():
    """Accent-free "phạt" (a fine) is also the first half of "phát hiện", "phát sóng", "phát triển"."""
    for q in ("không đăng ký tạm trú có bị phạt không", "mức phạt chậm đổi căn cước", "xử phạt hành chính ra sao",
              "chưa làm VNeID thì bị phạt gì"):
        assert "penalty" in concepts(key(q)), q
    for q in ("phát hiện bị lừa thì báo ai", "trạm phát sóng giả gửi tin nhắn", "phát triển chuyển đổi số"):
        assert "penalty" not in concepts(key(q)), q


def test_banks_by_name_are_banks():
    for q in ("mk vcb digibank không nhớ", "lấy lại mật khẩu MB Bank ở đâu", "app Techcombank bắt sinh trắc học",
              "quên mật khẩu internet banking"):
        assert "bank" in concepts(key(q)), q
    assert "bank" not in concepts(key("quên mật khẩu VNeID"))


def test_a_fee_counts_as_a_question_type_for_ranking_but_not_for_follow_ups():
    from knowledge.concepts import RANK_WEAK, WEAK

    assert "fee" in WEAK and "fee" not in RANK_WEAK
    assert RANK_WEAK < WEAK
    assert "fee" in concepts(key("Lệ phí đăng ký thường trú, tạm trú, tách hộ"))
