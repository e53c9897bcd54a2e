"""Admins are a role, not a sentinel: an admin named in ADMIN_IDS without a member row is an `Admin`. They do
what admins may (create teams, invite, read and correct any team, see the inbox) and nothing that needs a member
row (log, ask a leader, link accounts, log an activity, follow-ups), and the audit trail names nobody for them."""

from __future__ import annotations

import json

from bot import review
from bot.access import Admin, Member, Role, member_for
from bot.scope import Scope, for_member
from tests.chat import Chat
from tests.teamkit import make_team, receipt


async def log(member: Chat, line: str = "Nguyễn Văn An; Xuân Hạ; vneid2") -> int:
    await member.say(f"/ghi {line}")
    await member.pick("Lưu")
    return receipt(member.text)


async def test_the_access_layer_knows_an_admin_without_a_row(tdeps):
    admin, leader, _ = await make_team(tdeps)
    who = member_for(tdeps, "console:admin")
    assert who == Admin() and who.actor_id is None and who.id is None
    assert who.is_admin and who.is_leader and who.sees_reports and not who.is_official
    assert who.can_see_team(1) and who.can_see_team(999) and for_member(who) == Scope("all")
    hoa = member_for(tdeps, "console:lead")
    assert isinstance(hoa, Member) and hoa.role == Role.LEADER and hoa.actor_id == hoa.id
    assert not hoa.can_see_team(hoa.team_id + 1)
    assert member_for(tdeps, "console:nobody") is None


async def test_an_admin_without_a_row_does_what_admins_may(tdeps):
    admin, leader, [member] = await make_team(tdeps)  # /taoto and /moi totruong by the admin
    first, second = await log(member), await log(member, "Trần Thị Bình; Đồng Tâm; vneid2")
    assert "Tổ CNS Xuân" in (await admin.say("/baocao"))[0].text
    assert "Mã mời thành viên tổ \"Tổ CNS Xuân\"" in (await admin.say("/moi"))[0].text
    assert "Không còn câu hỏi nào đang chờ" in (await admin.say("/chuatraloi"))[0].text
    assert "Phiếu của Tổ CNS Xuân: 2 mới" in (await admin.say("/duyet"))[0].text
    # A correction of a member's record: asks a reason, and the audit row names no member (NULL), with the why.
    await admin.say(f"/xoa {second}")
    assert "lý do" in admin.text
    await admin.say("Ghi trùng với phiếu khác")
    await admin.pick("Xóa")
    assert f"Đã hủy phiếu số {second}" in admin.text
    row = tdeps.storage.db.execute("SELECT actor_member_id, why, action FROM audit WHERE table_name = 'records' "
                                   "AND row_id = ? ORDER BY id DESC LIMIT 1", [second]).fetchone()
    assert row == (None, "Ghi trùng với phiếu khác", "delete")
    await admin.say(f"/sua {first}")
    await admin.say("Ghi nhầm việc, là mở tài khoản ngân hàng")
    await admin.pick("Mở tài khoản ngân hàng")
    await admin.pick("Xong")
    await admin.pick("Đã xong")
    await admin.pick("Bỏ qua")
    await admin.pick("Lưu")
    assert f"Đã sửa phiếu số {first}" in admin.text
    trail = review.record_trail(tdeps.storage.db, first)
    assert trail[-1]["action"] == "update" and trail[-1]["why"] == "Ghi nhầm việc, là mở tài khoản ngân hàng"
    last = tdeps.storage.db.execute("SELECT actor_member_id, after FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    assert last[0] is None and "bank" in json.loads(last[1])["services"]


async def test_an_admin_without_a_row_does_nothing_that_needs_one(tdeps):
    admin, _, _ = await make_team(tdeps)
    before = tdeps.storage.db.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert "chưa thuộc tổ nào" in (await admin.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2"))[0].text
    assert "chưa thuộc tổ nào" in (await admin.say("/viec"))[0].text
    assert "chưa là thành viên tổ" in (await admin.say("/lienket"))[0].text
    assert "dành cho thành viên một tổ" in (await admin.say("/hoatdong hop; hôm nay; Xuân Hạ; 10"))[0].text
    assert "chưa thuộc tổ công nghệ số nào" in (await admin.say("/hoitotruong Làm sao để kích hoạt VNeID?"))[0].text
    assert "chưa thuộc tổ nào" in (await admin.say("/sohodan"))[0].text
    db = tdeps.storage.db
    assert db["records"].count == db["link_codes"].count == db["leader_questions"].count == 0
    assert tdeps.storage.db.execute("SELECT count(*) FROM audit").fetchone()[0] == before
