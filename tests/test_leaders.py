"""Issue 14 through the core: a leader corrects and voids a member's record (audited, member told),
reviews records (/duyet), follow-ups as a to-do list (/viec) with one reminder on the due day, and
"hỏi tổ trưởng" relayed both ways."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from bot import followups, review
from bot.app import compose
from bot.channels.telegram import bot_commands
from bot.core import Deps, Reply, Services
from bot.storage import Storage
from handlers import ROUTER
from handlers.help import help_lines
from tests.chat import Chat
from tests.teamkit import VN, make_team, receipt


class Outbox:
    """The running channels, as far as proactive messages go: what was sent to whom."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        self.sent.extend((chat_id, r.text) for r in replies)

    def to(self, chat_id: str) -> str:
        return "\n".join(text for c, text in self.sent if c == chat_id)


@pytest.fixture
def outbox(tdeps: Deps) -> Outbox:
    box = Outbox()
    tdeps.services.senders = {"console": box.send}
    return box


async def log(member: Chat, line: str = "Nguyễn Văn An; Xuân Hạ; vneid2") -> int:
    await member.say(f"/ghi {line}")
    await member.pick("Lưu")
    return receipt(member.text)


async def test_a_leader_fixes_and_voids_a_members_record_with_an_audit(tdeps, outbox, clock):
    admin, leader, [member, other] = await make_team(tdeps, members=2)
    first, second = await log(member), await log(member, "Trần Thị Bình; Đồng Tâm; vneid2")

    await leader.say(f"/sua {first}")
    assert "lý do" in leader.text and "Lan 0" in leader.text
    await leader.say("ok")  # too short to be a reason
    assert "lý do" in leader.text
    await leader.say("Ghi nhầm việc, là mở tài khoản ngân hàng")
    assert "việc gì" in leader.text
    await leader.pick("Hỗ trợ kích hoạt VNeID mức 2")  # untick
    await leader.pick("Mở tài khoản ngân hàng")
    await leader.pick("Xong")
    await leader.pick("Đã xong")
    await leader.pick("Bỏ qua")
    assert "của Lan 0 (lý do: Ghi nhầm việc" in leader.text
    await leader.pick("Lưu")
    assert f"Đã sửa phiếu số {first}" in leader.text and "Đã báo cho thành viên" in leader.text
    told = outbox.to("m0")
    assert f"Tổ trưởng Hoa đã sửa phiếu số {first}" in told and "việc đã hỗ trợ" in told and "Ghi nhầm việc" in told

    await leader.say(f"/xoa {second}")
    await leader.say("Ghi trùng với phiếu khác")
    assert "Hủy phiếu này của Lan 0" in leader.text
    await leader.pick("Xóa")
    assert f"Đã hủy phiếu số {second}" in leader.text
    assert f"đã hủy phiếu số {second}" in outbox.to("m0") and "Ghi trùng" in outbox.to("m0")

    trail = review.record_trail(tdeps.storage.db, first)
    assert [t["action"] for t in trail] == ["create", "update"]
    assert trail[1]["who"] == "Hoa" and trail[1]["why"] == "Ghi nhầm việc, là mở tài khoản ngân hàng"
    assert trail[1]["before"]["services"] == "vneid2" and "bank" in trail[1]["after"]["services"]
    voided = review.record_trail(tdeps.storage.db, second)[-1]
    assert (voided["action"], voided["who"], voided["why"]) == ("delete", "Hoa", "Ghi trùng với phiếu khác")
    assert tdeps.storage.db["records"].get(second)["deleted"] == 1

    # Another member may not; nor the leader after LEADER_EDIT_DAYS; an admin may (any team).
    assert "chính mình" in (await other.say(f"/sua {first}"))[0].text
    clock.advance(days=31)
    assert "30 ngày" in (await leader.say(f"/sua {first}"))[0].text
    tdeps.settings = dataclasses.replace(tdeps.settings, leader_edit_days=40)
    assert "lý do" in (await admin.say(f"/xoa {first}"))[0].text


