"""End to end on Zalo: guided logging by typed numbers, exports as links or summaries, and one member
linked across Telegram and Zalo, through the real adapters against both loopback fakes."""

from __future__ import annotations

import io
import re

import aiohttp
import openpyxl
import pytest

from bot.access import member_for
from bot.app import compose
from bot.core import Deps
from bot.runner import build_web_app, start_channels
from bot.storage import Storage
from tests.channelkit import TelegramUser, ZaloUser, free_port, running, telegram_deps, zalo_deps
from tests.chat import Chat
from tests.fake_zalo import FakeZalo
from tests.teamkit import Clock, code_in, receipt

LEADER, MEMBER = "a1b2c3d4e5f6a7b8c9d0", "6ede9afa66b88fe6d6a9"
VILLAGES = "Xuân Thượng, Xuân Hạ, Đồng Tâm"


@pytest.fixture
def base(settings, storage, small_kb) -> Deps:
    return compose(settings=settings, storage=storage, kb=small_kb, clock=Clock())


async def new_team(deps: Deps) -> Chat:
    """The admin (on the console) creates the team and an invite for its leader."""
    admin = Chat(deps, "admin", name="Quản trị")
    await admin.say(f"/taoto Tổ CNS Xuân; Xã Xuân Thượng; {VILLAGES}")
    await admin.say("/moi totruong")
    return admin


async def team_on_zalo(deps: Deps, fake: FakeZalo) -> tuple[ZaloUser, ZaloUser]:
    admin = await new_team(deps)
    leader = ZaloUser(fake, LEADER, "Hoa")
    await leader.say(f"/thamgia {code_in(admin.text)}")
    assert "vai trò tổ trưởng" in leader.text
    await leader.say("/moi")
    member = ZaloUser(fake, MEMBER, "Lan")
    await member.say(f"/thamgia {code_in(leader.text)}")
    assert "Chào mừng" in member.text
    return leader, member


async def test_guided_logging_by_typed_numbers_and_exports(base, zfake, tmp_path):
    port = free_port()
    deps = zalo_deps(base, zfake, public_base_url=f"http://127.0.0.1:{port}")
    db = deps.storage.db
    async with running(deps, port=port):
        leader, member = await team_on_zalo(deps, zfake)

        await member.say("/ghi")
        assert member.text.endswith("Hộ dân ở thôn nào?\n1. Xuân Thượng\n2. Xuân Hạ\n3. Đồng Tâm\n"
                                    "Gõ 1, 2 hoặc 3 để chọn.")
        await member.say("2")
        assert "Thôn Xuân Hạ" in member.text and "tên chủ hộ" in member.text
        await member.say("Nguyen Van An")
        assert "3 số cuối" in member.text and "Gõ 1" not in member.text
        await member.say("678")  # digits with no list open go to the flow, not to a choice
        assert "việc gì" in member.text
        await member.say("99", count=2)  # then the list again
        assert "Số 99 không ứng với lựa chọn nào" in member.last[0] and "việc gì" in member.last[1]
        await member.say("", kind="sticker", count=2)
        assert "nhãn dán" in member.last[0] and "việc gì" in member.last[1]
        await member.pick("kích hoạt VNeID mức 2")
        assert "Đã chọn: Hỗ trợ kích hoạt VNeID mức 2" in member.text
        await member.pick("Xong")
        await member.pick("Hẹn lại")
        await member.say("25/11")
        await member.pick("Bỏ qua")
        assert "Nguyen Van An (hộ mới, số ĐT đuôi 678)" in member.text and "25/11/2026" in member.text
        await member.pick("Lưu")
        first = receipt(member.text)
        record = db["records"].get(first)
        assert (record["services"], record["outcome"], record["followup_on"]) == ("vneid2", "followup", "2026-11-25")

        # The same household again: the match is offered as a numbered choice.
        await member.say("/ghi")
        await member.pick("Xuân Hạ")
        await member.say("nguyễn văn an")
        assert "Có phải hộ này không?" in member.text
        await member.pick("(…678)")
        await member.pick("Mở tài khoản ngân hàng")
        await member.pick("Xong")
        await member.pick("Đã xong")
        await member.pick("Bỏ qua")
        await member.pick("Lưu")
        assert receipt(member.text) == first + 1
        await member.say("1")  # "Lưu" again, typed after the save: no list is open any more
        assert "không ứng với lựa chọn nào" in member.text
        assert db["records"].count == 2 and db["households"].count == 1

        # The leader's export as a download link served by the bot's own web server.
        await leader.say("/xuat")
        assert "Tệp Excel báo cáo Tổ CNS Xuân" in leader.text and "24 giờ" in leader.text
        link = re.search(r"http://127\.0\.0\.1:\d+/files/\S+", leader.text).group()
        async with aiohttp.ClientSession() as session, session.get(link) as resp:
            assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
            book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
        cells = {str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row}
        assert "Nguyen Van An" in cells

    # Without PUBLIC_BASE_URL there is no link: a text summary and a hint instead.
    deps = zalo_deps(base, zfake, public_base_url="")
    async with running(deps):
        await leader.say("/xuat")
        assert leader.text.startswith("📊 Báo cáo Tổ CNS Xuân")
        assert "Lượt hỗ trợ: 2. Số hộ được hỗ trợ: 1." in leader.text
        assert "Telegram" in leader.text and "/files/" not in leader.text
        await leader.say("/bieudo")
        assert leader.text.startswith("Tổ CNS Xuân") and "2 lượt hỗ trợ" in leader.text
        assert not zfake.sent(method="sendPhoto")
    assert db["downloads"].count == 1  # only the link made while PUBLIC_BASE_URL was set


