"""Privacy and access for the assistance log: redaction everywhere, /xoadulieu, team scoping."""

from __future__ import annotations

from conftest import Chat
from teamkit import code_in, make_team, receipt

from bot.core import Deps, Incoming, respond

SECRETS = ["001203004567", "0912345678", "0987654321", "482913", "912345678", "987654321"]


def dump(deps: Deps) -> str:
    db = deps.storage.db
    return "\n".join(str(row) for table in db.table_names() for row in db[table].rows)


async def test_id_numbers_and_phones_are_never_stored(tdeps):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An 001203004567; Xuân Hạ; vneid2")
    assert "Đừng gửi" in member.text and "Tôi đã ẩn" in member.text
    await member.pick("Sửa")
    await member.pick("Xong")
    await member.pick("Chưa xong")
    await member.say("chưa có OTP 482913")
    await member.say("CCCD 001203004567, gọi 0987654321 khi xong")
    assert "Tôi đã ẩn" in member.text
    await member.pick("Lưu")
    first = receipt(member.text)

    await member.say("/ghi")
    await member.pick("Xuân Hạ")
    await member.say("Trần Bình 0912345678")  # a full phone number in the name: masked, and the member is told
    assert "Tôi đã ẩn" in member.text and "Hộ mới: Trần Bình," in member.text
    await member.say("0912 345 678")
    assert "Chỉ cần 3 số cuối" in member.text
    await member.say("678")
    await member.pick("Cài đặt VNeID")
    await member.pick("Xong")
    await member.pick("Đã xong")
    await member.pick("Bỏ qua")
    await member.pick("Lưu")
    receipt(member.text)

    db = tdeps.storage.db
    assert db["households"].get(db["records"].get(first)["household_id"])["head_name"] == "Nguyễn Văn An"
    assert "[đã ẩn]" in db["records"].get(first)["note"]
    everything = dump(tdeps)
    for secret in SECRETS:
        assert secret not in everything


async def test_leader_erases_a_household_keeping_counts(tdeps):
    _, leader, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await member.pick("Sửa")
    await member.pick("Xong")
    await member.pick("Đã xong")
    await member.say("Nhà Nguyễn Văn An cạnh chợ")
    await member.pick("Lưu")
    await member.say("/ghi Nguyen Van An; Xuân Hạ; qr")
    await member.pick("Nguyễn Văn An")
    await member.pick("Lưu")

    assert "tổ trưởng" in (await member.say("/xoadulieu Nguyễn Văn An"))[0].text
    assert "Không tìm thấy" in (await leader.say("/xoadulieu Hoàng Văn Z"))[0].text
    await leader.say("/xoadulieu nguyen van an")
    await leader.say("lung tung")  # free text leaves the picker (answered as a question); nothing erased
    assert next(tdeps.storage.db["households"].rows)["erased"] == 0
    await leader.say("/xoadulieu nguyen van an")
    await leader.pick("Nguyễn Văn An, thôn Xuân Hạ")
    await leader.pick("Xóa thông tin")
    assert "Đã xóa thông tin cá nhân" in leader.text

    db = tdeps.storage.db
    house = next(db["households"].rows)
    assert (house["head_name"], house["head_key"], house["phone_last3"], house["erased"]) == ("", "", None, 1)
    assert db["records"].count_where("deleted = 0") == 2  # anonymous counts stay
    assert db["audit"].count_where("action = 'erase'") == 1
    everything = dump(tdeps)
    assert "Nguyễn Văn An" not in everything and "cạnh chợ" not in everything
    assert "(đã xóa tên)" in (await member.say("/cuatoi"))[0].text
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; qr")
    assert "Có phải hộ này" not in member.text  # an erased household is never offered


async def test_leaders_are_scoped_to_their_own_team(tdeps):
    admin, leader_a, [member_a] = await make_team(tdeps)
    await member_a.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await member_a.pick("Lưu")
    await admin.say("/taoto Tổ B; Xã B; Thôn B")
    await admin.say("/moi totruong")
    await admin.pick("Tổ B")
    leader_b = Chat(tdeps, "leadb", name="Bảy")
    await leader_b.say(f"/thamgia {code_in(admin.text)}")
    assert "Không tìm thấy" in (await leader_b.say("/xoadulieu Nguyễn Văn An"))[0].text
    text = (await leader_b.say("/thanhvien"))[0].text
    assert "Lan 0" not in text and "Bảy" in text
    assert "chính mình" in (await leader_b.say("/sua 1"))[0].text
    assert "chính mình" in (await leader_b.say("/xoa 1"))[0].text
    # The team's own leader may void it, with a reason (issue 14); the other team's leader never.
    assert "lý do" in (await leader_a.say("/xoa 1"))[0].text
    await leader_a.say("/huy")


async def test_logging_and_lists_stay_out_of_group_chats(tdeps):
    _, leader, [member] = await make_team(tdeps)
    for user, text in [("m0", "/ghi Nguyễn Văn An; Xuân Hạ; vneid2"), ("m0", "/cuatoi"), ("lead", "/thanhvien"),
                       ("lead", "/xoadulieu An")]:
        replies = await respond(Incoming("console", user, "group-1", text=text, is_group=True), tdeps)
        assert "tin nhắn riêng" in replies[0].text
    replies = await respond(Incoming("console", "m0", "group-1", text="kich hoat vneid ko dc", is_group=True), tdeps)
    assert "Ghi nhận hỗ trợ hộ dân" not in [c.label for c in replies[0].choices]
    assert tdeps.storage.db["records"].count == 0
