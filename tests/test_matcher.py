"""Matcher outcomes on the fixture KB, and every shipped phrasing finding its own entry."""

from knowledge.matcher import Matcher


def test_answer(small_kb):
    m = small_kb.match("kich hoat vneid ko dc")
    assert m.status == "answer" and m.best.entry.id == "vneid-kich-hoat"


def test_answer_with_typo_and_accents(small_kb):
    m = small_kb.match("Quên mât khẩu VNeID thì làm sao")
    assert m.status == "answer" and m.best.entry.id == "vneid-quen-mat-khau"


def test_choices_when_ambiguous(small_kb, shipped_kb):
    # A bare topic word ties the topic's entries: never a guess. Whether the fitted decision offers them or
    # says "none" moves with each refit (the handler answers a bare topic name with the topic's list).
    m = small_kb.match("vneid")
    assert m.status != "answer"
    if m.status == "choices":
        assert {"vneid-kich-hoat", "vneid-quen-mat-khau"} <= {s.entry.id for s in m.choices}
    m = shipped_kb.match("vneid bi loi")  # VNeID, but which trouble? several entries fit
    assert m.status == "choices" and 2 <= len(m.choices) <= 3
    assert all(s.entry.topic in {"vneid", "luadao"} for s in m.choices)


def test_none_out_of_scope(small_kb):
    for q in ["xổ số miền bắc hôm nay", "thoi tiet ngay mai co mua khong", "gia vang sjc"]:
        assert small_kb.match(q).status == "none", q


def test_empty_and_symbols(small_kb):
    assert small_kb.match("").status == "none"
    assert small_kb.match("?!?! 😀").status == "none"


def test_scores_are_bounded(small_kb):
    for q in ["vneid", "kich hoat vneid", "mo tai khoan ngan hang", "x" * 5000]:
        for s in small_kb.matcher.rank(q):
            assert 0 <= s.score <= 100


def test_every_shipped_phrasing_is_unique_to_its_entry(shipped_kb):
    """Nearly every shipped phrasing reaches its entry through the exact-key shortcut, so this checks that
    no two entries share a phrasing; the leave-one-out check of matching is `kb check` (phrasing_conflicts)."""
    matcher: Matcher = shipped_kb.matcher
    wrong = []
    for entry in shipped_kb.entries.values():
        for q in entry.questions:
            m = matcher.match(q)
            if m.status != "answer" or m.best.entry.id != entry.id:
                wrong.append((entry.id, q, m.status, m.best.entry.id if m.best else None))
    assert not wrong, wrong[:10]


def test_shipped_kb_size(shipped_kb):
    assert len(shipped_kb.entries) >= 100
    topics = {e.topic for e in shipped_kb.entries.values()}
    assert {"vneid", "dichvucong", "thanhtoan", "luadao", "tocongnghe", "diaphuong", "smalltalk"} <= topics


def test_formal_and_phone_typed_forms_reach_the_same_entry(shipped_kb):
    pairs = [
        ("Tài khoản định danh điện tử bị khóa thì mở lại thế nào?", "tk vneid bi khoa mo lai ntn"),
        ("Đăng ký thẻ căn cước cho con dưới 14 tuổi trên ứng dụng định danh quốc gia", "lam cccd cho con tren vneid"),
        ("Xác thực sinh trắc học khi chuyển khoản trên 10 triệu", "ck tren 10tr phai sinh trac hoc"),
        ("Đăng nhập Cổng Dịch vụ công quốc gia bằng tài khoản định danh điện tử", "dang nhap dvc bang tk vneid"),
    ]
    for formal, typed in pairs:
        a, b = shipped_kb.match(formal), shipped_kb.match(typed)
        assert a.best and b.best and a.best.entry.id == b.best.entry.id, (formal, a.best, b.best)


