"""H2: one guard in the core keeps private-only commands out of group chats, for every role."""

from __future__ import annotations

import pytest

import handlers
from bot.app import compose
from bot.core import GROUP_COMMANDS, PRIVATE_ONLY, Incoming, respond
from tests.teamkit import code_in, make_team

LEADER_COMMANDS = ["/baocao", "/baocao tatca", "/xuat", "/xuat tatca", "/bieudo", "/chuatraloi", "/gopy",
                   "/moi", "/moi totruong", "/thanhvien", "/sohodan Xuân Hạ 120", "/xoadulieu An", "/taoto X; Y; Z"]
MEMBER_COMMANDS = ["/thamgia ABC234", "/lienket", "/lienket ABCDEF", "/huylienket", "/ghi", "/ghi An; Xuân Hạ; qr",
                   "/cuatoi", "/sua 1", "/xoa 1"]


def test_every_command_is_private_unless_listed():
    """A new command is private by default: only the harmless ones are allowed in groups."""
    assert GROUP_COMMANDS == {"/start", "/help", "/trogiup", "/chude", "/huy"}
    assert set(handlers.COMMANDS) - GROUP_COMMANDS >= {c.split()[0] for c in LEADER_COMMANDS if c != "/huylienket"}


@pytest.mark.parametrize("who", ["admin", "lead", "m0"])
@pytest.mark.parametrize("text", LEADER_COMMANDS + MEMBER_COMMANDS)
async def test_private_commands_are_refused_in_groups(tdeps, who, text):
    await make_team(tdeps)
    before = {t: tdeps.storage.db[t].count for t in ("invites", "identities", "link_codes", "records", "villages")}
    replies = await respond(Incoming("console", who, "group-1", text=text, is_group=True), tdeps)
    assert [r.text for r in replies] == [PRIVATE_ONLY]
    assert not any(r.file or r.image or r.choices for r in replies)
    after = {t: tdeps.storage.db[t].count for t in before}
    assert after == before


async def test_buttons_and_open_flows_stay_private(tdeps):
    _, leader, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Thị Riêng Tư; Xuân Hạ; vneid2")
    payload = member.last[-1].choices[0].payload
    pressed = await respond(Incoming("console", "m0", "group-1", payload=payload, is_group=True), tdeps)
    assert pressed[0].text == PRIVATE_ONLY
    # Free text in the group is a question, never the answer to the private /ghi, and never shows the draft.
    replies = await respond(Incoming("console", "m0", "group-1", text="1", is_group=True), tdeps)
    assert "Riêng Tư" not in "\n".join(r.text for r in replies)
    assert tdeps.storage.db["records"].count == 0
    await member.pick("Lưu")  # the private draft is intact
    assert "Số phiếu" in member.text


async def test_join_in_a_group_never_makes_the_group_a_members_chat(tdeps):
    admin, _, _ = await make_team(tdeps)
    await admin.say("/moi totruong")
    code = code_in(admin.text)
    await respond(Incoming("telegram", "77", "-1001", text=f"/thamgia {code}", is_group=True), tdeps)
    assert tdeps.storage.db.execute("SELECT count(*) FROM identities WHERE chat_id = '-1001'").fetchone()[0] == 0


async def test_leader_commands_in_a_telegram_group_post_nothing_private(tfake, settings, storage, small_kb, clock):
    """Through the real adapter: the leader's report, export and invite never reach the group."""
    from tests.channelkit import telegram_deps, telegram_running
    from tests.test_e2e_telegram import team_on_telegram

    deps = telegram_deps(compose(settings=settings, storage=storage, kb=small_kb, clock=clock), tfake)
    async with telegram_running(deps):
        _, leader, _ = await team_on_telegram(tfake)
        group = -100777
        commands = ["/baocao", "/xuat tatca", "/bieudo", "/chuatraloi", "/moi", "/lienket", "/thamgia ABC234"]
        after = len(tfake.sent)
        for text in commands:
            await tfake.push_text(text, user_id=leader.user_id, chat_id=group, chat_type="supergroup")
        answers = await tfake.wait_sent(len(commands), after=after, chat_id=group)
        assert all(a.get("text") == PRIVATE_ONLY for a in answers), answers
        assert not tfake.methods("sendDocument") and not tfake.methods("sendPhoto")


@pytest.mark.parametrize("text", ["baocao", "bao cao tatca", "báo cáo", "xuat", "xuất excel", "bieudo", "moi",
                                  "mời", "ghi", "thamgia ABC234", "lienket", "chuatraloi", "thanhvien", "1", "Lưu"])
async def test_commands_typed_as_words_in_a_group_reveal_nothing(tdeps, text):
    """However a command is recognised (with or without '/'), a group never gets a report, file, code or list."""
    _, leader, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Thị Riêng Tư; Xuân Hạ; vneid2")  # a private draft is open
    await leader.say("/chuatraloi")
    for who in ("lead", "m0", "admin"):
        replies = await respond(Incoming("console", who, "group-1", text=text, is_group=True), tdeps)
        shown = "\n".join(r.text + " ".join(c.label for c in r.choices) for r in replies)
        assert not any(r.file or r.image for r in replies)
        assert "Mã mời" not in shown and "Lượt hỗ trợ" not in shown and "Riêng Tư" not in shown
        assert "/lienket " not in shown and "Số phiếu" not in shown
    assert tdeps.storage.db["records"].count == 0
    assert tdeps.storage.db["invites"].count_where("uses = 0") == 0
