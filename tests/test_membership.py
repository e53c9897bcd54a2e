"""Teams, invites, joining, member lists and removal, all through `respond`."""

from __future__ import annotations

from conftest import Chat
from teamkit import code_in, make_team

from bot import teams
from bot.safety import MASK, redact


async def test_admin_creates_team_and_leader_invites_member(tdeps):
    admin, leader, [member] = await make_team(tdeps)
    db = tdeps.storage.db
    assert [r["name"] for r in db["villages"].rows] == ["Xuân Thượng", "Xuân Hạ", "Đồng Tâm"]
    roles = {r["display_name"]: r["role"] for r in db["members"].rows}
    assert roles == {"Hoa": "leader", "Lan 0": "member"}
    identity = db["identities"].get("console:m0")
    assert identity["chat_id"] == "m0"
    assert db["audit"].count_where("table_name = 'teams' AND action = 'create'") == 1


async def test_taoto_needs_admin_and_three_parts(tdeps):
    stranger = Chat(tdeps, "x")
    assert "quản trị viên" in (await stranger.say("/taoto A; B; C"))[0].text
    admin = Chat(tdeps, "admin")
    assert "Cách tạo tổ" in (await admin.say("/taoto chỉ có tên"))[0].text
    assert tdeps.storage.db["teams"].count == 0


async def test_invite_codes_are_unambiguous(tdeps):
    admin, leader, _ = await make_team(tdeps, members=0)
    for _ in range(20):
        await leader.say("/moi")
        code = code_in(leader.text)
        assert len(code) == 6 and not set(code) & set("01OI")


async def test_an_all_digit_invite_code_is_never_handed_out(tdeps, monkeypatch):
    assert redact("234567").text == MASK  # a code typed on its own would be masked as an OTP
    admin, leader, _ = await make_team(tdeps, members=0)
    draws = iter("234567" "23456A")
    monkeypatch.setattr(teams.secrets, "choice", lambda alphabet: next(draws))
    await leader.say("/moi")
    monkeypatch.undo()
    code = code_in(leader.text)
    assert code == "23456A"
    assert "Chào mừng" in (await Chat(tdeps, "new", name="Tư").say(f"/thamgia {code}"))[0].text


async def test_join_errors_are_clear(tdeps, clock):
    admin, leader, [member] = await make_team(tdeps)
    newcomer = Chat(tdeps, "new", name="Tư")
    wrong = (await newcomer.say("/thamgia ZZZZZZ"))[0].text
    assert "không dùng được" in wrong
    assert "kèm mã" in (await newcomer.say("/thamgia"))[0].text
    await leader.say("/moi")
    code = code_in(leader.text)
    clock.advance(days=8)
    # Wrong, expired and used codes get one answer: a guesser never learns that a code existed.
    assert (await newcomer.say(f"/thamgia {code}"))[0].text == wrong.replace("ZZZZZZ", code)
    await leader.say("/moi")
    code = code_in(leader.text)
    await newcomer.say(f"/thamgia {code.lower()}")
    assert "Chào mừng" in newcomer.text
    other = Chat(tdeps, "other")
    assert (await other.say(f"/thamgia {code}"))[0].text == wrong.replace("ZZZZZZ", code)
    await leader.say("/moi")
    assert "đã là thành viên" in (await newcomer.say(f"/thamgia {code_in(leader.text)}"))[0].text


async def test_leader_join_message_explains_the_role(tdeps):
    admin = Chat(tdeps, "admin")
    await admin.say("/taoto Tổ A; Xã A; Thôn 1")
    await admin.say("/moi totruong")
    leader = Chat(tdeps, "lead", name="Hoa")
    replies = await leader.say(f"/thamgia {code_in(admin.text)}")
    assert "vai trò tổ trưởng" in replies[0].text and "/thanhvien" in replies[0].text


async def test_only_leaders_invite_and_only_admins_invite_leaders(tdeps):
    admin, leader, [member] = await make_team(tdeps)
    assert "tổ trưởng" in (await member.say("/moi"))[0].text
    assert "quản trị viên" in (await leader.say("/moi totruong"))[0].text
    assert "thành viên Tổ" not in (await Chat(tdeps, "x").say("/moi"))[0].text


async def test_admin_picks_the_team_when_there_are_several(tdeps):
    admin = Chat(tdeps, "admin")
    await admin.say("/taoto Tổ A; Xã A; Thôn 1")
    await admin.say("/taoto Tổ B; Xã B; Thôn 2")
    replies = await admin.say("/moi")
    assert "tổ nào" in replies[0].text
    await admin.say(kind="sticker")  # unexpected input: asked again, flow kept
    assert "tổ nào" in admin.text
    await admin.pick("Tổ B")
    code = code_in(admin.text)
    assert tdeps.storage.db["invites"].get(code)["team_id"] == 2


async def test_member_list_with_counts_and_removal(tdeps):
    admin, leader, members = await make_team(tdeps, members=2)
    await members[0].say("/ghi Nguyễn Văn An; Xuân Thượng; vneid2")
    await members[0].pick("Lưu")
    replies = await leader.say("/thanhvien")
    assert "Lan 0 (thành viên): 1 lượt" in replies[0].text
    assert "Lan 1 (thành viên): 0 lượt" in replies[0].text
    assert "dành cho tổ trưởng" in (await members[0].say("/thanhvien"))[0].text
    await leader.pick("Cho Lan 1 rời tổ")
    await leader.pick("Đồng ý")
    assert "đã rời tổ" in leader.text
    db = tdeps.storage.db
    assert db["members"].count_where("active = 0") == 1
    assert db["audit"].count_where("action = 'remove'") == 1
    assert "mã mời" in (await members[1].say("/ghi"))[0].text  # removed: refused, told what to do


async def test_removed_member_can_rejoin_with_a_new_code(tdeps):
    admin, leader, [member] = await make_team(tdeps)
    await leader.say("/thanhvien")
    await leader.pick("Cho Lan 0 rời tổ")
    await leader.pick("Đồng ý")
    await leader.say("/moi")
    await member.say(f"/thamgia {code_in(leader.text)}")
    assert "Chào mừng" in member.text
    assert teams.team_of(tdeps.storage, "console:m0") == 1


async def test_members_unanswered_questions_carry_their_team(settings, storage, small_kb):
    from bot.app import build_deps

    deps = build_deps(settings, storage, small_kb)
    _, _, [member] = await make_team(deps)
    await member.say("gia vang hom nay bao nhieu")
    await Chat(deps, "stranger").say("gia lua hom nay")
    rows = {r["question"]: r["team_id"] for r in storage.db["unanswered"].rows}
    assert rows == {"gia vang hom nay bao nhieu": 1, "gia lua hom nay": None}