def test_a_message_with_two_questions_offers_the_second(shipped_kb):
    m = shipped_kb.match("Quên mật khẩu VNeID thì làm sao? Còn quên passcode thì sao?")
    assert m.status == "answer" and m.best.entry.id == "vneid-quen-mat-khau"
    assert [s.entry.id for s in m.also] == ["vneid-quen-passcode"]
    assert m.choices == ()


def test_near_tie_offers_choices_not_a_guess(small_kb):
    m = small_kb.match("vneid")
    assert m.status != "answer" and m.confidence < 1.0


def test_confidence_is_a_probability(shipped_kb):
    for q in ["kich hoat vneid ko dc", "gia vang hom nay", "Cho tôi hỏi về thủ tục đăng ký cư trú"]:
        assert 0.0 <= shipped_kb.match(q).confidence <= 1.0


def test_reranker_sees_a_concept_the_entry_lacks(shipped_kb):
    """"Quên mật khẩu Zalo" shares words with the VNeID password entry, but names Zalo, which that
    entry never mentions in its title or phrasings: the candidate row says so, and no answer is given."""
    from knowledge.calibration import CANDIDATE_FEATURES

    matcher: Matcher = shipped_kb.matcher
    q = matcher.query_key("quen mat khau zalo lay lai the nao")
    ev = matcher.evidence(q)
    row = ev.candidates[ev.order.index(matcher.index["vneid-quen-mat-khau"])]
    assert row[CANDIDATE_FEATURES.index("q_missing")] >= 1
    assert row[CANDIDATE_FEATURES.index("t_extra")] >= 1  # its title names VNeID, the question does not
    assert matcher.match("quen mat khau zalo lay lai the nao").status != "answer"


def test_candidates_matrix_has_one_row_per_candidate_in_ranked_order(shipped_kb):
    from knowledge.calibration import CANDIDATE_FEATURES

    matcher: Matcher = shipped_kb.matcher
    ev = matcher.evidence(matcher.query_key("Xử lý thế nào khi mất điện thoại có tài khoản định danh điện tử?"))
    assert ev.candidates.shape == (len(ev.order), len(CANDIDATE_FEATURES))
    assert list(ev.rr) == sorted(ev.rr, reverse=True)  # the order is the re-ranker's
    shares = ev.candidates[:, [CANDIDATE_FEATURES.index(f) for f in ("coverage", "surface_cover", "title_cover")]]
    assert ((0 <= shares) & (shares <= 1 + 1e-9)).all()


def test_an_unfitted_reranker_keeps_the_fused_order_and_exact_phrasings_stay_first(shipped_kb):
    from knowledge.calibration import Calibration

    plain = Matcher(shipped_kb.matcher.entries, Calibration(fusion=shipped_kb.matcher.calibration.fusion))
    ev = plain.evidence(plain.query_key("doi so dien thoai tren vneid"))
    fused = [float(ev.fused[i]) for i in ev.order]
    assert fused == sorted(fused, reverse=True)
    entry = shipped_kb.entries["vneid-quen-mat-khau"]
    for m in (plain, shipped_kb.matcher):
        ev = m.evidence(m.query_key(entry.questions[0]))
        assert ev.order[0] == m.index[entry.id] and ev.exact == ev.order[0]


def test_the_readme_example_gets_the_troubleshooting_entry(shipped_kb):
    # "kich hoat vneid ko dc" means activation fails: not the steps for a computer.
    match = shipped_kb.match("kich hoat vneid ko dc")
    assert match.status == "answer" and match.best.entry.id == "vneid-kich-hoat-khong-duoc"


def test_two_swapped_letters_count_as_one_typo(shipped_kb):
    # "vnied" for "vneid": a transposition, the commonest slip on a phone keyboard.
    assert "vneid" in shipped_kb.matcher.query_key("huong dan kich hoat vnied").split()
    assert "chuyen khoan" in shipped_kb.matcher.query_key("chuyen khaon nham")


def test_a_message_whose_first_question_has_no_answer_answers_the_next(shipped_kb):
    m = shipped_kb.match("Giá vàng hôm nay thế nào? Quên mật khẩu VNeID thì làm sao?")
    assert m.status == "answer" and m.best.entry.id == "vneid-quen-mat-khau"