async def test_review_approve_and_send_back_round_trip(tdeps, outbox):
    admin, leader, [member] = await make_team(tdeps)
    ids = [await log(member, f"Hộ Số {n}; Xuân Hạ; vneid2") for n in range(8)]

    await leader.say("duyệt")  # the word works without "/"
    text = leader.text
    assert "8 mới, 0 đã duyệt, 0 cần sửa" in text and text.index(f"Số {ids[7]} ") < text.index(f"Số {ids[6]} ")
    assert f"Số {ids[2]} " not in text and "Xem tiếp" in str(leader.last[-1].choices)  # a screen: 5
    await leader.pick(f"Duyệt số {ids[7]}")
    assert f"Đã duyệt phiếu số {ids[7]}" in leader.text and f"Số {ids[7]} (" not in leader.text
    await leader.pick(f"Cần sửa số {ids[6]}")
    await leader.say("Thiếu việc mở tài khoản ngân hàng")
    assert f"Đã đánh dấu phiếu số {ids[6]} cần sửa và nhắn thành viên" in leader.text
    assert f"nhờ bạn sửa phiếu số {ids[6]}: Thiếu việc mở tài khoản" in outbox.to("m0")
    assert f"Số {ids[1]} (" in leader.text and f"Số {ids[0]} (" not in leader.text
    await leader.pick("Xem tiếp")
    assert f"Số {ids[0]} (" in leader.text and f"Số {ids[1]} (" not in leader.text
    await leader.say("/duyet")
    await leader.pick("Duyệt cả 5 phiếu")
    assert f"Đã duyệt phiếu số {ids[5]}, {ids[4]}, {ids[3]}, {ids[2]}, {ids[1]}." in leader.text
    await leader.press("f:stale:ok:1")
    assert "đã cũ" in leader.text

    db = tdeps.storage.db
    assert db["records"].get(ids[6])["review"] == "fix"
    await member.say("/cuatoi")
    assert f"✏️ Cần sửa: Thiếu việc mở tài khoản ngân hàng (gõ /sua {ids[6]})" in member.text
    assert f"Số {ids[7]}: Hộ Số 7, thôn Xuân Hạ, " in member.text and "(đã duyệt)" in member.text
    await member.say(f"/sua {ids[6]}")
    assert "Tổ trưởng nhắn cần sửa: Thiếu việc mở tài khoản ngân hàng" in member.text
    await member.pick("Mở tài khoản ngân hàng")
    await member.pick("Xong")
    await member.pick("Đã xong")
    await member.pick("Bỏ qua")
    await member.pick("Lưu")
    assert db["records"].get(ids[6])["review"] == "new"  # back in the leader's queue

    await leader.say("/baocao thang duyet")
    assert "Chỉ tính phiếu đã duyệt." in leader.text and "Lượt hỗ trợ: 6." in leader.text
    await leader.say("bao cao thang nay da duyet")
    assert "Chỉ tính phiếu đã duyệt." in leader.text and "Lượt hỗ trợ: 6." in leader.text
    await leader.say("bao cao thang nay")
    assert "Lượt hỗ trợ: 8." in leader.text and "Trạng thái duyệt: mới 2, đã duyệt 6, cần sửa 0." in leader.text
    assert "tổ trưởng" in (await member.say("/duyet"))[0].text
    await admin.say("/duyet Xuân")  # admins name the team
    assert "2 mới, 6 đã duyệt" in admin.text and f"Số {ids[6]} (" in admin.text
    assert "Không tìm thấy tổ \"Không Có\"" in (await admin.say("/duyet Không Có"))[0].text
    await admin.pick("Tổ CNS Xuân")  # the admin picks the team, as in /baocao and /thanhvien
    assert "2 mới, 6 đã duyệt" in admin.text


