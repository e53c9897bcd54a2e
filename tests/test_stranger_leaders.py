"""A stranger's scenarios for the leader's and the admin's side (r18-leaders), end to end through the real
Telegram and Zalo adapters against their fakes, plus three conversation gaps a tester left in round 18.

Written as people type: a leader asking for this week's or this month's report, a date range, the export
file, the chart and the digest; reviewing and correcting a member's record; inviting and removing members;
a leader of one team reaching for another; a member trying the leaders' commands; an admin named in the
configuration and one who is not; a team with no records yet; a report asked while the bot restarts.
Each bug found is named in the test that failed before its fix (CHANGELOG.md, "r18-leaders").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import aiohttp
import pytest
from openpyxl import load_workbook

from bot import scheduler
from bot.app import compose
from bot.core import Deps
from tests.channelkit import (
    TelegramUser,
    ZaloUser,
    free_port,
    running,
    telegram_deps,
    telegram_running,
    zalo_deps,
)
from tests.chat import Chat
from tests.teamkit import VN, code_in, invite_leader, receipt

NO_ANSWER = "chưa có câu trả lời"


@pytest.fixture
def zsmall(settings, storage, small_kb, zfake, clock) -> Deps:
    return zalo_deps(compose(settings=settings, storage=storage, kb=small_kb, clock=clock), zfake)


@pytest.fixture
def zshipped(settings, storage, shipped_kb, zfake, clock) -> Deps:
    return zalo_deps(compose(settings=settings, storage=storage, kb=shipped_kb, clock=clock), zfake)


@pytest.fixture
def tsmall(settings, storage, small_kb, tfake, clock) -> Deps:
    return telegram_deps(compose(settings=settings, storage=storage, kb=small_kb, clock=clock), tfake)


async def zalo_member(deps: Deps, zfake, user: str = "m" * 20) -> ZaloUser:
    code = await invite_leader(deps, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Thượng, Xuân Hạ")
    member = ZaloUser(zfake, user, "Lan")
    await member.say(f"tham gia {code}")
    return member


# --- three conversation gaps -------------------------------------------------------------------------------

async def test_a_new_one_line_record_keeps_the_unsaved_summary_on_zalo(zsmall, zfake, storage):
    """Gap (a), "nothing is lost": before, a new one-line /ghi typed under an unsaved summary dropped that
    record ("Phiếu đang ghi dở cho hộ … chưa được lưu và đã bỏ"). Now it asks first, and saves both."""
    async with running(zsmall):
        member = await zalo_member(zsmall, zfake)
        await member.say("ghi Nguyễn Văn An; Xuân Hạ; cài vneid")
        assert "Bạn kiểm tra lại trước khi lưu" in member.text
        await member.say("/ghi Lê Văn Ba; Xuân Thượng; kích hoạt vneid")
        assert "Lưu hồ sơ đang ghi dở không?" in member.text and "Nguyễn Văn An" in member.text
        assert "đã bỏ" not in member.text
        await member.say("ok", count=2)  # "ok" picks "✅ Lưu phiếu đang ghi dở"
        assert "Đã lưu. Số phiếu: 1" in member.text
        assert "- Hộ: Lê Văn Ba (hộ mới), thôn Xuân Thượng" in member.text
        await member.pick("Lưu")
        assert "Số phiếu: 2" in member.text
        # Dropping on purpose still works, and says so; the new record goes on.
        await member.say("ghi Trần Văn Cư; Xuân Hạ; cài vneid")
        await member.say("ghi Phạm Thị Dung; Xuân Hạ; cài vneid")  # without "/": words read as the command
        assert "Lưu hồ sơ đang ghi dở không?" in member.text
        await member.pick("Không lưu", count=2)
        assert "Đã bỏ phiếu đang ghi dở cho hộ Trần Văn Cư" in member.text and "Phạm Thị Dung" in member.text
        await member.say("lưu")
        assert "Số phiếu: 3" in member.text
    heads = [r["head_name"] for r in storage.db.query(
        "select h.head_name from records r join households h on h.id = r.household_id order by r.id")]
    assert heads == ["Nguyễn Văn An", "Lê Văn Ba", "Phạm Thị Dung"]


async def test_the_old_save_button_under_the_summary_still_saves_both_on_telegram(tsmall, tfake, storage):
    """On Telegram the summary's "Lưu" button stays on screen: pressed after the new line was typed it saves
    the record it was under, then the new line goes on (before: the record was dropped, the button stale)."""
    code = await invite_leader(tsmall, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Thượng, Xuân Hạ")
    async with telegram_running(tsmall):
        member = TelegramUser(tfake, 300, "Lan")
        await member.say(f"/thamgia {code}")
        summary = (await member.say("/ghi Nguyễn Văn An; Xuân Hạ; cài vneid"))[-1]
        await member.say("/ghi Lê Văn Ba; Xuân Hạ; cài vneid")
        assert "Lưu hồ sơ đang ghi dở không?" in member.text
        await member.press("Lưu", count=2, message=summary)
        assert "Đã lưu. Số phiếu: 1" in member.last[0]["text"] and "Lê Văn Ba" in member.last[1]["text"]
        await member.say("/ghi Trần Văn Cư; Xuân Hạ; cài vneid")
        assert "Lưu hồ sơ đang ghi dở không?" in member.text
        await member.press("Xem lại", count=2)
        assert "/ghi Trần Văn Cư; Xuân Hạ; cài vneid" in member.text and "Lê Văn Ba" in member.text
    assert storage.db["records"].count == 1


async def test_a_number_after_the_complaint_reply_reads_its_list_on_zalo(zshipped, zfake):
    """Gap (b): the reply to "bot ngu quá" lists "1. … 2. … 3. …" in its text, which on Zalo looks like the
    numbered choices; "1" got "Số 1 không ứng với lựa chọn nào". Now the number reads that line of the list,
    and a line that says to type a command ("Gõ /chude …") does it."""
    async with running(zshipped):
        villager = ZaloUser(zfake, "v" * 20, "Ông Ba")
        await villager.say("bot ngu qua, tra loi sai het")
        assert "1. Hỏi lại ngắn gọn" in villager.text
        await villager.say("1")
        assert "không ứng với lựa chọn" not in villager.text
        assert "Mục 1 ở trên: Hỏi lại ngắn gọn" in villager.text
        await villager.say("2", count=2)  # the same list is still the one read
        assert "Tôi làm luôn /chude" in villager.last[0] and "1. " in villager.last[1]  # the topics, as choices
        await villager.say("1")  # now a real choice: the first topic
        assert "không ứng với lựa chọn" not in villager.text and "Mục 1 ở trên" not in villager.text


async def test_ok_after_a_saved_record_is_acknowledged_on_zalo(zsmall, zfake, storage, clock):
    """Gap (c): "dung roi" / "ok" right after a record was saved went to the question matcher ("chưa có câu
    trả lời"). Now a warm "Đã lưu rồi ạ", and nothing is saved twice; later, "ok" is a question again."""
    async with running(zsmall):
        member = await zalo_member(zsmall, zfake)
        await member.say("ghi Nguyễn Văn An; Xuân Hạ; cài vneid")
        await member.say("dung roi")
        assert "Số phiếu: 1" in member.text
        for said in ("dung roi", "ok", "Đúng rồi ạ", "lưu"):
            await member.say(said)
            assert "Đã lưu rồi ạ, phiếu số 1" in member.text and NO_ANSWER not in member.text, said
        await member.say("quen mat khau vneid")  # anything else forgets the saved record
        await member.say("ok")
        assert "Đã lưu rồi" not in member.text
        await member.say("ghi Lê Văn Ba; Xuân Hạ; cài vneid")
        await member.say("ok")
        clock.advance(hours=2)
        await member.say("ok")
        assert "Đã lưu rồi" not in member.text
    assert storage.db["records"].count == 2


# --- a leader's week on Telegram ---------------------------------------------------------------------------

def workbook_text(path: Path) -> tuple[list[str], str]:
    """The detail sheet's header row, and every cell of the workbook as one text."""
    book = load_workbook(path, read_only=True)
    header = [str(c) for c in next(book["Chi tiết"].iter_rows(values_only=True))]
    cells = " | ".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row
                       if c is not None)
    return header, cells


