"""Scoping in the chat for every role against every report, export, chart, inbox and record command:
a commune official of commune A gets nothing of commune B. Data: the demo (bot/demo.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from openpyxl import load_workbook

from bot import demo, teams, unitreport, units
from bot.assist import catalogue
from bot.core import Deps
from bot.reports import parse_period
from bot.scope import Scope
from knowledge.indicators import load_indicators
from tests import fixtures_data as fx
from tests.conftest import Chat

TODAY = fx.TODAY
B_SECRETS = ("Phố Hiến", "khu phố", "Tổ dân phố", "Hoàng Hoa Thám", "An Cầu")


@pytest.fixture
def world(small_deps: Deps) -> Deps:
    small_deps.clock = fx.clock()
    demo.seed(small_deps.storage, catalogue(), load_indicators(), TODAY)
    return small_deps


def ids(deps: Deps, name: str) -> tuple[int, list[int]]:
    commune = units.find_units(deps.storage.db, "commune", name)[0].id
    return commune, [t for t, in deps.storage.db.execute("SELECT id FROM teams WHERE commune_id = ?", [commune])]


def clean(text: str) -> bool:
    return not any(s in text for s in B_SECRETS)


async def test_commune_official_reports_only_their_commune(world):
    a, a_teams = ids(world, "Tiên Tiến")
    b, b_teams = ids(world, "Phố Hiến")
    chat = Chat(world, "xa1")
    text = (await chat.say("/baocao"))[0].text
    expected = unitreport.build(world.storage.db, Scope("commune", a), parse_period("thang", TODAY))
    assert "Xã Tiên Tiến" in text and "Theo tổ" in text and "Tổ CNS thôn Đông" in text and clean(text)
    assert f"Lượt hỗ trợ: {expected.totals.numbers.records}." in text
    assert "Chỉ tiêu:" in text and "chỉ tiêu 60,0% (năm 2026)" in text
    # Another commune by name, a team of another commune, crafted buttons: nothing.
    for said in ("/baocao xa Phố Hiến", "/baocao to Tổ CNS khu phố 1 thang", "/xuat xa Phố Hiến",
                 "/bieudo phuong Phố Hiến"):
        replies = await chat.say(said)
        assert replies[0].file is None and replies[0].image is None and "Không tìm thấy" in replies[0].text
        assert "Lượt hỗ trợ" not in replies[0].text
    for payload in (f"un:baocao:commune:{b}:thang", f"un:xuat:team:{b_teams[0]}:thang",
                    f"un:bieudo:province:{units.provinces(world.storage.db)[0].id}:thang",
                    f"rp:baocao:{b_teams[0]}:thang", f"rp:xuat:{b_teams[0]}:thang"):
        replies = await chat.press(payload)
        assert replies[0].file is None and "Lượt hỗ trợ" not in replies[0].text and clean(replies[0].text)
    # One of their own teams: the team report a leader sees.
    text = (await chat.say("/baocao to Tổ CNS thôn Đông tatca"))[0].text
    assert "Báo cáo Tổ CNS thôn Đông, từ trước đến nay" in text and clean(text)


async def test_commune_official_export_and_chart(world):
    a, a_teams = ids(world, "Tiên Tiến")
    chat = Chat(world, "xa1")
    reply = (await chat.say("/xuat thang"))[0]
    assert reply.file is not None and "theo mẫu văn bản hành chính" in reply.text
    wb = load_workbook(reply.file)
    assert wb["Báo cáo"]["A2"].value == "XÃ TIÊN TIẾN"
    cells = [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    assert clean(" ".join(cells))
    team_names = {n for n, in world.storage.db.execute("SELECT name FROM teams WHERE commune_id = ?", [a])}
    assert {r[2] for r in wb["Chi tiết"].iter_rows(min_row=2, values_only=True)} <= team_names
    reply = (await chat.say("/bieudo"))[0]
    expected = world.storage.db.execute(
        f"SELECT count(*) FROM records WHERE deleted = 0 AND helped_on >= '2026-11-01' AND team_id IN "
        f"({','.join(map(str, a_teams))})").fetchone()[0]
    assert reply.image is not None and f"{expected} lượt hỗ trợ" in reply.summary and clean(reply.summary)


async def test_commune_official_inbox_and_record_commands(world):
    _, a_teams = ids(world, "Tiên Tiến")
    _, b_teams = ids(world, "Phố Hiến")
    store = world.storage
    store.add_unanswered("console", "console:to1m1", "thôn Đông hỏi về thẻ bảo hiểm", "the bao hiem", a_teams[0])
    store.add_unanswered("console", "console:to4m1", "Phố Hiến hỏi về lệ phí", "le phi", b_teams[0])
    chat = Chat(world, "xa1")
    text = (await chat.say("/chuatraloi"))[0].text
    assert "thẻ bảo hiểm" in text and "lệ phí" not in text and clean(text)
    b_record = store.db.execute("SELECT id FROM records WHERE team_id = ? LIMIT 1", [b_teams[0]]).fetchone()[0]
    for said in (f"/sua {b_record}", f"/xoa {b_record}", "/xoadulieu Nguyễn Văn An", "/cuatoi", "/ghi"):
        replies = await chat.say(said)
        assert all(clean(r.text) for r in replies) and all(r.file is None for r in replies)
        assert "Đã xóa" not in replies[0].text and "Sửa phiếu" not in replies[0].text
    assert store.db.execute("SELECT deleted FROM records WHERE id = ?", [b_record]).fetchone() == (0,)


async def test_province_official_sees_every_commune_and_no_other_province(world):
    store = world.storage
    now = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)
    other, _ = units.create_province(store, "Tỉnh Khác", None, now, adopt_orphans=False)
    far = units.create_commune(store, other, "Xã Xa Xôi", None, now)
    teams.create_team(store, "Tổ CNS Xa Xôi", "Xã Xa Xôi", ["Thôn Xa"], None, now, commune_id=far)
    chat = Chat(world, "local")
    text = (await chat.say("/baocao tatca"))[0].text
    assert "Theo xã" in text and all(n in text for n in ("Xã Tiên Tiến", "Phường Phố Hiến", "Xã Hoàng Hoa Thám"))
    assert "Lượt hỗ trợ: 2000." in text and "Xa Xôi" not in text
    text = (await chat.say("/baocao xa Phố Hiến tatca"))[0].text
    assert "Báo cáo Phường Phố Hiến" in text and "Tổ CNS khu phố 1" in text
    assert "Không tìm thấy" in (await chat.say("/baocao xa Xa Xôi"))[0].text
    assert "Lượt" not in (await chat.press(f"un:baocao:commune:{far}:thang"))[0].text
    reply = (await chat.say("/xuat thang"))[0]
    assert reply.file is not None and load_workbook(reply.file)["Báo cáo"]["A2"].value.startswith("TỈNH HƯNG YÊN")
    # Admins see the other province too, by name.
    text = (await Chat(world, "admin").say("/baocao tinh Khác"))[0].text
    assert "Báo cáo Tỉnh Khác" in text and "Xã Xa Xôi" in text


async def test_leader_and_member_scopes_are_unchanged(world):
    leader = Chat(world, "to1")
    text = (await leader.say("/baocao thang"))[0].text
    assert "Báo cáo Tổ CNS thôn Đông" in text and "Theo thành viên" in text and clean(text)
    text = (await leader.say("/baocao xa Phố Hiến"))[0].text
    assert "Lượt hỗ trợ" not in text and clean(text.replace('"xa Phố Hiến"', ""))
    for said in ("/baocao", "/xuat", "/bieudo", "/chuatraloi", "/mauso Thôn Đông; 300; 800"):
        replies = await Chat(world, "to1m1").say(said)
        assert replies[0].file is None and replies[0].image is None and "Lượt hỗ trợ" not in replies[0].text


async def test_invitations_per_role(world):
    admin = Chat(world, "admin")
    await admin.say("/moi tinh Hưng Yên")
    code = admin.text.split("/thamgia ")[-1].strip()
    assert "Mã mời cán bộ tỉnh Tỉnh Hưng Yên" in admin.text
    official = Chat(world, "new-tinh", name="Anh Tùng")
    assert "vai trò cán bộ tỉnh" in (await official.say(f"/thamgia {code}"))[0].text
    await official.say("/moi xa Tiên Tiến")
    code = official.text.split("/thamgia ")[-1].strip()
    commune = Chat(world, "new-xa", name="Chị Mai")
    assert "vai trò cán bộ xã của Xã Tiên Tiến" in (await commune.say(f"/thamgia {code}"))[0].text
    assert "Xã Tiên Tiến" in (await commune.say("/baocao"))[0].text
    await commune.say("/moi totruong Tổ CNS thôn Tây")
    code = commune.text.split("/thamgia ")[-1].strip()
    leader = Chat(world, "new-to", name="Bác Hải")
    assert "tham gia tổ \"Tổ CNS thôn Tây\" với vai trò tổ trưởng" in (await leader.say(f"/thamgia {code}"))[0].text
    # Outside one's scope, or above one's role: refused.
    assert "Không tìm thấy tổ" in (await commune.say("/moi totruong Tổ CNS khu phố 1"))[0].text
    assert "quản trị" in (await commune.say("/moi tinh Hưng Yên"))[0].text
    assert "Không tìm thấy" in (await Chat(world, "xa2").say("/moi xa Tiên Tiến"))[0].text
    assert "/moi totruong <tên tổ>" in (await commune.say("/moi"))[0].text  # what an official can invite
    assert "/thamgia" not in (await Chat(world, "to1m1").say("/moi tinh Hưng Yên"))[0].text


async def test_activities_count_in_reports(world):
    a, _ = ids(world, "Tiên Tiến")
    before = unitreport.build(world.storage.db, Scope("commune", a), parse_period("homnay", TODAY)).totals.numbers
    member = Chat(world, "to1m1")
    text = (await member.say("/hoatdong tuyen truyen; hôm nay; Thôn Đông; 35; họp thôn về VNeID"))[0].text
    assert "Đã ghi hoạt động" in text and "Buổi tuyên truyền" in text and "35 người dự" in text
    after = unitreport.build(world.storage.db, Scope("commune", a), parse_period("homnay", TODAY)).totals.numbers
    assert after.sessions.get("tuyen_truyen", 0) == before.sessions.get("tuyen_truyen", 0) + 1
    assert after.attendees.get("tuyen_truyen", 0) == before.attendees.get("tuyen_truyen", 0) + 35
    for bad in ("/hoatdong", "/hoatdong hát; hôm nay; Thôn Đông; 5", "/hoatdong tuyen truyen; 31/02; Thôn Đông; 5",
                "/hoatdong tuyen truyen; hôm nay; Tổ dân phố 1; 5", "/hoatdong tuyen truyen; hôm nay; Thôn Đông; -3",
                "/hoatdong tuyen truyen; ngày mai; Thôn Đông; 99999"):
        replies = await member.say(bad)
        assert replies[0].text and "Đã ghi" not in replies[0].text
    assert world.storage.db.execute("SELECT count(*) FROM activities").fetchone() == (61,)
    assert "thành viên một tổ" in (await Chat(world, "xa1").say("/hoatdong khac; hôm nay; Thôn Đông; 5"))[0].text


async def test_denominators_by_scope(world):
    db = world.storage.db
    chat = Chat(world, "xa1")
    assert "Đã ghi: Thôn Đông có 320 hộ, 860 người" in (await chat.say("/mauso Thôn Đông; 320; 860; 01/10/2026"))[0].text
    assert db.execute("SELECT households, adults, figures_on FROM villages WHERE name = 'Thôn Đông'").fetchone() == (
        320, 860, "2026-10-01")
    assert "Đã ghi: Xã Tiên Tiến" in (await chat.say("/mauso xã Tiên Tiến; 3100; 8200"))[0].text
    assert "Không tìm thấy" in (await chat.say("/mauso Tổ dân phố 1; 10; 30"))[0].text
    assert "Chỉ cán bộ xã" in (await chat.say("/mauso phường Phố Hiến; 10; 30"))[0].text
    assert "số nguyên dương" in (await chat.say("/mauso Thôn Đông; nhiều; 5"))[0].text
    assert db.execute("SELECT households FROM units WHERE name = 'Phố Hiến'").fetchone() == (None,)
    a, _ = ids(world, "Tiên Tiến")
    report = unitreport.build(db, Scope("commune", a), parse_period("thang", TODAY))
    assert report.totals.numbers.population_adults == 8200  # the commune's own figure wins


async def test_admin_places_old_teams(small_deps):
    small_deps.clock = fx.clock()
    admin = Chat(small_deps, "admin")
    await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Thôn 1, Thôn 2")
    await admin.say("/taoto Tổ CNS Hạ; Xã Xuân Hạ; Thôn 3")
    text = (await admin.say("/donvi"))[0].text
    assert "(xã chưa có tỉnh)" in text and "Xã Xuân Thượng: Tổ CNS Xuân" in text
    assert "Đã xếp 2 xã" in (await admin.say("/donvi tinh Tỉnh Nghệ An"))[0].text
    assert "Đã xếp tổ \"Tổ CNS Hạ\" vào Xã Xuân Thượng" in (await admin.say("/donvi chuyen Tổ CNS Hạ; Xuân Thượng"))[0].text
    text = (await admin.say("/baocao tinh Nghệ An"))[0].text
    assert "Báo cáo Tỉnh Nghệ An" in text and "Xã Xuân Thượng: 0 / 0 / 0" in text and "Xã Xuân Hạ: 0 / 0 / 0" in text
    assert "quản trị" in (await Chat(small_deps, "someone").say("/donvi tinh X"))[0].text


async def test_people_and_achievements_on_a_record(world):
    from bot import assist

    db = world.storage.db
    member_id, team_id = db.execute("SELECT m.id, m.team_id FROM identities i JOIN members m ON m.id = i.member_id "
                                    "WHERE i.key = 'console:to1m1'").fetchone()
    village = db.execute("SELECT id FROM villages WHERE team_id = ? LIMIT 1", [team_id]).fetchone()[0]
    saved = assist.save_record(world.storage, assist.Draft("t-1", team_id, member_id, village, ["vneid2", "bank_account"],
                                                           head_name="Lê Thị Hoa", helped_on="2026-11-18"), world.clock())
    rid = saved.record_id
    chat = Chat(world, "to1m1")
    await chat.say(f"/ketqua {rid}")
    assert "mấy người được hỗ trợ" in chat.text and "Lê Thị Hoa" in chat.text
    await chat.pick("3 người")
    assert "Kích hoạt VNeID mức 2 thành công cho mấy người" in chat.text
    assert [c.label for c in chat.last[0].choices] == ["Chưa được", "1 người", "2 người", "3 người"]
    await chat.pick("2 người")
    assert "Mở tài khoản thanh toán" in chat.text
    await chat.pick("1 tài khoản")
    assert "Đã lưu kết quả của phiếu số" in chat.text
    assert db.execute("SELECT people, achieved FROM records WHERE id = ?", [rid]).fetchone() == (
        3, "payment_account:1,vneid2_active:2")
    assert dict(db.execute("SELECT achievement, count FROM record_achievements WHERE record_id = ?", [rid]).fetchall()) \
        == {"vneid2_active": 2, "payment_account": 1}
    assert db.execute("SELECT count(*) FROM audit WHERE table_name = 'records' AND row_id = ? AND action = 'update'",
                      [rid]).fetchone() == (3,)
    # Someone else's record, a count above the people helped, a crafted payload: refused, nothing changed.
    other = Chat(world, "to1m2")
    assert "chính mình ghi" in (await other.press(f"kq:{rid}:p:5"))[0].text
    assert "đã cũ" in (await chat.press(f"kq:{rid}:a:0:6"))[0].text
    assert "đã cũ" in (await chat.press(f"kq:{rid}:x:1"))[0].text
    assert "chính mình ghi" in (await Chat(world, "xa1").say(f"/ketqua {rid}"))[0].text
    assert db.execute("SELECT people, achieved FROM records WHERE id = ?", [rid]).fetchone() == (
        3, "payment_account:1,vneid2_active:2")


async def test_officials_get_help_for_their_role(world):
    text = (await Chat(world, "xa1").say("/trogiup"))[0].text
    assert "/baocao" in text and "/mauso" in text and "/donvi" not in text
    assert "/donvi" in (await Chat(world, "admin").say("/trogiup"))[0].text


def _visible(reply) -> str:
    """Everything a reply shows: text, choices, summary and, for a workbook, every cell."""
    parts = [reply.text, reply.summary or "", *(c.label for c in reply.choices)]
    if reply.file is not None and str(reply.file).endswith(".xlsx"):
        wb = load_workbook(reply.file)
        parts += [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    return "\n".join(parts)


@pytest.mark.parametrize("user", ["xa1", "to1", "to1m1"])
@pytest.mark.parametrize("command", ["/baocao", "/baocao tatca", "/xuat", "/bieudo", "/chuatraloi", "/gopy",
                                     "/cuatoi", "/thanhvien", "/sua {b}", "/xoa {b}", "/ketqua {b}",
                                     "/xoadulieu {head}", "/baocao xa Phố Hiến", "/xuat to Tổ CNS khu phố 1",
                                     "/mauso Tổ dân phố 1; 10; 30", "/hoatdong", "/duyet", "/viec"])
async def test_nobody_in_commune_a_sees_commune_b(world, user, command):
    _, b_teams = ids(world, "Phố Hiến")
    db = world.storage.db
    world.storage.add_unanswered("console", "console:to4m1", "Phố Hiến hỏi về lệ phí", "le phi", b_teams[0])
    b_record, head = db.execute("SELECT r.id, h.head_name FROM records r JOIN households h ON h.id = r.household_id "
                                "WHERE r.team_id = ? LIMIT 1", [b_teams[0]]).fetchone()
    typed = command.format(b=b_record, head=head)
    replies = await Chat(world, user).say(typed)
    assert replies
    echoed = [name for name in ("Tổ CNS khu phố 1", "Tổ dân phố 1", "Phố Hiến") if name in typed]
    for reply in replies:
        shown = _visible(reply)
        for name in echoed:  # the reply may quote what the person typed; that is not commune B's data
            shown = re.sub(rf'"[^"]*{re.escape(name)}[^"]*"', "", shown)
        assert clean(shown) and head not in shown and "lệ phí" not in shown, (user, command, shown[:300])
    assert db.execute("SELECT deleted FROM records WHERE id = ?", [b_record]).fetchone() == (0,)
    assert db.execute("SELECT erased FROM households h JOIN records r ON r.household_id = h.id WHERE r.id = ?",
                      [b_record]).fetchone() == (0,)


@pytest.mark.parametrize("said, start, end", [
    ("/baocao tháng trước", "2026-10-01", "2026-10-31"),
    ("/baocao quý 3", "2026-07-01", "2026-09-30"),
    ("/baocao 6 tháng đầu năm", "2026-01-01", "2026-06-30"),
    ("/baocao năm nay", "2026-01-01", "2026-11-18"),
    ("/baocao xa Tiên Tiến tháng trước", "2026-10-01", "2026-10-31"),
    ("/baocao xã tien tien 1/11-15/11", "2026-11-01", "2026-11-15"),
])
async def test_officials_say_periods_as_people_do(world, said, start, end):
    a, a_teams = ids(world, "Tiên Tiến")
    user = "local" if " xa " in said or " xã " in said else "xa1"
    text = (await Chat(world, user).say(said))[0].text
    expected = world.storage.db.execute(
        f"SELECT count(*) FROM records WHERE deleted = 0 AND helped_on BETWEEN ? AND ? AND team_id IN "
        f"({','.join(map(str, a_teams))})", [start, end]).fetchone()[0]
    assert "Xã Tiên Tiến" in text and f"Lượt hỗ trợ: {expected}." in text, text[:200]
