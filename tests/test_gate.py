"""One access gate (bot.access.Gate) for every leader's, official's and admin's command: a plain member and a
leader of another team get the gate's one refusal, through the core like any chat."""

from __future__ import annotations

import pytest

from bot import asks
from bot.access import ADMINS, LEADERS, READERS
from bot.scope import INBOX_READERS
from tests.chat import Chat
from tests.teamkit import code_in, make_team, receipt

# (what a plain member types, the gate that refuses it)
COMMANDS = [
    ("/moi", LEADERS), ("/thanhvien", LEADERS), ("/xoadulieu Nguyễn Văn An", LEADERS), ("/baocao", LEADERS),
    ("/xuat", LEADERS), ("/bieudo", LEADERS), ("/sohodan Xuân Hạ 120", LEADERS), ("/duyet", LEADERS),
    ("/taoto Tổ B; Xã B; Thôn B", ADMINS), ("/donvi", ADMINS), ("/mauso Xuân Hạ; 120; 300", READERS),
    ("/web", READERS), ("/chuatraloi", INBOX_READERS), ("/gopy", INBOX_READERS),
]


async def two_teams(tdeps):
    admin, hoa, [lan] = await make_team(tdeps)  # team 1: Hoa leads, Lan is a member
    await admin.say("/taoto Tổ CNS Đông; Xã Đông Sơn; Đông Hạ")
    await admin.say("/moi totruong")
    if "Tổ CNS Đông" not in admin.text:  # two teams now: the admin picks the team
        await admin.pick("Tổ CNS Đông")
    minh = Chat(tdeps, "minh", name="Minh")
    await minh.say(f"/thamgia {code_in(admin.text)}")
    assert "Tổ CNS Đông" in minh.text
    return admin, hoa, lan, minh


def test_the_refusals_are_plain_vietnamese():
    assert "dành cho tổ trưởng" in LEADERS.refusal and "quản trị viên" in ADMINS.refusal
    assert "cán bộ xã" in READERS.refusal and INBOX_READERS.refusal == LEADERS.refusal


@pytest.mark.parametrize(("said", "gate"), COMMANDS, ids=[c for c, _ in COMMANDS])
async def test_a_plain_member_gets_the_gates_refusal(tdeps, said, gate):
    _, _, lan, _ = await two_teams(tdeps)
    replies = await lan.say(said)
    assert [r.text for r in replies] == [gate.refusal] and not replies[0].choices


@pytest.mark.parametrize("said", ["/taoto Tổ B; Xã B; Thôn B", "/donvi"])
async def test_a_leader_is_no_admin(tdeps, said):
    _, hoa, _, _ = await two_teams(tdeps)
    assert [r.text for r in await hoa.say(said)] == [ADMINS.refusal]


async def test_a_leader_of_another_team_gets_the_refusal(tdeps):
    admin, hoa, lan, minh = await two_teams(tdeps)
    team = tdeps.storage.db.execute("SELECT team_id FROM members WHERE display_name = 'Hoa'").fetchone()[0]
    # A report button for team 1, pressed by team 2's leader.
    assert [r.text for r in await minh.press(f"rp:baocao:{team}:thang")] == [LEADERS.refusal]
    # A member's question to team 1's leaders: team 2's leader may neither answer nor file it.
    qid = asks.create(tdeps.storage, 3, team, "Làm sao kích hoạt VNeID mức 2?", tdeps.clock())
    for payload in (f"hoi:reply:{qid}", f"hoi:kb:{qid}"):
        assert [r.text for r in await minh.press(payload)] == [LEADERS.refusal]


async def moved_to_team_2(tdeps, leader: Chat) -> None:
    """Between two steps of a flow, the leader now leads team 2 (e.g. moved by an admin)."""
    with tdeps.storage.transaction() as conn:
        conn.execute("UPDATE members SET team_id = (SELECT id FROM teams WHERE name = 'Tổ CNS Đông') "
                     "WHERE display_name = ?", (leader.name,))


async def test_every_step_of_a_team_flow_passes_the_gate_again(tdeps):
    admin, hoa, lan, minh = await two_teams(tdeps)
    await lan.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await lan.pick("Lưu")
    receipt(lan.text)
    # /thanhvien: the confirm step of removing a member.
    await hoa.say("/thanhvien")
    await hoa.pick("Cho Lan 0 rời tổ")
    assert "Cho Lan 0 rời tổ?" in hoa.text
    await moved_to_team_2(tdeps, hoa)
    assert [r.text for r in await hoa.pick("Đồng ý")] == [LEADERS.refusal]
    assert tdeps.storage.db.execute("SELECT active FROM members WHERE display_name = 'Lan 0'").fetchone() == (1,)


@pytest.mark.parametrize(("start", "press"), [("/duyet", "Duyệt số"), ("/xoadulieu Nguyễn Văn An", "Nguyễn Văn An")])
async def test_review_and_erase_flows_refuse_a_leader_now_of_another_team(tdeps, start, press):
    admin, hoa, lan, minh = await two_teams(tdeps)
    await lan.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await lan.pick("Lưu")
    await hoa.say(start)
    await moved_to_team_2(tdeps, hoa)
    assert [r.text for r in await hoa.pick(press)] == [LEADERS.refusal]
    assert tdeps.storage.db.execute("SELECT review, deleted FROM records").fetchone() == ("new", 0)
    assert tdeps.storage.db.execute("SELECT head_name FROM households").fetchone() == ("Nguyễn Văn An",)