async def test_a_followup_is_a_todo_reminded_once_on_its_day(tdeps, outbox, clock, settings, small_kb):
    _, leader, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await member.pick("Sửa")
    await member.pick("Xong")
    await member.pick("Chưa xong")
    await member.pick("Thiếu giấy tờ")
    await member.pick("Bỏ qua")
    assert "Chưa xong (Thiếu giấy tờ), hẹn quay lại ngày 21/11/2026" in member.text  # default: 3 days
    await member.pick("Đổi ngày hẹn")
    await member.say("ngày mai")
    assert "hẹn quay lại ngày 19/11/2026" in member.text
    await member.pick("Lưu")
    first = receipt(member.text)
    await member.say("/ghi Trần Thị Bình; Đồng Tâm; vneid2")
    await member.pick("Sửa")
    await member.pick("Xong")
    await member.pick("Hẹn lại")
    await member.say("thứ 6")
    await member.pick("Bỏ qua")
    await member.pick("Lưu")
    second = receipt(member.text)

    await member.say("viec")
    text = member.text
    assert text.index(f"phiếu số {first}") < text.index(f"phiếu số {second}") and "19/11/2026" in text

    # Reminders: none before the due day or before 08:00; one at 08:00; never twice, even after a restart.
    today = dt.datetime(2026, 11, 18, 9, 0, tzinfo=VN)
    assert await followups.run_reminders(tdeps, today) == 0
    assert await followups.run_reminders(tdeps, today + dt.timedelta(hours=22, minutes=59)) == 0
    assert await followups.run_reminders(tdeps, today + dt.timedelta(hours=23)) == 1
    assert await followups.run_reminders(tdeps, today + dt.timedelta(hours=23, minutes=5)) == 0
    tdeps.storage.close()
    again = compose(settings=settings, storage=Storage(settings.database_path), kb=small_kb, clock=clock,
                 services=Services(senders=tdeps.services.senders))
    assert await followups.run_reminders(again, today + dt.timedelta(hours=30)) == 0
    reminders = [t for c, t in outbox.sent if c == "m0" and "⏰" in t]
    assert len(reminders) == 1 and f"phiếu số {first}" in reminders[0] and "Nguyễn Văn An" in reminders[0]
    # Two runs at once on Friday (two connections, as two processes would): one reminder.
    other = compose(settings=settings, storage=Storage(settings.database_path), kb=small_kb, clock=clock,
                 services=Services(senders=tdeps.services.senders))
    friday = dt.datetime(2026, 11, 20, 8, 0, tzinfo=VN)
    counts = await asyncio.gather(followups.run_reminders(again, friday), followups.run_reminders(other, friday))
    assert sorted(counts) == [0, 1]
    other.storage.close()

    # Overdue ones show in the leader's report; closing one links it to the record, no double count.
    tdeps.storage = again.storage
    member.deps = leader.deps = again
    clock.now = dt.datetime(2026, 11, 21, 9, 0, tzinfo=VN)
    await leader.say("/baocao thang")
    assert "Lượt hỗ trợ: 2. Số hộ được hỗ trợ: 2." in leader.text and "2 đã đến hẹn (quá hẹn 2)" in leader.text
    await member.say("/viec")
    await member.pick(f"Số {first}")
    await member.pick("Đã xong")
    await member.say("Đã mang đủ giấy tờ, kích hoạt xong")
    assert f"phiếu số {first} - đã xong" in member.text and f"phiếu số {second}" in member.text
    await member.pick(f"Số {second}")
    await member.pick("Hẹn ngày khác")
    await member.say("25/11")
    assert "Đã hẹn lại" in member.text and "25/11/2026" in member.text
    await leader.say("/baocao thang")
    text = leader.text
    assert "Lượt hỗ trợ: 2. Số hộ được hỗ trợ: 2." in text and "1 lượt đang mở, 0 đã đến hẹn" in text
    assert "đã xong khi quay lại 1" in text
    row = again.storage.db["followup_closes"].get(first)
    assert row["result"] == "done" and "giấy tờ" in row["note"]
    await leader.say("/xoadulieu Nguyễn Văn An")  # erasing the household clears the close note too
    await leader.pick("Nguyễn Văn An")
    await leader.pick("Xóa thông tin")
    assert again.storage.db["followup_closes"].get(first)["note"] is None
    again.storage.close()