async def test_a_leaders_reports_export_and_chart_on_telegram(tsmall, tfake, settings, storage):
    """The leader asks for reports as people type them (with and without diacritics, this week, this month, a
    date range), first with no records, then after members log households with secrets typed in; the export
    opens as an Excel workbook with Vietnamese headers and holds no ID number, OTP or password."""
    code = await invite_leader(tsmall, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Thượng, Xuân Hạ")
    async with telegram_running(tsmall):
        leader = TelegramUser(tfake, 200, "Hoa")
        await leader.say(f"/thamgia {code}")
        # An empty team: friendly replies, never an error.
        for said in ("bao cao", "/baocao tuần này", "báo cáo từ 1/11 đến 15/11"):
            await leader.say(said)
            assert "Chưa có lượt hỗ trợ nào" in leader.text and "Lượt hỗ trợ: 0" in leader.text, said
        await leader.say("xuat")
        assert "Chưa có lượt hỗ trợ nào" in leader.text, leader.text
        await leader.say("bieu do tuan nay")
        assert "Chưa có lượt hỗ trợ nào" in leader.text, leader.text

        await leader.say("/moi")
        member = TelegramUser(tfake, 300, "Lan")
        await member.say(f"/thamgia {code_in(leader.text)}")
        await member.say("ghi Nguyễn Văn An cccd 034123456789; Xuân Hạ; cài vneid", count=2)
        await member.press("Lưu")
        await member.say("/ghi Lê Thị Hoa; Xuân Thượng; kích hoạt vneid, ngân hàng; hôm qua")
        await member.press("Sửa")
        await member.press("Xong")
        await member.press("Đã xong")
        await member.say("mã otp 482913, mk Hoa@1960", count=2)
        await member.press("Lưu")

        await leader.say("bao cao tuan nay")
        assert "tuần này (16/11/2026 - 18/11/2026)" in leader.text and "Lượt hỗ trợ: 2. Số hộ được hỗ trợ: 2." \
            in leader.text
        await leader.say("Báo cáo tháng này")
        assert "tháng 11/2026" in leader.text and "Lượt hỗ trợ: 2" in leader.text and "Lan" in leader.text
        await leader.say("/baocao 18/11-18/11")
        assert "Lượt hỗ trợ: 1" in leader.text
        await leader.say("/baocao 20/11-25/11")  # days still ahead: said so, not an empty report
        assert "chưa tới (hôm nay là 18/11/2026)" in leader.text and "Lượt hỗ trợ:" not in leader.text
        await leader.say("/xuat 20/11-25/11")
        assert "chưa tới" in leader.text and not leader.last[-1].get("document"), leader.last

        await leader.say("/xuat tháng này")
        [sent] = leader.last
        assert sent["document"]["file_name"].endswith(".xlsx") and "2 lượt hỗ trợ" in sent["caption"]
        [path] = settings.export_dir.glob(f"*{sent['document']['file_name'][-13:]}")
        header, cells = workbook_text(path)
        assert {"Số phiếu", "Ngày", "Thành viên", "Hộ dân", "Thôn", "Dịch vụ"} <= set(header), header
        assert "Nguyễn Văn An" in cells and "Lê Thị Hoa" in cells
        for secret in ("034123456789", "482913", "Hoa@1960"):
            assert secret not in cells.replace(".", "").replace(" ", ""), secret
        await leader.say("/bieudo tháng này")
        assert leader.last[0]["photo"] and "Biểu đồ lượt hỗ trợ" in leader.last[0]["caption"]
    assert storage.db["records"].count == 2


# How leaders ask for a period, each with the period it must read as (today is Wednesday 18/11/2026). Before
# r18-leaders: "từ ngày … đến ngày …", "ngày hôm qua", "tuần rồi" (said in the South), a period with "của tổ"
# or "nhé" after it, and "báo cáo tổ tháng này" were "Tôi chưa hiểu khoảng thời gian" or "Tổ trưởng xem được
# báo cáo của tổ mình"; "xuất file báo cáo", "xem báo cáo", "gửi báo cáo tháng này" went to the question
# matcher; "15/11-1/11" (the days typed the other way round) reported 15/11/2025 - 01/11/2026.
LEADER_PERIODS = [
    ("bao cao tu ngay 1/11 den ngay 15/11", "01/11/2026 - 15/11/2026"),
    ("báo cáo ngày hôm qua", "hôm qua 17/11/2026"),
    ("bao cao tuan roi", "tuần trước (09/11/2026 - 15/11/2026)"),
    ("báo cáo tháng rồi nhé", "tháng 10/2026"),
    ("bao cao tuan nay cua to", "tuần này (16/11/2026 - 18/11/2026)"),
    ("báo cáo tổ tháng này", "tháng 11/2026"),
    ("/baocao tổ CNS Xuân tuần này", "tuần này (16/11/2026 - 18/11/2026)"),
    ("xem bao cao", "tháng 11/2026"),
    ("gửi báo cáo tháng này", "tháng 11/2026"),
    ("/baocao 15/11-1/11", "01/11/2026 - 15/11/2026"),
    ("bc 1/11 - 15/11", "01/11/2026 - 15/11/2026"),
]


@pytest.mark.parametrize(("said", "label"), LEADER_PERIODS)
async def test_periods_as_leaders_type_them(tdeps, said, label):
    admin = Chat(tdeps, "admin", name="Quản trị")
    await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ")
    await admin.say("/moi totruong")
    leader = Chat(tdeps, "lead", name="Hoa")
    await leader.say(f"/thamgia {code_in(admin.text)}")
    await leader.say(said)
    assert f"📊 Báo cáo Tổ CNS Xuân, {label}\n" in leader.text, leader.text


async def test_export_said_as_words_and_questions_that_start_alike(tdeps):
    admin = Chat(tdeps, "admin", name="Quản trị")
    await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ")
    await admin.say("/moi totruong")
    leader = Chat(tdeps, "lead", name="Hoa")
    await leader.say(f"/thamgia {code_in(admin.text)}")
    for said in ("xuất file báo cáo", "tai file excel thang nay", "xuat bao cao tuan truoc"):
        [reply] = await leader.say(said)
        assert reply.file is not None and reply.file.suffix == ".xlsx", said
    [reply] = await leader.say("xem bieu do tuan nay")
    assert reply.image is not None
    # A question that opens like a command is still a question (to the FAQ, and the unanswered inbox).
    await leader.say("gui bao cao cho xa the nao")
    assert NO_ANSWER in leader.text and "Tôi chưa hiểu tin nhắn này" not in leader.text


# --- two teams on Zalo: review, corrections, members, the export as a link, the digest, reaching across ------

LEAD_A, MEMBER_A, LEAD_B, MEMBER_B, STRANGER = ("a" * 20, "b" * 20, "c" * 20, "d" * 20, "e" * 20)


async def test_two_teams_leaders_on_zalo(settings, storage, small_kb, zfake, clock):
    """Leaders of two teams and their members, all on Zalo (numbered lines, no buttons), the admin named in
    the configuration on the console, and a Zalo user who calls himself admin but is not named there."""
    port = free_port()
    deps = zalo_deps(compose(settings=settings, storage=storage, kb=small_kb, clock=clock), zfake,
                     public_base_url=f"http://127.0.0.1:{port}")
    code_a = await invite_leader(deps, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Thượng, Xuân Hạ")
    code_b = await invite_leader(deps, "Tổ CNS Đông", "Xã Đông Sơn", "Đông A, Đông B")
    async with running(deps, port=port) as (channel, base):
        deps.services.senders["zalo"] = channel.send  # as the runner does: messages to members, the digest
        lead_a, lead_b = ZaloUser(zfake, LEAD_A, "Hoa"), ZaloUser(zfake, LEAD_B, "Tâm")
        await lead_a.say(f"tham gia {code_a}")
        await lead_b.say(f"/thamgia {code_b}")
        await lead_a.say("moi thanh vien")
        member_a = ZaloUser(zfake, MEMBER_A, "Lan")
        await member_a.say(f"tham gia {code_in(lead_a.text)}")
        await lead_b.say("/moi")
        member_b = ZaloUser(zfake, MEMBER_B, "Ba")
        await member_b.say(f"tham gia {code_in(lead_b.text)}")

        # A member tries the leaders' commands, with and without diacritics: one plain refusal each.
        for said in ("bao cao", "/xuat tháng này", "bieu do", "mời thành viên", "/thanhvien", "duyet", "/taoto"):
            await member_a.say(said)
            assert "dành cho tổ trưởng" in member_a.text or "dành cho quản trị viên" in member_a.text, said
        # A Zalo user who is not named in the configuration cannot create a team, whatever he says.
        stranger = ZaloUser(zfake, STRANGER, "Quản trị")
        await stranger.say("/taoto Tổ Giả; Xã Giả; Thôn Giả")
        assert "dành cho quản trị viên" in stranger.text and "ADMIN_IDS" not in stranger.text
        await stranger.say("/moi totruong")
        assert "dành cho tổ trưởng" in stranger.text or "dành cho quản trị viên" in stranger.text

        # Members log; the leader reviews by typing the numbers of the lines.
        await member_a.say("ghi Nguyễn Văn An; Xuân Hạ; cài vneid, mã otp 482913", count=3)
        await member_a.say("ok")
        number = receipt(member_a.text)
        await member_b.say("ghi Trần Văn Cư; Đông A; cài vneid")
        await member_b.say("ok")
        number_b = receipt(member_b.text)
        await lead_a.say("duyet")
        assert f"Số {number} (Lan" in lead_a.text and "Trần Văn Cư" not in lead_a.text
        await lead_a.pick(f"Duyệt số {number}")
        assert f"Đã duyệt phiếu số {number}" in lead_a.text

        # The leader corrects the member's record; the member is told on Zalo, with the reason.
        await lead_a.say(f"sua {number}")
        await lead_a.say("Hộ còn mở tài khoản ngân hàng")
        await lead_a.pick("Mở tài khoản ngân hàng")
        await lead_a.pick("Xong")
        await lead_a.pick("Đã xong")
        await lead_a.pick("Bỏ qua")
        before = len(zfake.texts(MEMBER_A))
        await lead_a.pick("Lưu")
        assert f"Đã sửa phiếu số {number}" in lead_a.text and "Đã báo cho thành viên" in lead_a.text
        told = (await zfake.wait_texts(before + 1, MEMBER_A))[before:]
        assert "Hộ còn mở tài khoản ngân hàng" in told[0]

        # Team B's leader reaches for team A: reports, export, review, corrections and deletions are refused.
        for said in ("/baocao Tổ CNS Xuân", "xuat Tổ CNS Xuân tháng này", f"/sua {number}", f"xoa {number}"):
            await lead_b.say(said)
            assert "Nguyễn Văn An" not in lead_b.text and "Lượt hỗ trợ: 1" not in lead_b.text, said
            assert "tổ mình" in lead_b.text or "trong tổ mình" in lead_b.text or "phiếu của thành viên trong tổ" \
                in lead_b.text, (said, lead_b.text)
        await lead_b.say("/duyet Tổ CNS Xuân")
        assert f"Số {number}" not in lead_b.text and f"Số {number_b}" in lead_b.text

        # The export through a download link: an Excel workbook, Vietnamese headers, no OTP.
        await lead_a.say("xuat excel tuan nay")
        assert "2 lượt" not in lead_a.text and "1 lượt hỗ trợ" in lead_a.text
        link = next(w for w in lead_a.text.split() if w.startswith(f"{base}/files/"))
        async with aiohttp.ClientSession() as http, http.get(link) as resp:
            assert resp.status == 200
            body = await resp.read()
        workbook = settings.export_dir / "downloaded.xlsx"
        workbook.write_bytes(body)
        header, cells = workbook_text(workbook)
        assert "Hộ dân" in header and "Nguyễn Văn An" in cells and "482913" not in cells
        assert "Trần Văn Cư" not in cells  # team B's record is not in team A's file
        await lead_a.say("bieu do tuan nay")
        assert zfake.sent(LEAD_A, "sendPhoto")

        # Members: the list has no numbers of its own, so a typed number is a choice; remove one by name.
        await lead_a.say("thanh vien")
        assert "\n- Lan (thành viên): 1 lượt" in lead_a.text and "\n1. Hoa" not in lead_a.text
        await lead_a.pick("Xong")
        await lead_a.say("xóa thành viên lan")
        assert "Cho Lan rời tổ?" in lead_a.text
        await lead_a.pick("Đồng ý")
        assert "Lan đã rời tổ" in lead_a.text
        await member_a.say("/ghi")
        assert "dành cho thành viên" in member_a.text

        # The weekly digest reaches the leader on Zalo on Monday morning.
        clock.now = dt.datetime(2026, 11, 23, 7, 5, tzinfo=VN)
        before = len(zfake.texts(LEAD_A))
        assert await scheduler.run_due(deps) >= 1
        digest = (await zfake.wait_texts(before + 1, LEAD_A))[before]
        assert "Tổ CNS Xuân" in digest and "482913" not in digest


# --- the admin named in the configuration, and a restart -----------------------------------------------------

async def test_admin_named_and_not_and_a_report_across_a_restart_on_telegram(tsmall, tfake, storage):
    """The admin named in the configuration (telegram:1) creates a team and reads any team's report by
    pressing its name; a Telegram user who is not named cannot. A leader's report asked while the bot is down
    is answered when it is back, and a correction begun before the restart goes on after it."""
    async with telegram_running(tsmall):
        admin, impostor = TelegramUser(tfake, 1, "Quản trị"), TelegramUser(tfake, 2, "Quản trị viên")
        await impostor.say("/taoto Tổ Giả; Xã Giả; Thôn Giả")
        assert "dành cho quản trị viên" in impostor.text
        await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ")
        assert "Đã tạo tổ \"Tổ CNS Xuân\"" in admin.text
        await admin.say("tao to Tổ CNS Đông; Xã Đông Sơn; Đông A")
        assert "Đã tạo tổ \"Tổ CNS Đông\"" in admin.text
        await admin.say("moi to truong")
        await admin.press("Tổ CNS Xuân")
        leader = TelegramUser(tfake, 200, "Hoa")
        await leader.say(f"/thamgia {code_in(admin.text)}")
        await leader.say("/moi")
        member = TelegramUser(tfake, 300, "Lan")
        await member.say(f"/thamgia {code_in(leader.text)}")
        await member.say("/ghi Nguyễn Văn An; Xuân Hạ; cài vneid")
        await member.press("Lưu")
        number = receipt(member.text)
        await admin.say("bao cao thang nay")
        assert "Bạn muốn xem tổ nào?" in admin.text
        await admin.press("Tổ CNS Xuân")
        assert "Báo cáo Tổ CNS Xuân, tháng 11/2026" in admin.text and "Lượt hỗ trợ: 1" in admin.text
        await impostor.say("/baocao Tổ CNS Xuân")
        assert "dành cho tổ trưởng" in impostor.text and "Lượt hỗ trợ" not in impostor.text
        # Before r18-leaders an admin's "duyet" with two teams said "Bạn gõ /duyet <tên tổ>"; now a pick.
        await admin.say("duyet")
        assert "Duyệt phiếu của tổ nào?" in admin.text
        await admin.press("Tổ CNS Xuân")
        assert f"Số {number} (Lan" in admin.text
        await impostor.say("duyet")
        assert "dành cho tổ trưởng" in impostor.text
        await leader.say(f"/sua {number}")
        assert "lý do" in leader.text

    # The bot is down: the leader's messages wait at Telegram.
    after = len(tfake.sent)
    await tfake.push_text("bao cao tuan nay", user_id=200, name="Hoa")
    async with telegram_running(tsmall):
        [report] = await tfake.wait_sent(1, after=after, chat_id=200)
        assert "Báo cáo Tổ CNS Xuân, tuần này" in report["text"] and "Lượt hỗ trợ: 1" in report["text"]
        leader.last = [report]
        await leader.say("Hộ hẹn quay lại tuần sau")  # the reason asked before the restart
        assert "việc gì" in leader.text
    assert storage.db["records"].count == 1


async def test_review_by_number_and_the_inbox_on_zalo(zsmall, zfake, storage):
    """Before r18-leaders "duyệt hết", "duyet phieu 2" went to the question matcher (and into the leaders'
    unanswered inbox), "/duyet 1" said "Tổ trưởng chỉ duyệt phiếu của tổ mình" (the number read as a team's
    name), and the inbox listed its groups as "1. … 2. …" above its own numbered choices, so "2" typed for the
    second group pressed "Nhóm 1: bỏ qua"."""
    async with running(zsmall):
        admin = Chat(zsmall, "admin", name="Quản trị")
        await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ")
        await admin.say("/moi totruong")
        leader = ZaloUser(zfake, LEAD_A, "Hoa")
        await leader.say(f"tham gia {code_in(admin.text)}")
        await leader.say("moi thanh vien")
        member = ZaloUser(zfake, MEMBER_A, "Lan")
        await member.say(f"tham gia {code_in(leader.text)}")
        for name in ("Nguyễn Văn An", "Lê Văn Ba", "Trần Văn Cư"):
            await member.say(f"ghi {name}; Xuân Hạ; cài vneid")
            await member.say("ok")
        await leader.say("duyet het")
        assert "Duyệt cả 3 phiếu trên" in leader.text and storage.db["records"].count == 3
        assert not [r for r in storage.db["records"].rows if r["review"] != "new"]  # nothing approved unseen
        await leader.say("duyet phieu 2")
        assert "Đã duyệt phiếu số 2." in leader.text and "1 đã duyệt" in leader.text
        await leader.say("/duyet 2")
        assert "Phiếu số 2 không có trong các phiếu mới" in leader.text
        await leader.pick("Duyệt cả 2 phiếu trên")
        assert "Đã duyệt phiếu số 3, 1." in leader.text
        assert not storage.db.execute("select count(*) from unanswered").fetchone()[0]

        await member.say("đăng ký nuôi chó mèo ở đâu")
        await member.say("xin cấp giấy phép karaoke")
        await leader.say("/chuatraloi")
        assert "\n1. \"" not in leader.text and "Nhóm 2: \"" in leader.text
        await leader.pick("Nhóm 2: bỏ qua")
        assert "Nhóm 1: \"" in leader.text and "(1 lần)" in leader.text


async def test_an_empty_month_on_its_first_day_points_to_last_month_on_telegram(tsmall, tfake, clock):
    """On 1/12 a record of 28/11 belongs to November: "/baocao" (this month) is empty, so it says how many
    last month holds and offers it with a button, not a bare zero the leader takes for lost records
    (r19-stranger3 found the bare zero)."""
    clock.now = dt.datetime(2026, 11, 28, 9, 0, tzinfo=VN)
    code = await invite_leader(tsmall, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Thượng, Xuân Hạ")
    async with telegram_running(tsmall):
        leader = TelegramUser(tfake, 200, "Hoa")
        await leader.say(f"/thamgia {code}")
        await leader.say("/ghi Nguyễn Văn An; Xuân Hạ; cài vneid")
        await leader.press("Lưu")
        clock.advance(days=3)  # 1/12/2026
        await leader.say("/baocao")
        assert "tháng 12/2026" in leader.text and "Lượt hỗ trợ: 0" in leader.text, leader.text
        assert "Tháng 11/2026 tổ có 1 lượt hỗ trợ" in leader.text, leader.text
        await leader.press("Xem tháng 11/2026")
        assert "tháng 11/2026" in leader.text and "Lượt hỗ trợ: 1. Số hộ được hỗ trợ: 1." in leader.text
        clock.advance(days=31)  # 1/1/2027: December is empty too, so there is nothing to point to
        await leader.say("/baocao")
        assert "Lượt hỗ trợ: 0" in leader.text and "bấm nút" not in leader.text, leader.text
