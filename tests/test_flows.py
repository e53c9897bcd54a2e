"""Conversations that never trap anyone (issue 13), through `respond`: views left by free text, questions
answered mid-entry with "Tiếp tục ghi", words without "/", dates and periods as people say them, one-line
/ghi that shows what it understood, stable picks, cancel that asks once more, help by role, timeouts."""

from __future__ import annotations

import re

from conftest import Chat
from teamkit import make_team, receipt

from bot.core import Session
from bot.flows import looks_like_question


def labels(chat: Chat) -> list[str]:
    return [c.label for r in chat.last for c in r.choices]


def flow_of(chat: Chat) -> dict | None:
    return Session(chat.user, chat.deps.storage.load_session(f"{chat.channel}:{chat.user}")).flow


def inbox_count(chat: Chat) -> int:
    return chat.deps.storage.db["unanswered"].count


# --- 2. never trapped ----------------------------------------------------------------------------

async def test_a_question_typed_in_the_member_list_is_answered(tdeps):
    _, leader, _ = await make_team(tdeps)
    await leader.say("/thanhvien")
    assert "Lan 0" in leader.text and flow_of(leader) is not None
    await leader.say("9")  # a number outside the list: said so, the list stays open
    assert "Số 9 không ứng với lựa chọn nào. Bạn hãy gõ số từ 1 đến 2." in leader.text and flow_of(leader)
    await leader.say("kich hoat vneid ko dc")
    assert leader.text.startswith("📌 Kích hoạt tài khoản VNeID") and "chưa hiểu" not in leader.text
    assert flow_of(leader) is None  # the list was left, nothing half-done stays behind


async def test_pickers_are_left_by_free_text_too(tdeps):
    admin, leader, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await member.pick("Lưu")
    await leader.say("/xoadulieu an")
    assert "Xóa thông tin cá nhân của hộ nào?" in leader.text
    await leader.say("quên mật khẩu vneid thì sao")
    assert "Quên mật khẩu VNeID" in leader.text and flow_of(leader) is None
    await admin.say("/taoto Tổ Hai; Xã Yên; Thôn Một")
    await admin.say("/moi")
    assert "Mã mời cho tổ nào?" in admin.text
    await admin.say("kich hoat vneid ko dc")
    assert "Kích hoạt tài khoản VNeID" in admin.text and flow_of(admin) is None