async def test_ask_the_leader_and_the_reply_comes_back(tdeps, outbox):
    _, leader, [member] = await make_team(tdeps)
    stranger = Chat(tdeps, "x1", name="Khách")
    assert "chưa thuộc tổ" in (await stranger.say("hỏi tổ trưởng làm sao đổi số điện thoại VNeID")).pop().text

    # Under "Ý bạn là…?", "Không phải các mục trên" offers it too.
    await member.say("tài khoản số")  # a bank account or a VNeID account? choices
    assert "Ý bạn là" in member.text
    await member.pick("Không phải các mục trên")
    assert "gửi cho tổ trưởng" in member.text
    await member.pick("Hỏi tổ trưởng")
    assert "Đã gửi câu hỏi cho tổ trưởng" in member.text and "tài khoản số" in outbox.to("lead")
    # From the "no answer" reply: one tap.
    await member.say("đăng ký nuôi chó mèo ở đâu")
    assert "chưa có câu trả lời" in member.text
    await member.pick("Hỏi tổ trưởng")
    assert "Đã gửi câu hỏi cho tổ trưởng" in member.text
    assert "Lan 0 (thành viên tổ) hỏi" in outbox.to("lead") and "nuôi chó mèo" in outbox.to("lead")
    await member.press("hoi:last")  # pressed again: not sent twice
    assert "đã được gửi rồi" in member.text

    # The leader's button (its number on the console) opens the reply; the member gets it.
    state = tdeps.storage.load_session("console:lead")
    assert [label for label, _ in state["choices"]] == ["✍️ Trả lời", "📚 Đưa vào /chuatraloi"]
    await leader.say("1")
    assert "Bạn gõ câu trả lời" in leader.text and "nuôi chó mèo" in leader.text
    await leader.say("Anh ra UBND xã, bộ phận một cửa, mang theo giấy tờ nhà nhé.")
    assert "Đã chuyển câu trả lời cho thành viên" in leader.text
    assert "Tổ trưởng Hoa trả lời" in outbox.to("m0") and "bộ phận một cửa" in outbox.to("m0")
    await leader.pick("Đưa vào /chuatraloi")
    await leader.say("/chuatraloi")
    assert "nuôi chó mèo" in leader.text

    # Typed, with an ID number redacted before anyone sees it; at most 10 open questions.
    await member.say("gặp người thật")
    assert "gõ câu hỏi" in member.text
    await member.say("CCCD 001204012345 của bà tôi bị khóa thì làm sao")
    assert "001204012345" not in outbox.to("lead") and "của bà tôi bị khóa" in outbox.to("lead")
    for n in range(8):  # karaoke and the CCCD one are open, the other answered: 10 open after these
        await member.say(f"/hoitotruong câu hỏi số {n}")
        assert "Đã gửi" in member.text
    await member.say("/hoitotruong thêm một câu nữa")
    assert "đang có 10 câu hỏi" in member.text


async def test_the_digest_lists_questions_waiting_a_day(tdeps, outbox, clock):
    from bot import scheduler

    _, leader, [member] = await make_team(tdeps)
    await member.say("/hoitotruong bao giờ họp tổ")
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await member.pick("Sửa")
    await member.pick("Xong")
    await member.pick("Hẹn lại")
    await member.say("mai")
    await member.pick("Bỏ qua")
    await member.pick("Lưu")
    slot = dt.datetime(2026, 11, 23, 7, 0, tzinfo=VN)
    digest = next(d for d in scheduler.build_digests(tdeps.storage.db, followups.catalogue(), slot)
                  if d.key.startswith("leader:"))
    assert "chưa trả lời quá 24 giờ (1)" in digest.text and "Lan 0: \"bao giờ họp tổ\"" in digest.text
    assert "1 lượt đang mở, 1 đã đến hẹn (quá hẹn 1)" in digest.text and "19/11/2026: Nguyễn Văn An" in digest.text
    # Answered questions leave the digest.
    qid = tdeps.storage.db.execute("SELECT id FROM leader_questions").fetchone()[0]
    await leader.press(f"hoi:reply:{qid}")
    await leader.say("Tối thứ Sáu nhé")
    digest = next(d for d in scheduler.build_digests(tdeps.storage.db, followups.catalogue(), slot)
                  if d.key.startswith("leader:"))
    assert "chưa trả lời" not in digest.text


def test_telegram_menus_by_role():
    member = {c.command for c in bot_commands(ROUTER, "member")}
    leader = {c.command for c in bot_commands(ROUTER, "leader")}
    assert {"viec", "hoitotruong"} <= member and "duyet" not in member
    assert {"duyet", "viec", "hoitotruong", "baocao"} <= leader


