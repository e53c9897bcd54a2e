"""The whole story on Telegram: the real adapter (python-telegram-bot) against the loopback fake Bot API.

Admin creates a team, invites a leader, the leader invites a member, the member logs households
by pressing inline buttons, edits, deletes and lists them; the leader exports and charts; the bot
restarts in the middle of a /ghi and carries on.
"""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from aiohttp import web

from bot.app import compose
from bot.channels import telegram as tg
from bot.core import Deps
from bot.storage import Storage
from tests.channelkit import TelegramUser, buttons, telegram_deps
from tests.fake_telegram import FakeTelegram
from tests.teamkit import code_in, receipt

ADMIN, LEADER, MEMBER = 1, 200, 300  # settings.admin_ids has telegram:1
STICKER = {"file_id": "s1", "file_unique_id": "su1", "type": "regular", "width": 512, "height": 512,
           "is_animated": False, "is_video": False}


@pytest.fixture
def deps(settings, storage, small_kb, tfake, clock) -> Deps:
    return telegram_deps(compose(settings=settings, storage=storage, kb=small_kb, clock=clock), tfake)


async def start(deps: Deps) -> tg.TelegramChannel:
    return await tg.start(deps, web.Application(), poll_timeout=1, max_rate=None)


async def team_on_telegram(tfake: FakeTelegram) -> tuple[TelegramUser, TelegramUser, TelegramUser]:
    admin = TelegramUser(tfake, ADMIN, "Quản trị")
    await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ, Đồng Tâm")
    assert "Tổ CNS Xuân" in admin.text
    await admin.say("/moi totruong")
    leader = TelegramUser(tfake, LEADER, "Hoa")
    await leader.say(f"/thamgia {code_in(admin.text)}")
    assert "vai trò tổ trưởng" in leader.text
    await leader.say("/moi")
    member = TelegramUser(tfake, MEMBER, "Lan")
    await member.say(f"/thamgia {code_in(leader.text)}")
    assert "Chào mừng" in member.text
    return admin, leader, member