async def test_a_question_mid_entry_is_answered_and_the_member_resumes(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi")
    await member.pick("Xuân Hạ")
    await member.say("Nguyễn Văn An")
    assert "3 số cuối" in member.text
    await member.say("lam sao kich hoat vneid?")
    assert member.text.startswith("📌 Kích hoạt tài khoản VNeID")
    assert "3 số cuối" in member.text  # says which question is waiting
    assert labels(member)[:2] == ["👍 Có", "👎 Chưa"] and labels(member)[-1] == "▶️ Tiếp tục ghi"
    assert "Ghi nhận hỗ trợ hộ dân" not in labels(member)  # it would drop the draft being written
    await member.pick("Tiếp tục ghi")
    assert "3 số cuối" in member.text and "Nguyễn Văn An" in member.text
    await member.say("ko co")  # "không có" in chat shorthand
    assert "việc gì" in member.text
    await member.say("lam sao kich hoat vneid")  # no "?" needed
    assert "Kích hoạt tài khoản VNeID" in member.text and "việc gì" in member.text
    await member.say("tiếp tục")  # the choice's words typed out, as on Zalo
    assert "việc gì" in member.text and member.last[-1].choices
    await member.say("vneid2")  # answering the step directly also resumes it
    assert "Đã chọn: Hỗ trợ kích hoạt VNeID mức 2" in member.text
    await member.say("xong")
    assert "Kết quả thế nào?" in member.text


async def test_in_a_free_text_step_only_a_question_the_kb_answers_is_taken_as_one(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await member.pick("Sửa")
    await member.pick("Xong")
    await member.pick("Chưa xong")
    await member.say("quên mật khẩu vneid thì sao?")  # answered: the note of the draft is untouched
    assert "Quên mật khẩu VNeID" in member.text and "Vì sao chưa xong?" in member.text
    await member.say("Bà hỏi có mất tiền không?")  # not in the knowledge base: it is the reason
    assert "Thêm ghi chú" in member.text
    await member.say("Hẹn chiều mai quay lại thì sao?")
    assert "- Ghi chú: Hẹn chiều mai quay lại thì sao?" in member.text


async def test_unknown_input_in_a_step_says_what_is_expected_with_an_example(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi")
    await member.say("Thôn Không Có")
    assert "ví dụ: Xuân Hạ" in member.text and "thôn nào" in member.text
    await member.pick("Xuân Hạ")
    await member.say("Trần Văn Bảy")
    await member.say("mười hai")
    assert "ví dụ 678" in member.text and "3 số cuối" in member.text
    await member.say("0")
    await member.pick("Cài đặt VNeID")
    await member.pick("Xong")
    await member.say("tàm tạm")
    assert "gõ: xong, chưa xong, hẹn lại" in member.text and "Kết quả thế nào?" in member.text
    await member.say("chua xong")
    assert "Vì sao chưa xong?" in member.text
    await member.say("Thiếu giấy tờ")
    await member.say("không")  # no note
    assert "Ghi chú" not in member.text and "Bạn kiểm tra lại" in member.text
    await member.say("lung tung")
    assert "Bạn bấm Lưu" in member.text and "Đổi ngày" in member.text


def test_what_counts_as_a_question():
    for text in ("lam sao kich hoat vneid", "quên mật khẩu thì sao", "vneid ko dc", "cach mo tai khoan?",
                 "xin hoi ve dich vu cong"):
        assert looks_like_question(text), text
    for text in ("Nguyễn Văn An", "vneid2, nganhang", "Hẹn mang điện thoại ra xã", "678", "thiếu giấy tờ"):
        assert not looks_like_question(text), text


# --- 3. words without "/" ------------------------------------------------------------------------

async def test_commands_work_as_words_with_or_without_diacritics(tdeps):
    _, leader, [member] = await make_team(tdeps)
    assert "thôn nào" in (await member.say("ghi"))[0].text
    assert "Đã hủy" in (await member.say("Hủy"))[0].text
    assert "Cách dùng" in (await member.say("tro giup"))[0].text
    assert "chủ đề nào" in (await member.say("chủ đề"))[0].text
    await member.say("ghi ho Vu Van Tho; Xuân Hạ; vneid2")
    assert "Bạn kiểm tra lại" in member.text and "Vu Van Tho" in member.text
    await member.pick("Lưu")
    assert "Số phiếu" in member.text
    assert "tuần này" in (await member.say("cua toi"))[0].text
    assert "chưa liên kết với ứng dụng nào khác" in (await member.say("huỷ liên kết"))[0].text
    stranger = Chat(tdeps, "x")
    assert "Mã ABC123 không dùng được" in (await stranger.say("thamgia ABC123"))[0].text
    assert "Mã K7PQ2M không dùng được" in (await stranger.say("Tham gia K7PQ2M"))[0].text
    assert "tháng 10/2026" in (await leader.say("bao cao thang truoc"))[0].text
    assert "quý 3/2026" in (await leader.say("Báo cáo quý 3"))[0].text
    assert inbox_count(member) == 0


async def test_commands_codes_and_records_never_reach_the_inbox(tdeps):
    stranger = Chat(tdeps, "x")
    for text in ("Vu Van Tho; Thon Dong; vneid2", "K7PQ2M", "ghi Vu Van Tho; Thon Dong", "thamgia", "/khonglenh"):
        await stranger.say(text)
    assert inbox_count(stranger) == 0
    replies = await stranger.say("xin hỏi thủ tục cấp sổ đỏ")  # a real question still reaches the leaders
    if any(c.payload == "faq:-" for r in replies for c in r.choices):  # offered guesses first: none fits
        assert inbox_count(stranger) == 0
        await stranger.pick("Không phải các mục trên")
    assert inbox_count(stranger) == 1


async def test_a_question_starting_with_a_command_word_is_still_a_question(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("ghi chú là gì trong vneid")
    assert "thôn nào" not in member.text and flow_of(member) is None
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await member.pick("Lưu")
    await member.say("/ghi Nguyen Van An; Xuân Hạ; qr")
    await member.say("mới")  # "hộ mới", not the leaders' /moi
    assert "dành cho tổ trưởng" not in member.text and "Bạn kiểm tra lại" in member.text
    assert "Nguyen Van An (hộ mới)" in member.text


# --- 4. dates as people say them -----------------------------------------------------------------

async def test_one_line_ghi_takes_a_day_and_the_summary_shows_it(tdeps):
    _, _, [member] = await make_team(tdeps)
    db = tdeps.storage.db
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2; hôm qua")
    assert "Ngày hỗ trợ: 17/11/2026" in member.text
    await member.pick("Lưu")
    record = db["records"].get(receipt(member.text))
    assert (record["helped_on"], record["logged_on"]) == ("2026-11-17", "2026-11-18")
    assert "chưa tới" in (await member.say("/ghi Lê Văn Cường; Xuân Hạ; qr; 25/11"))[0].text
    assert "30 ngày" in (await member.say("/ghi Lê Văn Cường; Xuân Hạ; qr; 1/10"))[0].text


async def test_the_day_can_be_changed_at_the_summary_and_in_sua(tdeps):
    _, _, [member] = await make_team(tdeps)
    db = tdeps.storage.db
    await member.say("/ghi Lê Văn Cường; Đồng Tâm; qr")
    await member.say("thứ 2")
    assert "Ngày hỗ trợ: 16/11/2026" in member.text
    await member.pick("Đổi ngày")
    assert "ngày nào" in member.text
    await member.say("30/11")
    assert "chưa tới" in member.text
    await member.pick("Hôm kia")
    assert "Ngày hỗ trợ: 16/11/2026" in member.text
    await member.pick("Lưu")
    number = receipt(member.text)
    assert "ngày hỗ trợ 16/11/2026" in member.text and db["records"].get(number)["helped_on"] == "2026-11-16"
    await member.say(f"/sua {number}")
    assert f"/sua {number} hôm qua" in member.text
    await member.pick("Xong")
    await member.pick("Đã xong")
    await member.pick("Bỏ qua")
    await member.pick("Đổi ngày")
    await member.say("hom qua")
    await member.pick("Lưu")
    assert db["records"].get(number)["helped_on"] == "2026-11-17"
    await member.say(f"/sua {number} thứ 2")  # only the day: straight to the summary
    assert f"Sửa phiếu số {number}:" in member.text and "Ngày hỗ trợ: 16/11/2026" in member.text
    await member.pick("Lưu")
    assert db["records"].get(number)["helped_on"] == "2026-11-16"
    assert "chưa tới" in (await member.say(f"/sua {number} 30/11"))[0].text
    assert '"helped_on": "2026-11-16"' in next(db["audit"].rows_where("action = 'update'"))["before"]


# --- 5. periods in every report command ----------------------------------------------------------

async def test_report_commands_take_periods_as_people_say_them(tdeps):
    _, leader, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2; hôm qua")
    await member.pick("Lưu")
    assert "Lượt hỗ trợ: 1." in (await leader.say("/baocao hôm qua"))[0].text
    assert "Lượt hỗ trợ: 0." in (await leader.say("/baocao hom nay"))[0].text
    assert "tuần trước" in (await leader.say("/baocao tuan truoc"))[0].text
    assert "6 tháng đầu năm 2026" in (await leader.say("/baocao 6 tháng"))[0].text
    for said, label in (("/baocao quy", "quý 4/2026"), ("/baocao nam", "năm 2026"),
                        ("/baocao thang 10", "tháng 10/2026"), ("bao cao thang truoc", "tháng 10/2026"),
                        ("baocao năm nay", "năm 2026")):
        assert label in (await leader.say(said))[0].text, said
    assert "01/11/2026 - 15/11/2026" in (await leader.say("/baocao 1/11-15/11"))[0].text
    reply = (await leader.say("/xuat tháng này"))[0]
    assert reply.file is not None and "tháng 11/2026" in reply.text
    assert (await leader.say("/bieudo năm nay"))[0].image is not None
    admin = Chat(tdeps, "admin")
    assert "Tổ CNS Xuân, tháng 10/2026" in (await admin.say("bao cao Tổ CNS Xuân tháng trước"))[0].text
    text = (await leader.say("/baocao tuần tới"))[0].text
    assert "chưa hiểu khoảng thời gian" in text and "tháng trước" in text and "1/11-15/11" in text


# --- 6. one-line /ghi shows what it understood ---------------------------------------------------

async def test_one_line_ghi_matches_service_phrases_and_shows_each_part(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi le van cuong; Doai; kich hoat vneid, dvc")
    assert "không thấy thôn \"Doai\"" in member.text and "thôn nào" in member.text
    assert "bước sau" not in member.text
    await member.pick("Đồng Tâm")
    text = member.text
    assert "- Hộ: Le Van Cuong (hộ mới), thôn Đồng Tâm" in text
    assert "- Đã hỗ trợ: Hỗ trợ kích hoạt VNeID mức 2; Tạo tài khoản dịch vụ công" in text
    assert "Cài đặt VNeID" not in text and "- Ngày hỗ trợ: 18/11/2026" in text
    await member.pick("Lưu")
    db = tdeps.storage.db
    assert db["households"].get(db["records"].get(receipt(member.text))["household_id"])["head_name"] == "Le Van Cuong"


async def test_the_household_can_be_fixed_from_the_summary(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn Ann; Xuân Hạ; qr, ngân hàng")
    await member.pick("Đổi hộ hoặc thôn")
    await member.pick("Đồng Tâm")
    await member.say("Nguyễn Văn An")
    text = member.text
    assert "- Hộ: Nguyễn Văn An (hộ mới), thôn Đồng Tâm" in text
    assert "- Đã hỗ trợ: Thanh toán bằng mã QR; Mở tài khoản ngân hàng" in text  # kept as understood


async def test_words_not_understood_are_shown_in_the_summary_without_a_false_promise(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi Phạm Thị Dung; Xuân Hạ; qr, abcxyz")
    assert "abcxyz" in member.text and "bấm \"Sửa\"" in member.text and "Bạn kiểm tra lại" in member.text
    await member.say("/ghi Phạm Thị Dung; Xuân Hạ; abcxyz")
    assert "bước tới" in member.text and "việc gì" in member.text  # the step promised does follow


async def test_names_in_proper_case_and_villages_never_doubled(tdeps):
    _, _, [member] = await make_team(tdeps)
    db = tdeps.storage.db
    db["villages"].insert({"team_id": next(db["teams"].rows)["id"], "name": "Thôn Đông"})
    await member.say("/ghi")
    await member.pick("Thôn Đông")
    await member.say("nguyễn văn AN")
    assert "Hộ mới: Nguyễn Văn An, Thôn Đông." in member.text
    await member.say("0")
    await member.pick("Cài đặt VNeID")
    await member.pick("Xong")
    await member.pick("Đã xong")
    await member.pick("Bỏ qua")
    assert "- Hộ: Nguyễn Văn An (hộ mới), Thôn Đông" in member.text
    await member.pick("Lưu")
    await member.say("/ghi Tran Van Binh; thon dong; qr")
    assert "Thôn Đông" in member.text and "hôn Thôn" not in member.text
    assert "hôn Thôn" not in (await member.say("/cuatoi"))[0].text


# --- 7. stable numbers, several picks, cancel that asks once more --------------------------------

async def test_feedback_is_always_first_and_taken_as_words(tdeps):
    _, _, [member] = await make_team(tdeps)
    for question in ("kich hoat vneid ko dc", "quen mat khau vneid"):
        await member.say(question)
        assert labels(member)[:2] == ["👍 Có", "👎 Chưa"]
    assert "Rất vui" in (await member.say("👍"))[0].text
    await member.say("kich hoat vneid ko dc")
    assert "góp ý" in (await member.say("không"))[0].text
    assert tdeps.storage.db["feedback"].count == 2


async def test_several_picks_in_one_message_and_no_list_resent(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi")
    await member.pick("Xuân Hạ")
    await member.say("Nguyễn Văn An")
    await member.say("0")
    numbers = {c.label: i for i, c in enumerate(member.last[-1].choices, 1)}
    await member.say(f"{numbers['Cài đặt VNeID']} {numbers['Mở tài khoản ngân hàng']}")
    assert "Đã chọn: Cài đặt VNeID, Mở tài khoản ngân hàng" in member.text
    assert len(member.last) == 1 and member.last[0].repeated  # one answer; numbered channels skip the list
    await member.say(f"{numbers['Thanh toán bằng mã QR']},{numbers['Cài đặt VNeID']}")
    assert "Đã chọn: Mở tài khoản ngân hàng, Thanh toán bằng mã QR" in member.text
    await member.say(str(numbers["✔️ Xong"]))
    assert "Kết quả thế nào?" in member.text


async def test_cancel_asks_once_more(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await member.pick("Hủy")
    assert "Bỏ phiếu này, không lưu?" in member.text
    await member.pick("Không, làm tiếp")
    assert "Bạn kiểm tra lại" in member.text
    await member.pick("Hủy")
    await member.pick("Đúng, hủy")
    assert "Đã hủy" in member.text and tdeps.storage.db["records"].count == 0


# --- 1. the engine: timeouts, /taoto step by step -------------------------------------------------

async def test_an_abandoned_draft_is_dropped_after_a_while(tdeps, clock):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi")
    await member.pick("Xuân Hạ")
    await member.say("Nguyễn Văn An")
    clock.advance(hours=13)
    await member.say("/ghi")
    assert "quá 12 giờ" in member.text and "Nguyễn Văn An chưa được lưu" in member.text
    assert member.last[-1].text == "Hộ dân ở thôn nào?"  # a fresh draft, not the old one resumed


async def test_taoto_asks_step_by_step(tdeps):
    admin = Chat(tdeps, "admin")
    await admin.say("tao to")
    assert "Tên tổ" in admin.text
    await admin.say("Tổ CNS Yên")
    await admin.say("Xã Yên Bình")
    await admin.say("Thôn Một, Thôn Hai")
    assert "Đã tạo tổ \"Tổ CNS Yên\" (Xã Yên Bình), gồm các thôn: Thôn Một, Thôn Hai" in admin.text
    assert "dành cho quản trị" in (await Chat(tdeps, "x").say("/taoto"))[0].text


# --- 8. help by role -----------------------------------------------------------------------------

async def test_help_shows_each_role_its_own_commands(tdeps):
    admin, leader, [member] = await make_team(tdeps)
    stranger = (await Chat(tdeps, "x").say("/trogiup"))[0].text
    assert "/thamgia" in stranger and "/ghi" not in stranger and "/baocao" not in stranger
    mine = (await member.say("/trogiup"))[0].text
    assert "/ghi" in mine and "/baocao" not in mine and "/taoto" not in mine
    lead = (await leader.say("/trogiup"))[0].text
    assert "/ghi" in lead and "/baocao" in lead and "/thanhvien" in lead and "/taoto" not in lead
    assert "/taoto" in (await admin.say("/trogiup"))[0].text


async def test_lienket_asks_for_the_code_when_this_app_is_not_linked_yet(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/lienket")
    code = re.search(r"/lienket ([A-Z]{6})", member.text).group(1)
    phone = Chat(tdeps, "z1", channel="zalo", name="Lan")
    await phone.say("lien ket")
    assert "gõ mã 6 chữ cái vào đây" in phone.text
    await phone.say("12")
    assert "ví dụ: KMPQRT" in phone.text
    await phone.say(code.lower())
    assert "Đã liên kết xong, Lan 0" in phone.text and flow_of(phone) is None


def test_migration_2_keeps_the_day_older_records_were_logged(tmp_path):
    """A version-1 database: every record was logged the day it was helped, so logged_on = helped_on."""
    import sqlite3

    from bot.storage import MIGRATIONS, Storage

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + ";CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT);"
                       "INSERT INTO schema_version VALUES (1, '2026-11-01');"
                       "INSERT INTO teams VALUES (1, 'T', 'X', '2026-11-01');"
                       "INSERT INTO villages VALUES (1, 1, 'V', NULL);"
                       "INSERT INTO members VALUES (1, 1, 'Lan', 'member', 1, '2026-11-01');"
                       "INSERT INTO households VALUES (1, 1, 1, 'An', 'an', NULL, 0, 1, '2026-11-01');"
                       "INSERT INTO records (id, request_id, team_id, member_id, household_id, village_id, helped_on,"
                       " services, outcome, created_at, updated_at) VALUES (1, 'r', 1, 1, 1, 1, '2026-11-03',"
                       " 'vneid2', 'done', '2026-11-03T02:00:00+00:00', '2026-11-03T02:00:00+00:00');")
    conn.close()
    store = Storage(path)
    try:
        assert store.version == len(MIGRATIONS) >= 2
        assert store.db["records"].get(1)["logged_on"] == "2026-11-03"
    finally:
        store.close()