async def test_help_menus_groups_and_the_export_show_the_new_commands(tdeps, outbox):

    admin, leader, [member] = await make_team(tdeps)
    member_help = (await member.say("/trogiup"))[0].text
    assert "/viec" in member_help and "/hoitotruong" in member_help and "/duyet" not in member_help
    assert "/duyet" in (await leader.say("tro giup"))[0].text
    assert "/duyet" not in [c for c, _ in help_lines(ROUTER.features, None)] and "/viec" not in [c for c, _ in help_lines(ROUTER.features, None)]
    from bot.core import Incoming, respond
    for text in ("/duyet", "/viec", "/hoitotruong hỏi thử", "duyet", "hỏi tổ trưởng hỏi thử"):
        [reply] = await respond(Incoming("console", "lead", "-100", text=text, is_group=True), tdeps)
        assert "tin nhắn riêng" in reply.text, text

    kept = await log(member)
    gone = await log(member, "Trần Thị Bình; Đồng Tâm; vneid2")
    await leader.say("/duyet")
    await leader.pick(f"Duyệt số {kept}")
    await member.say(f"/xoa {gone}")
    await member.pick("Xóa")
    await log(member, "Lê Văn Cường; Đồng Tâm; vneid2")  # stays new
    import openpyxl

    await leader.say("xuat thang duyet")
    assert "(chỉ phiếu đã duyệt): 1 lượt" in leader.text
    book = openpyxl.load_workbook(leader.last[0].file)
    rows = list(book["Chi tiết"].iter_rows(values_only=True))
    assert rows[0][-2:] == ("Trạng thái duyệt", "Quay lại") and len(rows) == 2 and rows[1][-2] == "đã duyệt"
    await leader.say("/xuat thang")
    book = openpyxl.load_workbook(leader.last[0].file)
    rows = list(book["Chi tiết"].iter_rows(values_only=True))
    assert len(rows) == 3 and sorted(r[-2] for r in rows[1:]) == ["mới", "đã duyệt"]
    summary = {r[0]: r[1] for r in book["Tổng hợp"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Lượt hỗ trợ"] == 2 and summary["Phiếu đã duyệt"] == 1 and summary["Phiếu mới"] == 1
    assert summary["Phiếu cần sửa"] == 0


def test_new_commands_said_as_words():
    from handlers.words import as_command, looks_private

    assert as_command("duyệt") == "/duyet" and as_command("Việc cần làm") == "/viec"
    assert as_command("hỏi tổ trưởng sao không đăng nhập được") == "/hoitotruong sao không đăng nhập được"
    assert as_command("gặp người thật") == "/hoitotruong"
    assert as_command("báo cáo tháng này đã duyệt") == "/baocao tháng này đã duyệt"
    # Questions that merely start with these words stay questions (and may reach the leaders' inbox).
    assert as_command("việc làm cho người già ở đâu") is None and not looks_private("việc làm cho người già ở đâu")
    assert as_command("duyệt hồ sơ ở đâu") is None and not looks_private("duyệt hồ sơ ở đâu")


async def test_a_message_to_a_member_falls_back_to_their_other_app(tdeps, clock):
    from bot import notify
    from bot.core import Choice

    _, _, [member] = await make_team(tdeps)
    member_id = tdeps.storage.db.execute("SELECT member_id FROM identities WHERE key = 'console:m0'").fetchone()[0]
    clock.advance(minutes=1)
    with tdeps.storage.transaction() as conn:  # a newer Zalo link whose app is down
        conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES ('zalo:z9', ?, 'z9', ?)",
                     (member_id, "2026-11-18T03:00:00+00:00"))
    got: list[str] = []

    async def broken(chat_id: str, replies: list[Reply]) -> None:
        raise ConnectionError("down")

    async def works(chat_id: str, replies: list[Reply]) -> None:
        got.extend(r.text for r in replies)

    tdeps.services.senders = {"zalo": broken, "console": works}
    assert await notify.tell(tdeps, member_id, "xin chào", (Choice("Trả lời", "hoi:reply:1"),))
    assert got == ["xin chào"]
    assert tdeps.storage.load_session("console:m0")["choices"] == [["Trả lời", "hoi:reply:1"]]
    tdeps.services.senders = {"zalo": broken}
    assert not await notify.tell(tdeps, member_id, "xin chào")