async def test_the_whole_story_through_telegram(tfake, deps):
    channel = await start(deps)
    try:
        _, leader, member = await team_on_telegram(tfake)
        db = deps.storage.db

        # A new household, every choice pressed as an inline button.
        await member.say("/ghi")
        assert "thôn nào" in member.text
        await member.press("Xuân Hạ")
        assert "tên chủ hộ" in member.text
        await member.say("Nguyễn Văn An")
        assert "3 số cuối" in member.text and not buttons(member.last[-1])
        await member.say("678")
        assert "việc gì" in member.text
        await member.press("kích hoạt VNeID mức 2")
        assert "Đã chọn: Hỗ trợ kích hoạt VNeID mức 2" in member.text
        await member.press("Xong")
        await member.press("Đã xong")
        await member.press("Bỏ qua")
        assert "Nguyễn Văn An (hộ mới, số ĐT đuôi 678)" in member.text
        await member.press("Lưu")
        first = receipt(member.text)
        assert len(tfake.answered) == 6  # every press stopped its spinner

        # The same family again, typed without diacritics: offered as a match.
        await member.say("/ghi")
        await member.press("Xuân Hạ")
        await member.say("nguyen van an")
        assert "Có phải hộ này không?" in member.text
        await member.press("Nguyễn Văn An (…678)")
        await member.press("Cài đặt VNeID")
        await member.press("Xong")
        await member.press("Đã xong")
        await member.press("Bỏ qua")
        confirm = member.message_with("Lưu")

        # The confirm button pressed twice in a row: saved once, both presses answered.
        data = next(b["callback_data"] for b in buttons(confirm) if "Lưu" in b["text"])
        after = len(tfake.sent)
        await tfake.push_callback(confirm, data, user_id=MEMBER)
        await tfake.push_callback(confirm, data, user_id=MEMBER)
        saved, again = await tfake.wait_sent(2, after=after, chat_id=MEMBER)
        second = receipt(saved["text"])
        assert second == first + 1 and "Đã lưu" in saved["text"]
        assert "đã được lưu rồi" in again["text"] and receipt(again["text"]) == second
        assert db["records"].count == 2 and db["households"].count == 1

        # Edit the second record, delete the first.
        await member.say(f"/sua {second}", count=2)
        assert f"Sửa phiếu số {second}" in member.text
        await member.press("Ví điện tử")
        await member.press("Xong")
        await member.press("Chưa xong")
        await member.press("Thiếu giấy tờ")
        await member.press("Bỏ qua")
        await member.press("Lưu")
        assert f"Đã sửa phiếu số {second}" in member.text
        await member.say(f"/xoa {first}")
        await member.press("Xóa")
        assert f"Đã xóa phiếu số {first}" in member.text

        audit = [(r["row_id"], r["action"]) for r in db["audit"].rows_where("table_name = 'records'", order_by="id")]
        assert audit == [(first, "create"), (second, "create"), (second, "update"), (first, "delete")]
        update = next(db["audit"].rows_where("action = 'update' AND row_id = ?", [second]))
        assert json.loads(update["after"])["reason"] == "Thiếu giấy tờ"
        assert db["records"].get(first)["deleted"] == 1

        await member.say("/cuatoi")
        assert f"Số {second}: Nguyễn Văn An" in member.text and f"Số {first}:" not in member.text
        assert "Ví điện tử" in member.text

        # The leader's export arrives as a real .xlsx document, the chart as a PNG photo.
        await leader.say("/xuat")
        [document] = leader.last
        assert document["document"]["file_name"].endswith(".xlsx")
        assert "1 lượt hỗ trợ" in document["caption"]
        [upload] = tfake.methods("sendDocument")
        book = openpyxl.load_workbook(io.BytesIO(upload["document"]["content"]))
        cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row]
        assert "Nguyễn Văn An" in cells
        await leader.say("/bieudo")
        [photo] = leader.last
        assert photo["photo"] and photo["caption"].startswith("Biểu đồ")
        [chart] = tfake.methods("sendPhoto")
        assert chart["photo"]["content"].startswith(b"\x89PNG\r\n\x1a\n")

        # A member is refused the leaders' export, politely.
        await member.say("/xuat")
        assert "tổ trưởng" in member.text and not tfake.methods("sendDocument")[1:]
    finally:
        await channel.stop()


async def test_restart_mid_flow_resumes_at_the_same_step(tfake, settings, small_kb, clock):
    store = Storage(settings.database_path)
    deps = telegram_deps(compose(settings=settings, storage=store, kb=small_kb, clock=clock), tfake)
    channel = await start(deps)
    try:
        _, _, member = await team_on_telegram(tfake)
        await member.say("/ghi")
        await member.press("Đồng Tâm")
        await member.say("Trần Thị Bình")
        await member.say("0")
        assert "việc gì" in member.text
        services = member.last[-1]
    finally:
        await channel.stop()
        store.close()

    store = Storage(settings.database_path)  # the bot comes back on the same database
    deps = telegram_deps(compose(settings=settings, storage=store, kb=small_kb, clock=clock), tfake)
    channel = await start(deps)
    try:
        # A button sent before the restart still works: the flow was kept in the database.
        await member.press("Cài đặt VNeID", message=services)
        assert "Đã chọn: Cài đặt VNeID" in member.text and "Trần Thị Bình" in member.text
        await member.send(count=2, sticker=STICKER)
        assert "nhãn dán" in member.text and "việc gì" in member.text  # asked again, draft kept
        await member.press("Xong")
        await member.press("Đã xong")
        await member.press("Bỏ qua")
        await member.press("Lưu")
        number = receipt(member.text)
        record = store.db["records"].get(number)
        assert record["services"] == "vneid_install"
        assert store.db["households"].get(record["household_id"])["head_name"] == "Trần Thị Bình"
        # The old button is stale now: told so, nothing saved twice.
        await member.press("Cài đặt VNeID", message=services)
        assert "cũ" in member.text and store.db["records"].count == 1
    finally:
        await channel.stop()
        store.close()
