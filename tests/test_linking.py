"""/lienket: one member on two apps, through the core and end to end through the Zalo adapter."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from bot.access import member_for
from bot.app import compose
from bot.channels import zalo
from bot.core import Deps, Reply
from bot.runner import build_web_app
from bot.safety import redact
from handlers import linking
from tests.chat import Chat
from tests.fake_zalo import FakeZalo

ZALO_USER = "6ede9afa66b88fe6d6a9"


def add_member(deps: Deps, key: str, name: str = "Nguyễn Thị Lan", role: str = "member") -> int:
    """Teams are managed by another feature; here the rows are written directly."""
    db = deps.storage.db
    with deps.storage.transaction() as conn:
        team = conn.execute("INSERT INTO teams (name, commune, created_at) VALUES ('Tổ 1', 'Xã A', '2026-11-01')")
        member = conn.execute("INSERT INTO members (team_id, display_name, role, joined_at) VALUES (?, ?, ?, ?)",
                              (team.lastrowid, name, role, "2026-11-01"))
        conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                     (key, member.lastrowid, key.partition(":")[2], "2026-11-01"))
    assert db["members"].count >= 1
    return member.lastrowid


def code_in(replies: list[Reply]) -> str:
    match = re.search(r"/lienket ([A-Z]{6})\b", replies[0].text)
    assert match, replies[0].text
    return match.group(1)


async def test_code_links_a_second_app_to_the_same_member(small_deps):
    member_id = add_member(small_deps, "telegram:111", role="leader")
    tg = Chat(small_deps, user="111", channel="telegram")
    code = code_in(await tg.say("/lienket"))
    assert small_deps.storage.db["link_codes"].count == 1
    assert not redact(f"/lienket {code}").found  # a code is never mistaken for an OTP and masked

    notices = []

    async def telegram_send(chat_id, replies):
        notices.append((chat_id, replies[0].text))

    small_deps.services.senders = {"telegram": telegram_send}
    za = Chat(small_deps, user=ZALO_USER, channel="zalo")
    replies = await za.say(f"/lienket {code.lower()}")
    assert "Đã liên kết xong, Nguyễn Thị Lan" in replies[0].text
    tg_member, za_member = member_for(small_deps, "telegram:111"), member_for(small_deps, f"zalo:{ZALO_USER}")
    assert tg_member == za_member and za_member.id == member_id and za_member.is_leader
    assert notices and notices[0][0] == "111" and "Zalo" in notices[0][1]
    assert small_deps.storage.db["link_codes"].count == 0  # single use
    assert "không đúng" in (await za.say(f"/lienket {code}"))[0].text
    again = code_in(await tg.say("/lienket"))
    assert "từ trước rồi" in (await za.say(f"/lienket {again}"))[0].text


async def test_wrong_expired_and_own_codes(small_deps):
    add_member(small_deps, "telegram:111")
    tg = Chat(small_deps, user="111", channel="telegram")
    za = Chat(small_deps, user=ZALO_USER, channel="zalo")
    assert "không đúng" in (await za.say("/lienket ZZZZZZ"))[0].text
    code = code_in(await tg.say("/lienket"))
    assert "chính tài khoản này" in (await tg.say(f"/lienket {code}"))[0].text

    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    small_deps.clock = lambda: later
    assert "hết hạn" in (await za.say(f"/lienket {code}"))[0].text
    assert member_for(small_deps, f"zalo:{ZALO_USER}") is None
    assert small_deps.storage.db["link_codes"].count == 0


async def test_a_new_code_replaces_the_old_one(small_deps):
    add_member(small_deps, "telegram:111")
    tg = Chat(small_deps, user="111", channel="telegram")
    first = code_in(await tg.say("/lienket"))
    second = code_in(await tg.say("/lienket"))
    za = Chat(small_deps, user=ZALO_USER, channel="zalo")
    assert first != second
    assert "không đúng" in (await za.say(f"/lienket {first}"))[0].text
    assert "Đã liên kết" in (await za.say(f"/lienket {second}"))[0].text


async def test_guessing_is_stopped(small_deps):
    za = Chat(small_deps, user=ZALO_USER, channel="zalo")
    for _ in range(linking.MAX_TRIES):
        assert "không đúng" in (await za.say("/lienket ABCDEF"))[0].text
    assert "sai mã nhiều lần" in (await za.say("/lienket ABCDEF"))[0].text


async def test_non_member_gets_no_code(small_deps):
    za = Chat(small_deps, user=ZALO_USER, channel="zalo")
    replies = await za.say("/lienket")
    assert "chưa là thành viên" in replies[0].text and "/lienket <mã>" in replies[0].text
    assert small_deps.storage.db["link_codes"].count == 0


async def test_identity_of_someone_else_is_not_relinked(small_deps):
    add_member(small_deps, "telegram:111", name="Lan")
    other = add_member(small_deps, f"zalo:{ZALO_USER}", name="Hùng")
    code = code_in(await Chat(small_deps, user="111", channel="telegram").say("/lienket"))
    replies = await Chat(small_deps, user=ZALO_USER, channel="zalo").say(f"/lienket {code}")
    assert "thành viên khác" in replies[0].text
    assert member_for(small_deps, f"zalo:{ZALO_USER}").id == other


async def test_inactive_member_code_is_refused(small_deps):
    member_id = add_member(small_deps, "telegram:111")
    code = code_in(await Chat(small_deps, user="111", channel="telegram").say("/lienket"))
    with small_deps.storage.transaction() as conn:
        conn.execute("UPDATE members SET active = 0 WHERE id = ?", (member_id,))
    replies = await Chat(small_deps, user=ZALO_USER, channel="zalo").say(f"/lienket {code}")
    assert "không còn hoạt động" in replies[0].text


async def test_linking_end_to_end_through_zalo(small_deps):
    fake = await FakeZalo().start()
    try:
        member_id = add_member(small_deps, "telegram:111")
        code = code_in(await Chat(small_deps, user="111", channel="telegram").say("/lienket"))
        deps = compose(settings=replace(small_deps.settings, zalo_bot_token=fake.token, zalo_base_url=fake.base_url),
                    storage=small_deps.storage, kb=small_deps.kb)
        channel = await zalo.start(deps, build_web_app(deps))
        try:
            fake.push(f"/lienket {code}", user=ZALO_USER, name="Lan")
            [text] = await fake.wait_texts(1, ZALO_USER)
        finally:
            await channel.stop()
        assert "Đã liên kết xong" in text
        assert member_for(deps, f"zalo:{ZALO_USER}").id == member_id == member_for(deps, "telegram:111").id
        row = deps.storage.db.execute("SELECT chat_id FROM identities WHERE key = ?",
                                      [f"zalo:{ZALO_USER}"]).fetchone()
        assert row[0] == ZALO_USER  # proactive messages (digests) can reach the Zalo chat
    finally:
        await fake.close()
