"""/baocao and /sohodan: totals against hand-computed numbers, periods, and team scoping."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import reports
from bot.core import Deps
from knowledge.services import load_catalogue
from tests import fixtures_data as fx
from tests.conftest import Chat

TODAY = fx.TODAY


@pytest.fixture
def data(small_deps: Deps) -> fx.Data:
    small_deps.clock = fx.clock()
    return fx.build(small_deps.storage)


def report(deps: Deps, data: fx.Data, arg: str, team: str = "Tổ CNS xã Xuân Thượng") -> reports.Report:
    period = reports.parse_period(arg, TODAY)
    assert period is not None
    return reports.team_report(deps.storage.db, data.teams[team], period, load_catalogue(), TODAY)


def test_month_totals_match_hand_count(small_deps, data):
    r = report(small_deps, data, "thang")
    assert (r.records, r.households) == (5, 4)
    assert r.by_member == [("Lan", 3, 2), ("Hoa", 2, 2)]
    assert r.by_outcome == {"done": 2, "followup": 2, "unfinished": 1}
    assert dict(r.by_service) == {"Hỗ trợ kích hoạt VNeID mức 2": 2, "Mở tài khoản ngân hàng": 1,
                                  "Thanh toán bằng mã QR": 1, "Phòng chống lừa đảo": 1,
                                  "Cài đặt, làm quen điện thoại thông minh": 1, "Nộp hồ sơ trực tuyến": 1}
    skills = {name: (n, hh) for name, n, hh in r.by_skill}
    assert skills == {"Sử dụng dịch vụ công trực tuyến": (3, 3), "Mua sắm trực tuyến": (0, 0),
                      "Thanh toán trực tuyến": (2, 1), "Bảo vệ bản thân trên môi trường số": (1, 1),
                      "Sử dụng các nền tảng số khác": (1, 1)}
    assert r.by_village == [("Thôn 1", 3, 2, 50), ("Thôn 2", 2, 2, None)]
    assert r.followups_open == 2
    assert [(due, hh) for due, hh, _, _ in r.followups_due] == [("2026-11-15", "Nguyễn Văn An")]
    # The tables add up to the totals.
    assert sum(n for _, n, _ in r.by_member) == r.records == sum(n for _, n, _, _ in r.by_village)
    assert sum(r.by_outcome.values()) == r.records
    assert sum(n for _, n, _ in r.by_skill) == r.service_times == 7


@pytest.mark.parametrize("arg, records, households", [
    ("homnay", 1, 1),
    ("hôm nay", 1, 1),
    ("tuan", 3, 3),
    ("Tuần", 3, 3),
    ("thang", 5, 4),
    ("tatca", 6, 4),
    ("01/11/2026-10/11/2026", 2, 1),
    ("1/11/2026 - 10/11/2026", 2, 1),
    ("30/10/2026", 1, 1),
])
def test_periods(small_deps, data, arg, records, households):
    r = report(small_deps, data, arg)
    assert (r.records, r.households) == (records, households)


@pytest.mark.parametrize("arg", ["hom kia", "thang 13", "quy 5", "31/02/2026", "10/11/2026-01/11/2026", "abc",
                                 "'; DROP TABLE records"])
def test_bad_periods(arg):
    assert reports.parse_period(arg, TODAY) is None


def test_week_starts_on_monday():
    p = reports.parse_period("tuan", dt.date(2026, 11, 22))  # a Sunday
    assert (p.start, p.end) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))


def test_erased_household_shown_as_erased(small_deps, data):
    r = report(small_deps, data, "thang")
    due = reports.due_followups(small_deps.storage.db, dt.date(2026, 11, 30), team_id=data.teams[
        "Tổ CNS xã Xuân Thượng"])
    assert [hh for _, hh, _, _ in due] == ["Nguyễn Văn An", reports.ERASED]
    assert r.households == 4  # erased households still count


async def test_leader_sees_own_team_only(small_deps, data):
    chat = Chat(small_deps, user="hoa")
    text = (await chat.say("/baocao thang"))[0].text
    assert "Xuân Thượng" in text and "Lượt hỗ trợ: 5. Số hộ được hỗ trợ: 4." in text
    assert "Lan: 3 / 2" in text and "Thôn 1: 3 / 2, phủ 2/50 hộ (4%)" in text
    for secret in ("Yên Bình", "Bích", "Khánh", "Thôn Bắc", "Phạm Văn Dũng", "Ví điện tử", "sinh trắc"):
        assert secret not in text
    # Naming the other team changes nothing for a leader: it is not a period, so it is refused.
    text = (await chat.say("/baocao Yên Bình"))[0].text
    assert "Yên Bình" not in text.replace("\"Yên Bình\"", "") and "Lượt hỗ trợ" not in text
    # Nor can a leader press a crafted button for team B.
    text = (await chat.press(f"rp:baocao:{data.teams['Tổ CNS xã Yên Bình']}:thang"))[0].text
    assert "tổ trưởng" in text and "Lượt hỗ trợ" not in text


async def test_other_leader_sees_other_team(small_deps, data):
    text = (await Chat(small_deps, user="bao").say("/baocao homnay"))[0].text
    assert "Yên Bình" in text and "Lượt hỗ trợ: 1." in text and "Xuân Thượng" not in text


async def test_members_and_strangers_are_refused(small_deps, data):
    for user, channel in (("200", "telegram"), ("stranger", "console")):
        replies = await Chat(small_deps, user=user, channel=channel).say("/baocao")
        assert "dành cho tổ trưởng" in replies[0].text
        assert "Lượt" not in replies[0].text


async def test_admin_picks_a_team(small_deps, data):
    chat = Chat(small_deps, user="admin")  # console:admin is in ADMIN_IDS
    replies = await chat.say("/baocao tuan")
    assert [c.label for c in replies[0].choices] == ["Tổ CNS xã Xuân Thượng", "Tổ CNS xã Yên Bình"]
    text = (await chat.pick("Yên Bình"))[0].text
    assert "Yên Bình" in text and "Lượt hỗ trợ: 2." in text
    text = (await chat.say("/baocao xuan thuong tatca"))[0].text
    assert "Xuân Thượng, từ trước đến nay" in text and "Lượt hỗ trợ: 6." in text
    text = (await chat.say("/baocao khong co to nay"))[0].text
    assert "Không tìm thấy tổ" in text


async def test_bad_period_gets_help(small_deps, data):
    text = (await Chat(small_deps, user="hoa").say("/baocao hom kia"))[0].text
    assert "chưa hiểu khoảng thời gian" in text and "01/11/2026-15/11/2026" in text


async def test_empty_period(small_deps, data):
    text = (await Chat(small_deps, user="hoa").say("/baocao 01/01/2026"))[0].text
    assert "Lượt hỗ trợ: 0." in text and "Chưa có lượt hỗ trợ nào" in text


async def test_village_size(small_deps, data):
    chat = Chat(small_deps, user="hoa")
    assert "Thôn 1: 50" in (await chat.say("/sohodan"))[0].text
    assert "thôn Thôn 2 có 40 hộ" in (await chat.say("/sohodan thon 2 40"))[0].text
    assert "phủ 2/40 hộ (5%)" in (await chat.say("/baocao"))[0].text
    assert "từ 1 đến" in (await chat.say("/sohodan Thôn 2 0"))[0].text
    # A village the team does not have is not created by a typo (L6): the known ones are listed.
    unknown = (await chat.say("/sohodan Thôn Ma 999"))[0].text
    assert "không có thôn" in unknown and "Thôn 1" in unknown
    db = small_deps.storage.db
    assert db.execute("SELECT count(*) FROM villages WHERE name = 'Thôn Ma'").fetchone() == (0,)
    assert db["audit"].count == 1
    refused = await Chat(small_deps, user="200", channel="telegram").say("/sohodan Thôn 1 10")
    assert "dành cho tổ trưởng" in refused[0].text
    assert db.execute("SELECT households FROM villages WHERE name = 'Thôn 1'").fetchone() == (50,)


@pytest.mark.parametrize("text", [
    "/baocao " + "x" * 5000, "/baocao 😀😀", "/baocao '; DROP TABLE records; --", "/baocao 99/99/9999",
    "/sohodan " + "thôn " * 1000 + "12", "/sohodan 😀 5", "/sohodan Thôn 1 -5", "/sohodan Thôn 1 1e9",
    "/xuat ngay mai", "/bieudo 31/11/2026",
])
async def test_bad_input_gets_a_friendly_reply(small_deps, data, text):
    replies = await Chat(small_deps, user="hoa").say(text)
    assert replies and replies[0].text and replies[0].file is None and replies[0].image is None
    assert small_deps.storage.db["records"].count == 9  # nothing lost
    long_names = small_deps.storage.db.execute("SELECT max(length(name)) FROM villages").fetchone()[0]
    assert long_names <= 60
    assert small_deps.storage.db.execute("SELECT count(*) FROM villages WHERE name = '😀'").fetchone() == (0,)


async def test_admin_exports_a_chosen_team(small_deps, data):
    chat = Chat(small_deps, user="admin")
    await chat.say("/xuat thang")
    reply = (await chat.pick("Yên Bình"))[0]
    assert reply.file is not None and "2 lượt hỗ trợ, 1 hộ" in reply.text
    await chat.say("/bieudo")
    reply = (await chat.pick("Xuân Thượng"))[0]
    assert reply.image is not None and "5 lượt hỗ trợ" in reply.summary