def test_neighbouring_matters_are_not_answered(shipped_kb):
    """Questions about matters next to ours that no entry covers (health-insurance benefits, land,
    divorce, traffic fines, labour law, phone repair, meters, other apps' passwords): no confident answer."""
    for q in ["Mức hưởng bảo hiểm y tế khi đi khám trái tuyến là bao nhiêu?", "tach thua dat can giay to gi",
              "ly hon thi ai duoc nuoi con", "nong do con xe may phat bao nhieu",
              "het hop dong lao dong co duoc tro cap thoi viec khong", "thay man hinh dien thoai het bao nhieu tien",
              "cong to dien quay nhanh bat thuong bao ai", "quen mat khau gmail",
              "thua ke nha dat khi bo me mat khong co di chuc", "hoc bong cho con ho ngheo"]:
        m = shipped_kb.matcher.match(q)
        assert m.status != "answer", (q, m.best.entry.id)
        # Nothing offered with any confidence either: either no reply from the KB at all (the neighbouring-matter
        # check may turn down a plausible-looking entry), or choices the model itself doubts.
        assert m.status == "none" or m.confidence < 0.5, (q, m.status, m.confidence)


def test_a_message_is_ranked_at_most_max_rankings_times(shipped_kb, monkeypatch):
    from knowledge import matcher as matcher_module

    matcher: Matcher = shipped_kb.matcher
    ranked: list[str] = []
    match_key = Matcher.match_key
    monkeypatch.setattr(Matcher, "match_key", lambda self, q, pool=None: ranked.append(q) or match_key(self, q, pool))
    # three questions, none of which the knowledge base answers: each would be tried in turn
    m = matcher.match("Giá vàng hôm nay bao nhiêu? Xổ số miền Bắc ra số mấy? Trận bóng tối nay mấy giờ?")
    assert m.status == "none"
    assert len(ranked) == matcher_module.MAX_RANKINGS == 2


def test_a_second_ranking_rescores_the_light_pool_and_a_long_letter_is_ranked_once(shipped_kb, monkeypatch):
    from knowledge import matcher as matcher_module

    matcher: Matcher = shipped_kb.matcher
    pools: list[int | None] = []
    match_key = Matcher.match_key
    monkeypatch.setattr(Matcher, "match_key", lambda self, q, pool=None: pools.append(pool) or match_key(self, q, pool))
    questions = "Giá vàng hôm nay bao nhiêu? Xổ số miền Bắc ra số mấy? Trận bóng tối nay mấy giờ?"
    assert matcher.match(questions).status == "none"
    assert pools == [None, matcher_module.LIGHT_CANDIDATES]
    pools.clear()
    context = "Tôi năm nay 62 tuổi, ở một xã miền núi, con cái đi làm ăn xa nên tôi tự làm mọi việc trên điện thoại. " * 5
    assert len(context + questions) > matcher_module.LONG_TEXT
    assert matcher.match(context + questions).status == "none"
    assert pools == [None]


def test_a_sentence_asking_two_things_offers_its_last_clause(shipped_kb):
    # comes whole, then clause by clause: the whole is answered on the first clause's entry, and the
    # second ranking goes to the last clause (the first would name the same entry again)
    m = shipped_kb.match("Dang ky thuong tru online le phi bao nhieu, con tach ho thi can giay to gi?")
    assert m.status == "answer" and m.best.entry.id == "dichvucong-le-phi-cu-tru"
    assert [s.entry.id for s in m.also] == ["dichvucong-tach-ho"]


def test_three_questions_offer_the_second(shipped_kb):
    m = shipped_kb.match("Quên mật khẩu VNeID thì làm sao? Còn quên passcode thì sao? Còn đổi số điện thoại thì sao?")
    assert m.status == "answer" and m.best.entry.id == "vneid-quen-mat-khau"
    assert [s.entry.id for s in m.also] == ["vneid-quen-passcode"]
