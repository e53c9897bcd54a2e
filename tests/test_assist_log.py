"""The household assistance log through `respond`: guided and one-line /ghi, matches, edits, deletes."""

from __future__ import annotations

import json

from bot.app import compose
from bot.storage import Storage
from tests.chat import Chat
from tests.teamkit import code_in, make_team, receipt


async def log_new(member: Chat, name: str, village: str = "Xuân Hạ", phone: str = "0") -> int:
    await member.say("/ghi")
    await member.pick(village)
    await member.say(name)
    if "Có phải hộ này" in member.text:
        await member.pick("hộ mới")
    await member.say(phone)
    await member.pick("kích hoạt VNeID mức 2")
    await member.pick("Xong")
    await member.pick("Đã xong")
    await member.pick("Bỏ qua")
    await member.pick("Lưu")
    return receipt(member.text)


async def test_guided_flow_new_household_then_the_same_household_again(tdeps):
    _, _, [member] = await make_team(tdeps)
    db = tdeps.storage.db
    assert "thôn nào" in (await member.say("/ghi"))[0].text
    await member.pick("Xuân Hạ")
    assert "tên chủ hộ" in member.text
    await member.say("Nguyễn Văn An")
    assert "3 số cuối" in member.text and not member.last[-1].choices
    await member.say("678")
    assert "việc gì" in member.text
    await member.pick("kích hoạt VNeID mức 2")
    await member.pick("Mở tài khoản ngân hàng")
    assert "✅ Mở tài khoản ngân hàng" in [c.label for c in member.last[-1].choices]
    await member.pick("Xong")
    await member.pick("Hẹn lại")
    await member.say("25/11")
    await member.say("Hẹn mang điện thoại ra xã")
    text = member.text
    assert "Nguyễn Văn An (hộ mới, số ĐT đuôi 678)" in text and "Hẹn lại ngày 25/11/2026" in text
    await member.pick("Lưu")
    first = receipt(member.text)
    record = db["records"].get(first)
    assert record["services"] == "vneid2,bank_account" and record["followup_on"] == "2026-11-25"
    assert record["helped_on"] == "2026-11-18" and record["note"] == "Hẹn mang điện thoại ra xã"
    assert {r["skill"] for r in db["record_services"].rows} == {"dichvucong", "thanhtoan"}
    house = db["households"].get(record["household_id"])
    assert (house["head_name"], house["head_key"], house["phone_last3"]) == ("Nguyễn Văn An", "nguyen van an", "678")

    # Same family, typed without diacritics and with a typo: offered as a match, not counted twice.
    await member.say("/ghi")
    await member.pick("Xuân Hạ")
    await member.say("nguyen vn an")
    assert "Có phải hộ này không?" in member.text
    await member.pick("Nguyễn Văn An (…678)")
    await member.pick("Cài đặt VNeID")
    await member.pick("Xong")
    await member.pick("Chưa xong")
    await member.pick("Thiếu giấy tờ")
    await member.pick("Bỏ qua")
    await member.pick("Lưu")
    second = receipt(member.text)
    assert second == first + 1
    assert db["households"].count == 1
    assert db["records"].get(second)["reason"] == "Thiếu giấy tờ"
    assert db["audit"].count_where("table_name = 'records' AND action = 'create'") == 2


async def test_same_name_in_another_village_is_a_different_household(tdeps):
    _, _, [member] = await make_team(tdeps)
    await log_new(member, "Trần Thị Bình", "Xuân Hạ")
    await member.say("/ghi")
    await member.pick("Đồng Tâm")
    await member.say("Tran Thi Binh")
    assert "Có phải hộ này" not in member.text and "Hộ mới" in member.text


