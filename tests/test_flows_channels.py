"""Issue 13 through the real adapters: Telegram menus per chat scope and a question after /thanhvien;
Zalo picks by fixed numbers, several numbers at once, no re-sent list, and a cancel that asks once more."""

from __future__ import annotations

import pytest

from bot.app import compose
from bot.core import Deps
from tests.channelkit import buttons, running, telegram_deps, telegram_running, zalo_deps
from tests.teamkit import Clock, receipt
from tests.test_e2e_telegram import LEADER, MEMBER, team_on_telegram
from tests.test_e2e_zalo import team_on_zalo


@pytest.fixture
def base(settings, storage, small_kb) -> Deps:
    return compose(settings=settings, storage=storage, kb=small_kb, clock=Clock())


def names(commands: list[dict[str, str]]) -> set[str]:
    return {c["command"] for c in commands}


async def test_telegram_menus_follow_the_role_of_each_chat(base, tfake):
    deps = telegram_deps(base, tfake)
    async with telegram_running(deps):
        _, leader, member = await team_on_telegram(tfake)
        default = names(tfake.commands)
        assert {"ghi", "cuatoi", "trogiup"} <= default and not default & {"baocao", "thanhvien", "taoto"}
        lead = names(tfake.scoped_commands[f"chat:{LEADER}"])
        assert {"ghi", "baocao", "thanhvien", "chuatraloi"} <= lead and "taoto" not in lead
        assert "taoto" in names(tfake.scoped_commands["chat:1"])  # the admin named in ADMIN_IDS
        assert f"chat:{MEMBER}" not in tfake.scoped_commands
        calls = len(tfake.methods("setMyCommands"))
        await leader.say("/cuatoi")
        assert len(tfake.methods("setMyCommands")) == calls  # set once per chat, not on every message

        # The leader who types a question in the member list gets the answer.
        await leader.say("/thanhvien")
        assert "Cho Lan rời tổ" in [b["text"] for b in buttons(leader.last[-1])]
        await leader.say("kich hoat vneid ko dc")
        assert leader.text.startswith("📌 Kích hoạt tài khoản VNeID")
        assert [b["text"] for b in buttons(leader.last[-1])][:2] == ["👍 Có", "👎 Chưa"]

        # A member who asks mid-/ghi gets the answer and a button back to the same step.
        await member.say("/ghi")
        await member.press("Xuân Hạ")
        await member.say("lam sao kich hoat vneid?")
        assert "Kích hoạt tài khoản VNeID" in member.text
        await member.press("Tiếp tục ghi")
        assert "tên chủ hộ" in member.text


async def test_zalo_numbers_stay_put_and_picks_are_short(base, zfake):
    deps = zalo_deps(base, zfake)
    async with running(deps):
        _, member = await team_on_zalo(deps, zfake)
        await member.say("kich hoat vneid ko dc")
        assert "\n1. 👍 Có\n2. 👎 Chưa\n" in member.text
        await member.say("quen mat khau vneid")
        assert "\n1. 👍 Có\n2. 👎 Chưa\n" in member.text
        await member.say("👍")
        assert "Rất vui" in member.text

        await member.say("ghi")
        await member.pick("Xuân Hạ")
        await member.say("Nguyen Van An")
        await member.say("ko co")
        full = member.text
        assert "Cài đặt VNeID" in full and "Phòng chống lừa đảo" in full
        await member.say(f"{member.number_of('Cài đặt VNeID')} {member.number_of('Mở tài khoản ngân hàng')}")
        short = member.text
        assert "Đã chọn: Cài đặt VNeID, Mở tài khoản ngân hàng" in short
        assert "Phòng chống lừa đảo" not in short and len(short) < len(full) // 2  # the list is not re-sent
        await member.pick("Xong")
        await member.pick("Đã xong")
        await member.pick("Bỏ qua")
        await member.pick("Hủy")
        assert "Bỏ phiếu này, không lưu?" in member.text  # asked once more, nothing lost yet
        await member.pick("Không, làm tiếp")
        await member.pick("Lưu")
        number = receipt(member.text)
        assert deps.storage.db["records"].get(number)["services"] == "vneid_install,bank_account"


async def test_console_numbers_feedback_first_and_shortens_a_repeated_list(base):
    import io

    from bot.channels import console
    from bot.core import Choice, Reply

    out = io.StringIO()
    await console.chat(base, stdin=io.StringIO("kich hoat vneid ko dc\n1\nquen mat khau vneid\n2\n"), stdout=out)
    text = out.getvalue()
    assert text.count("  1. 👍 Có\n  2. 👎 Chưa") == 2
    assert "Rất vui" in text and "góp ý" in text and base.storage.db["feedback"].count == 2
    choices = tuple(Choice(("✅ " if i == 3 else "") + f"Việc {i}", f"s{i}") for i in range(1, 18)) + (
        Choice("✔️ Xong", "done"),)
    short = console.render(Reply("Đã chọn: Việc 3", choices, repeated=True))
    assert "  3. ✅ Việc 3" in short and "  18. ✔️ Xong" in short and "Việc 7" not in short
    assert "Việc 7" in console.render(Reply("Bạn đã hỗ trợ việc gì?", choices))
