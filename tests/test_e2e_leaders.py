"""Issue 14 end to end, the member on Telegram and the leader on Zalo (and back), through the real adapters
against both loopback fakes: a question relayed member -> leader -> member, a "cần sửa" round trip and a
leader's correction told to the member on the other app."""

from __future__ import annotations

from conftest import Chat
from teamkit import Clock, code_in, receipt

from bot.core import Deps
from bot.runner import build_web_app, start_channels
from tests.channelkit import TelegramUser, ZaloUser, telegram_deps, zalo_deps

LEADER, MEMBER = "a1b2c3d4e5f6a7b8c9d0", "6ede9afa66b88fe6d6a9"


async def test_member_on_telegram_leader_on_zalo(settings, storage, small_kb, tfake, zfake):
    base = Deps(settings=settings, storage=storage, kb=small_kb, clock=Clock())
    deps = telegram_deps(zalo_deps(base, zfake), tfake)
    channels = await start_channels(deps, ["telegram", "zalo"], build_web_app(deps))
    try:
        admin = Chat(deps, "admin", name="Quản trị")
        await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ")
        await admin.say("/moi totruong")
        leader = ZaloUser(zfake, LEADER, "Hoa")
        await leader.say(f"/thamgia {code_in(admin.text)}")
        await leader.say("/moi")
        member = TelegramUser(tfake, 300, "Lan")
        await member.say(f"/thamgia {code_in(leader.text)}")

        # A question the bot cannot answer goes to the leader on Zalo, with a numbered "Trả lời".
        await member.say("đăng ký nuôi chó mèo ở đâu")
        assert "chưa có câu trả lời" in member.text
        before = len(zfake.texts(LEADER))
        await member.press("Hỏi tổ trưởng")
        assert "Đã gửi câu hỏi cho tổ trưởng" in member.text
        [asked] = (await zfake.wait_texts(before + 1, LEADER))[before:]
        assert "Lan (thành viên tổ) hỏi" in asked and "nuôi chó mèo" in asked and "1. ✍️ Trả lời" in asked
        leader.last = [asked]
        await leader.pick("Trả lời")
        assert "Bạn gõ câu trả lời" in leader.text
        after = len(tfake.sent)
        await leader.say("Anh ra bộ phận một cửa của xã nhé.", count=2)
        assert "Đã chuyển câu trả lời" in leader.text
        [relayed] = await tfake.wait_sent(after=after, chat_id=300)
        assert "Tổ trưởng Hoa trả lời" in relayed["text"] and "bộ phận một cửa" in relayed["text"]

        # The member logs on Telegram; the leader on Zalo sends it back to fix; the member is told on Telegram.
        await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
        await member.press("Lưu")
        number = receipt(member.text)
        await leader.say("duyet")
        assert f"Số {number} (Lan" in leader.text
        await leader.pick(f"Cần sửa số {number}")
        after = len(tfake.sent)
        await leader.say("Thiếu ngày hẹn quay lại")
        assert "cần sửa và nhắn thành viên" in leader.text
        [note] = await tfake.wait_sent(after=after, chat_id=300)
        assert f"nhờ bạn sửa phiếu số {number}: Thiếu ngày hẹn" in note["text"]
        await member.say(f"/sua {number}", count=2)
        assert "Tổ trưởng nhắn cần sửa" in member.text
        await member.press("Xong")
        await member.press("Hẹn lại")
        await member.press("Ngày mai")
        await member.press("Bỏ qua")
        await member.press("Lưu")
        assert f"Đã sửa phiếu số {number}" in member.text
        assert deps.storage.db["records"].get(number)["review"] == "new"
        await leader.say("duyet")
        await leader.pick(f"Duyệt số {number}")
        assert f"Đã duyệt phiếu số {number}" in leader.text
        assert deps.storage.db["records"].get(number)["review"] == "approved"

        # The leader corrects the record from Zalo; the member reads why on Telegram.
        await leader.say(f"sua {number}")
        assert "lý do" in leader.text
        await leader.say("Hộ hẹn sang tuần sau")
        await leader.pick("Xong")
        await leader.pick("Hẹn lại")
        await leader.pick("Tuần sau")
        await leader.pick("Bỏ qua")
        after = len(tfake.sent)
        await leader.pick("Lưu")
        assert f"Đã sửa phiếu số {number}" in leader.text and "Đã báo cho thành viên" in leader.text
        [told] = await tfake.wait_sent(after=after, chat_id=300)
        assert f"Tổ trưởng Hoa đã sửa phiếu số {number}" in told["text"] and "ngày hẹn" in told["text"]
        assert "Hộ hẹn sang tuần sau" in told["text"]
    finally:
        for channel in reversed(channels):
            await channel.stop()


async def test_member_on_zalo_leader_on_telegram_buttons(settings, storage, small_kb, tfake, zfake):
    base = Deps(settings=settings, storage=storage, kb=small_kb, clock=Clock())
    deps = telegram_deps(zalo_deps(base, zfake), tfake)
    channels = await start_channels(deps, ["telegram", "zalo"], build_web_app(deps))
    try:
        admin = Chat(deps, "admin", name="Quản trị")
        await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ")
        await admin.say("/moi totruong")
        leader = TelegramUser(tfake, 200, "Hoa")
        await leader.say(f"/thamgia {code_in(admin.text)}")
        await leader.say("/moi")
        member = ZaloUser(zfake, MEMBER, "Lan")
        await member.say(f"/thamgia {code_in(leader.text)}")

        after = len(tfake.sent)
        await member.say("hoi to truong lich truc cua to tuan nay the nao")
        assert "Đã gửi câu hỏi cho tổ trưởng" in member.text
        [asked] = await tfake.wait_sent(after=after, chat_id=200)
        assert "lich truc cua to" in asked["text"]
        leader.last = [asked]
        await leader.press("Trả lời")
        assert "Bạn gõ câu trả lời" in leader.text
        before = len(zfake.texts(MEMBER))
        await leader.say("Thứ Bảy này trực ở nhà văn hóa thôn.", count=2)
        assert "Đã chuyển câu trả lời" in leader.text
        [relayed] = (await zfake.wait_texts(before + 1, MEMBER))[before:]
        assert "Tổ trưởng Hoa trả lời" in relayed and "nhà văn hóa thôn" in relayed
        await leader.press("Trả lời", message=asked)  # the old button again: answered already, said so
        assert "đã được trả lời" in leader.text
    finally:
        for channel in reversed(channels):
            await channel.stop()