async def test_one_member_linked_across_telegram_and_zalo(base, tfake, zfake):
    deps = telegram_deps(zalo_deps(base, zfake), tfake)
    channels = await start_channels(deps, ["telegram", "zalo"], build_web_app(deps))
    try:
        admin = await new_team(deps)
        leader_tg = TelegramUser(tfake, 200, "Hoa")
        await leader_tg.say(f"/thamgia {code_in(admin.text)}")
        await leader_tg.say("/moi")
        member_tg = TelegramUser(tfake, 300, "Lan")
        await member_tg.say(f"/thamgia {code_in(leader_tg.text)}")

        # The code is asked for on Telegram and sent from Zalo.
        await member_tg.say("/lienket")
        code = re.search(r"/lienket ([A-Z]{6})", member_tg.text).group(1)
        member_z = ZaloUser(zfake, MEMBER, "Lan")
        after = len(tfake.sent)
        await member_z.say(f"/lienket {code}")
        assert "Đã liên kết xong, Lan" in member_z.text
        [notice] = await tfake.wait_sent(after=after, chat_id=300)
        assert "Zalo vừa được liên kết" in notice["text"]
        tg_member, z_member = member_for(deps, "telegram:300"), member_for(deps, f"zalo:{MEMBER}")
        assert tg_member == z_member and z_member.role == "member"

        # Logged from Zalo, listed on Telegram.
        await member_z.say("/ghi Lê Văn Cường; Đồng Tâm; vneid2, qr")
        assert "Bạn kiểm tra lại" in member_z.text
        await member_z.pick("Lưu")
        number = receipt(member_z.text)
        await member_tg.say("/cuatoi")
        assert f"Số {number}: Lê Văn Cường, thôn Đồng Tâm" in member_tg.text

        # The same role on both apps: a member is refused the leaders' report on each, alike.
        await member_tg.say("/baocao")
        await member_z.say("/baocao")
        assert member_z.text == member_tg.text and "tổ trưởng" in member_z.text

        # The leader links too and is a leader on Zalo as well.
        await leader_tg.say("/lienket")
        leader_z = ZaloUser(zfake, LEADER, "Hoa")
        await leader_z.say(f"/lienket {re.search(r'/lienket ([A-Z]{6})', leader_tg.text).group(1)}")
        assert member_for(deps, f"zalo:{LEADER}").is_leader
        await leader_z.say("/baocao")
        assert "Lượt hỗ trợ: 1." in leader_z.text and "- Lan: 1 / 1" in leader_z.text

        # A code asked for on Zalo (now a member there) links a second Telegram account the other way.
        await leader_z.say("/lienket")
        code = re.search(r"/lienket ([A-Z]{6})", leader_z.text).group(1)
        phone2 = TelegramUser(tfake, 201, "Hoa")
        await phone2.say(f"/lienket {code}")
        assert "Đã liên kết xong, Hoa" in phone2.text
        assert member_for(deps, "telegram:201") == member_for(deps, "telegram:200")
        assert any("Telegram vừa được liên kết" in t for t in zfake.texts(LEADER))
    finally:
        for channel in reversed(channels):
            await channel.stop()


async def test_restart_mid_flow_then_a_typed_number_still_picks(settings, small_kb, zfake):
    store = Storage(settings.database_path)
    deps = zalo_deps(compose(settings=settings, storage=store, kb=small_kb, clock=Clock()), zfake)
    try:
        async with running(deps):
            _, member = await team_on_zalo(deps, zfake)
            await member.say("/ghi")
            await member.pick("Đồng Tâm")
            await member.say("Trần Thị Bình")
            await member.say("0")
            assert "việc gì" in member.text
            install = member.number_of("Cài đặt VNeID")
    finally:
        store.close()

    store = Storage(settings.database_path)  # the bot comes back on the same database
    deps = zalo_deps(compose(settings=settings, storage=store, kb=small_kb, clock=Clock()), zfake)
    try:
        async with running(deps):
            await member.say(str(install))  # the list sent before the restart
            assert "Đã chọn: Cài đặt VNeID" in member.text and "Trần Thị Bình" in member.text
            await member.pick("Xong")
            await member.pick("Đã xong")
            await member.pick("Bỏ qua")
            await member.pick("Lưu")
            record = store.db["records"].get(receipt(member.text))
            assert record["services"] == "vneid_install"
    finally:
        store.close()