async def test_one_line_form_confirms_and_offers_existing_household(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An; xuan thuong; vneid2, nganhang")
    assert "Bạn kiểm tra lại" in member.text
    assert "Hỗ trợ kích hoạt VNeID mức 2; Mở tài khoản ngân hàng" in member.text
    await member.pick("Lưu")
    first = receipt(member.text)
    await member.say("/ghi Nguyen Van An; Xuân Thượng; qr")
    assert "Có phải hộ này không?" in member.text
    await member.pick("Nguyễn Văn An")
    assert "Thanh toán bằng mã QR" in member.text
    await member.pick("Lưu")
    db = tdeps.storage.db
    assert receipt(member.text) == first + 1 and db["households"].count == 1


async def test_one_line_form_with_unknown_village_and_words_asks(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi Lê Văn Cường; Thôn Không Có; vneid2, xyz")
    assert "xyz" in member.text and "không thấy thôn" in member.text and "thôn nào" in member.text
    await member.pick("Đồng Tâm")
    assert "Bạn kiểm tra lại" in member.text and "Lê Văn Cường" in member.text
    assert "Ghi nhanh" in (await member.say("/ghi chỉ; hai phần"))[0].text


async def test_double_pressed_confirm_saves_once(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    save = next(c.payload for c in member.last[-1].choices if "Lưu" in c.label)
    first = await member.press(save)
    again = await member.press(save)
    number = receipt(first[0].text)
    assert "đã được lưu rồi" in again[0].text and receipt(again[0].text) == number
    assert tdeps.storage.db["records"].count == 1


async def test_my_records_edit_and_delete_with_audit(tdeps, clock):
    _, _, [member] = await make_team(tdeps)
    first = await log_new(member, "Nguyễn Văn An")
    clock.advance(days=1)
    second = await log_new(member, "Phạm Thị Dung")
    text = (await member.say("/cuatoi"))[0].text
    assert f"Số {second}: Phạm Thị Dung" in text and f"Số {first}: Nguyễn Văn An" in text
    assert "Hôm nay bạn ghi 1 phiếu, tuần này 2 phiếu" in text

    await member.say(f"/sua {first}")
    assert "Sửa phiếu số" in member.text and "✅ Hỗ trợ kích hoạt VNeID mức 2" in [
        c.label for c in member.last[-1].choices]
    await member.pick("Cài đặt VNeID")
    await member.pick("Xong")
    await member.pick("Chưa xong")
    await member.say("Điện thoại hết pin")
    await member.say("Quay lại chiều mai")
    await member.pick("Lưu")
    assert f"Đã sửa phiếu số {first}" in member.text
    db = tdeps.storage.db
    record = db["records"].get(first)
    assert record["services"] == "vneid2,vneid_install" and record["outcome"] == "unfinished"
    assert db["record_services"].count_where("record_id = ?", [first]) == 2
    update = next(db["audit"].rows_where("action = 'update' AND row_id = ?", [first]))
    assert json.loads(update["before"])["outcome"] == "done"
    assert json.loads(update["after"])["reason"] == "Điện thoại hết pin"

    await member.say(f"/xoa {second}")
    await member.pick("Xóa")
    assert f"Đã xóa phiếu số {second}" in member.text
    assert db["records"].get(second)["deleted"] == 1  # soft delete
    delete = next(db["audit"].rows_where("action = 'delete'"))
    assert delete["actor_member_id"] == db["records"].get(second)["member_id"]
    assert json.loads(delete["before"])["deleted"] == 0 and json.loads(delete["after"])["deleted"] == 1
    assert f"Số {second}" not in (await member.say("/cuatoi"))[0].text
    assert "chính mình" in (await member.say(f"/sua {second}"))[0].text


async def test_six_digit_receipt_numbers_are_not_taken_for_otps(tdeps):
    _, _, [member] = await make_team(tdeps)
    db = tdeps.storage.db
    db["records"].insert({**db["records"].get(await log_new(member, "Nguyễn Văn An")),
                          "id": 123455, "request_id": "older"})  # a busy province reaches six digits
    number = await log_new(member, "Phạm Thị Dung")
    assert number == 123456
    await member.say(f"/sua {number}")
    assert f"Sửa phiếu số {number}" in member.text and "giữ kín" not in member.text
    await member.say("/huy")
    await member.say(f"/xoa {number}")
    await member.pick("Xóa")
    assert f"Đã xóa phiếu số {number}" in member.text
    assert "Đừng gửi" in (await member.say("123456"))[0].text  # an OTP pasted alone still warns
    assert "Đừng gửi" in (await member.say("/otp 123456"))[0].text


async def test_edit_window_and_ownership(tdeps, clock):
    _, leader, members = await make_team(tdeps, members=2)
    number = await log_new(members[0], "Nguyễn Văn An")
    assert "chính mình" in (await members[1].say(f"/sua {number}"))[0].text
    assert "chính mình" in (await members[1].say(f"/xoa {number}"))[0].text
    assert "chính mình" in (await members[0].say("/sua 999"))[0].text
    assert "kèm số phiếu" in (await members[0].say("/xoa"))[0].text
    clock.advance(days=8)
    assert "chính mình" in (await members[0].say(f"/sua {number}"))[0].text
    assert tdeps.storage.db["records"].get(number)["deleted"] == 0


async def test_strangers_and_teamless_admins_are_told_what_to_do(tdeps):
    stranger = Chat(tdeps, "x")
    assert "/thamgia" in (await stranger.say("/ghi"))[0].text
    assert "/thamgia" in (await stranger.say("/cuatoi"))[0].text
    assert "tổ trưởng" in (await stranger.say("/xoadulieu An"))[0].text
    admin, _, _ = await make_team(tdeps, members=0)
    assert "chưa thuộc tổ nào" in (await admin.say("/ghi"))[0].text


async def test_faq_answer_offers_logging_to_members_only(tdeps):
    _, _, [member] = await make_team(tdeps)
    stranger = Chat(tdeps, "x")
    labels = [c.label for c in (await stranger.say("kich hoat vneid ko dc"))[0].choices]
    assert "Ghi nhận hỗ trợ hộ dân" not in labels
    await member.say("kich hoat vneid ko dc")
    await member.pick("Ghi nhận hỗ trợ hộ dân")
    await member.pick("Xuân Thượng")
    await member.say("Hoàng Văn Em")
    await member.say("0")
    assert "✅ Hỗ trợ kích hoạt VNeID mức 2" in [c.label for c in member.last[-1].choices]


async def test_unexpected_input_reprompts_and_keeps_the_draft(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi")
    await member.pick("Xuân Hạ")
    stale = member.last[-1]  # the name step's "Đổi thôn" button
    await member.say("Nguyễn Văn An")
    await member.say("123")
    assert "việc gì" in member.text
    await member.say(kind="sticker")
    assert "nhãn dán" in member.text and "việc gì" in member.text
    await member.say("lam sao kich hoat vneid")  # a question: not understood as a service, asked again
    assert "việc gì" in member.text
    await member.say("vneid2")  # an alias typed instead of pressed
    assert "Đã chọn: Hỗ trợ kích hoạt VNeID mức 2" in member.text
    member.last = [stale]
    await member.pick("Đổi thôn")
    assert "cũ" in member.text and "việc gì" in member.text
    await member.pick("Xong")
    await member.pick("Hẹn lại")
    for bad in ("31/02", "01/01/2020", "hôm qua"):
        await member.say(bad)
        assert "Hẹn lại ngày nào" in member.text
    await member.say("/cuatoi")  # a command answers and keeps the flow
    assert "tuần này" in member.text
    await member.say("5/1")
    assert "Thêm ghi chú" in member.text
    await member.pick("Bỏ qua")
    assert "Hẹn lại ngày 05/01/2027" in member.text
    await member.say("/huy")
    assert "Đã hủy" in member.text
    assert tdeps.storage.db["records"].count == 0
    assert "/ghi" in (await member.say("/ghi Nguyễn; Xuân Hạ"))[0].text


async def test_services_need_at_least_one(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi")
    await member.pick("Đồng Tâm")
    await member.say("Vũ Thị Hạnh")
    await member.say("khong")
    await member.pick("Xong")
    assert "ít nhất một việc" in member.text


async def test_restart_mid_flow_resumes_at_the_same_step(settings, small_kb, clock):
    store = Storage(settings.database_path)
    deps = compose(settings=settings, storage=store, kb=small_kb, clock=clock)
    _, _, [member] = await make_team(deps)
    await member.say("/ghi")
    await member.pick("Xuân Hạ")
    await member.say("Nguyễn Văn An")
    assert "3 số cuối" in member.text
    store.close()

    store = Storage(settings.database_path)  # the bot restarts
    deps = compose(settings=settings, storage=store, kb=small_kb, clock=clock)
    member = Chat(deps, "m0")
    await member.say(kind="photo")
    assert "3 số cuối" in member.text and "Nguyễn Văn An" in member.text
    await member.say("912")
    await member.pick("Cài đặt VNeID")
    await member.pick("Xong")
    await member.pick("Đã xong")
    await member.pick("Bỏ qua")
    await member.pick("Lưu")
    number = receipt(member.text)
    assert store.db["households"].get(store.db["records"].get(number)["household_id"])["phone_last3"] == "912"
    store.close()


async def test_a_new_flow_says_it_drops_an_unsaved_draft(tdeps):
    _, leader, _ = await make_team(tdeps, members=0)
    await leader.say("/ghi")
    await leader.pick("Xuân Hạ")
    await leader.say("Nguyễn Văn An")
    replies = await leader.say("/thanhvien")
    assert "Phiếu đang ghi dở cho hộ Nguyễn Văn An chưa được lưu" in replies[0].text
    await leader.pick("Xong")
    await leader.say("/ghi Lê Văn Cường; Đồng Tâm; vneid2")
    assert "ghi dở" not in leader.text
    await leader.say("/ghi Lê Thị Hoa; Đồng Tâm; qr")  # a complete summary is not dropped: asked about first
    assert "ghi dở cho hộ Lê Văn Cường, thôn Đồng Tâm chưa được lưu. Lưu hồ sơ đang ghi dở không?" in leader.text
    await leader.say("/ghi")  # a guided /ghi keeps to the question asked
    assert "Lưu hồ sơ đang ghi dở không?" in leader.text


async def test_the_whole_story_through_respond(tdeps):
    """Admin creates a team, leader invites, member joins, logs, logs again, edits, deletes, /cuatoi."""
    admin = Chat(tdeps, "admin")
    await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ")
    await admin.say("/moi totruong")
    leader = Chat(tdeps, "lead", channel="telegram", name="Hoa")
    await leader.say(f"/thamgia {code_in(admin.text)}")
    await leader.say("/moi")
    member = Chat(tdeps, "42", channel="telegram", name="Lan")
    await member.say(f"/thamgia {code_in(leader.text)}")
    first = await log_new(member, "Đỗ Văn Hùng", "Xuân Thượng", phone="321")
    await member.say("/ghi Do Van Hung; Xuan Thuong; qr")
    await member.pick("Đỗ Văn Hùng (…321)")
    await member.pick("Lưu")
    second = receipt(member.text)
    await member.say(f"/sua {second}")
    await member.pick("Ví điện tử")
    await member.pick("Xong")
    await member.pick("Đã xong")
    await member.pick("Bỏ qua")
    await member.pick("Lưu")
    await member.say(f"/xoa {first}")
    await member.pick("Xóa")
    text = (await member.say("/cuatoi"))[0].text
    assert f"Số {second}: Đỗ Văn Hùng" in text and f"Số {first}:" not in text
    db = tdeps.storage.db
    assert db["households"].count == 1
    actions = [(r["row_id"], r["action"]) for r in db["audit"].rows_where("table_name = 'records'", order_by="id")]
    assert actions == [(first, "create"), (second, "create"), (second, "update"), (first, "delete")]
