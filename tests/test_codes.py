"""H3 (/lienket bound to its issuer, cross-app only, unlink, audit), M3 (/thamgia guessing limits with
lockout and uniform answers, on an injected clock) and L5 (invites of a removed leader are void)."""

from __future__ import annotations

import re

from conftest import Chat
from teamkit import code_in, make_team

from bot.access import member_for
from bot.core import Deps, Reply


def link_code(replies: list[Reply]) -> str:
    match = re.search(r"/lienket ([A-Z]{6})\b", replies[0].text)
    assert match, replies[0].text
    return match.group(1)


async def leader_on_telegram(deps: Deps) -> Chat:
    """A leader who joined on Telegram (user 'lead' re-keyed as a Telegram identity)."""
    admin = Chat(deps, "admin", name="Quản trị")
    await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Hạ")
    await admin.say("/moi totruong")
    leader = Chat(deps, "500", channel="telegram", name="Hoa")
    await leader.say(f"/thamgia {code_in(admin.text)}")
    assert "tổ trưởng" in leader.text
    return leader


async def test_link_code_is_refused_on_the_same_app(tdeps):
    leader = await leader_on_telegram(tdeps)
    code = link_code(await leader.say("/lienket"))
    thief = Chat(tdeps, "666", channel="telegram", name="Kẻ lạ")
    replies = await thief.say(f"/lienket {code}")
    assert "ứng dụng khác nhau" in replies[0].text
    assert member_for(tdeps, "telegram:666") is None
    assert tdeps.storage.db["identities"].count_where("key = 'telegram:666'") == 0


async def test_link_code_dies_with_its_issuer_identity(tdeps):
    leader = await leader_on_telegram(tdeps)
    code = link_code(await leader.say("/lienket"))
    with tdeps.storage.transaction() as conn:  # the issuing identity was unlinked meanwhile
        conn.execute("DELETE FROM identities WHERE key = 'telegram:500'")
    replies = await Chat(tdeps, "z1", channel="zalo").say(f"/lienket {code}")
    assert "không đúng" in replies[0].text and member_for(tdeps, "zalo:z1") is None


async def test_link_is_audited_and_can_be_undone_from_either_side(tdeps, clock):
    leader = await leader_on_telegram(tdeps)
    zalo = Chat(tdeps, "z1", channel="zalo", name="Hoa")
    await zalo.say(f"/lienket {link_code(await leader.say('/lienket'))}")
    assert "Đã liên kết xong" in zalo.text
    db = tdeps.storage.db
    assert db["audit"].count_where("table_name = 'identities' AND action = 'link'") == 1
    # From the app that joined: every linked app goes; the joining app stays a leader.
    assert "Zalo" in (await leader.say("/huylienket"))[0].text
    assert member_for(tdeps, "zalo:z1") is None and member_for(tdeps, "telegram:500").is_leader
    assert db["audit"].count_where("table_name = 'identities' AND action = 'unlink'") == 1
    # From the linked app: only that app goes, never the one that joined.
    clock.advance(minutes=1)
    await zalo.say(f"/lienket {link_code(await leader.say('/lienket'))}")
    assert "gỡ liên kết" in (await zalo.say("/huylienket"))[0].text.lower()
    assert member_for(tdeps, "zalo:z1") is None and member_for(tdeps, "telegram:500").is_leader
    assert "chưa liên kết" in (await leader.say("/huylienket"))[0].text
    assert "chưa là thành viên" in (await Chat(tdeps, "nobody").say("/huylienket"))[0].text


async def test_invite_guessing_is_locked_per_identity_and_globally(tdeps, clock):
    _, leader, _ = await make_team(tdeps)
    await leader.say("/moi")
    real = code_in(leader.text)
    guesser = Chat(tdeps, "guesser", name="Đoán")
    answers = set()
    for i in range(5):
        answers.add((await guesser.say(f"/thamgia ZZZZ{i:02d}"))[0].text.replace(f"ZZZZ{i:02d}", "X"))
    assert len(answers) == 1  # one uniform answer
    # Locked: even the right code is refused now, so guessing further gains nothing.
    assert "sai mã mời nhiều lần" in (await guesser.say(f"/thamgia {real}"))[0].text
    clock.advance(minutes=29)
    assert "sai mã mời nhiều lần" in (await guesser.say(f"/thamgia {real}"))[0].text
    clock.advance(minutes=2)
    assert "Chào mừng" in (await guesser.say(f"/thamgia {real}"))[0].text

    # Many identities (a botnet) hit the global limit: 30 wrong codes in 10 minutes stop all guessing.
    await leader.say("/moi")
    real = code_in(leader.text)
    for n in range(8):
        for i in range(4):
            await Chat(tdeps, f"bot{n}").say(f"/thamgia QQQQ{i:02d}")
    assert "tạm dừng nhận mã" in (await Chat(tdeps, "bot99").say(f"/thamgia {real}"))[0].text
    clock.advance(minutes=11)
    assert "Chào mừng" in (await Chat(tdeps, "late").say(f"/thamgia {real}"))[0].text


async def test_brute_force_at_full_speed_never_hits_an_open_code(tdeps, clock):
    """2,000 guesses from one identity through `respond`: only 5 are ever checked against the database."""
    _, leader, _ = await make_team(tdeps)
    for _ in range(10):
        await leader.say("/moi")
    guesser = Chat(tdeps, "guesser")
    checked = 0
    for i in range(2000):
        text = (await guesser.say(f"/thamgia G{i:05d}"))[0].text
        checked += "không dùng được" in text
        clock.advance(seconds=0.01)
    assert checked == 5
    assert member_for(tdeps, "console:guesser") is None


async def test_invites_of_a_removed_leader_are_void(tdeps):
    admin, leader, _ = await make_team(tdeps)
    await leader.say("/moi")
    code = code_in(leader.text)
    lead_id = member_for(tdeps, "console:lead").id
    await admin.say("/moi")  # a code made before the removal by someone who stays
    kept = code_in(admin.text)
    with tdeps.storage.transaction() as conn:  # removed by hand (no second leader in this team)
        conn.execute("UPDATE members SET active = 0 WHERE id = ?", (lead_id,))
    replies = await Chat(tdeps, "newcomer").say(f"/thamgia {code}")
    assert "không dùng được" in replies[0].text
    assert "Chào mừng" in (await Chat(tdeps, "other").say(f"/thamgia {kept}"))[0].text
