"""M1 formula injection, M2 control characters, L4 team names as paths, H5 bounded periods and charts."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from conftest import Chat
from teamkit import code_in, make_team

from bot import reports
from bot.export import MAX_BUCKETS, cell_text, chart_series
from knowledge.services import load_catalogue

EVIL = ['=HYPERLINK("http://evil.example","Xem")', "=cmd|' /C calc'!A0", "=1+1 Hoa", "+3+3 Dung", "@SUM(A1) Ba",
        "-2+5 Tư", "\tTab Lan", "\rCR Mai"]


async def save(member: Chat, name: str, note: str | None = None) -> None:
    await member.say(f"/ghi {name}; Xuân Hạ; vneid2")
    if "Có phải hộ này" in member.text:
        await member.pick("hộ mới")
    if note is not None:
        await member.pick("Sửa")
        await member.pick("Xong")
        await member.pick("Đã xong")
        await member.say(note)
    await member.pick("Lưu")
    assert "Số phiếu" in member.text, member.text


def test_cell_text():
    assert cell_text("=1+1") == "'=1+1" and cell_text(" =1") == "' =1" and cell_text("-5") == "'-5"
    assert cell_text("Trần\x07Văn\x00Bình") == "TrầnVănBình" and cell_text(5) == 5


async def test_export_has_no_formulas_and_survives_control_characters(tdeps):
    _, leader, [member] = await make_team(tdeps)
    await leader.say("/moi")
    evil = Chat(tdeps, "evil", name='=HYPERLINK("http://evil.example","Lan")')
    await evil.say(f"/thamgia {code_in(leader.text)}")
    for i, name in enumerate(EVIL):
        await save(evil if i % 2 else member, f"{name} {'ABCDEFGH'[i]}nh")
    await save(member, "Trần\x07Văn\x1bBình", note='=HYPERLINK("http://evil.example","ghi chú")')
    with tdeps.storage.transaction() as conn:  # rows written by an older version, control characters kept
        conn.execute("UPDATE households SET head_name = ? WHERE id = 1", ("Lê\x00Thị\x08Cúc",))
    replies = await leader.say("/xuat tatca")
    path = next(r.file for r in replies if r.file)
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [str(c.value) for c in cells]
    assert any("HYPERLINK" in t and t.startswith("'") for t in texts)
    assert any("LêThịCúc" in t for t in texts)
    assert not any(ch in t for t in texts for ch in "\x00\x07\x08\x1b")


async def test_team_names_never_become_paths(tdeps):
    admin = Chat(tdeps, "admin")
    await admin.say("/taoto X/../../../../../x; Xã; Thôn A")
    await admin.say("/moi totruong")
    leader = Chat(tdeps, "lead")
    await leader.say(f"/thamgia {code_in(admin.text)}")
    for command in ("/xuat", "/bieudo"):
        replies = await leader.say(command)
        path = next(r.file or r.image for r in replies if r.file or r.image)
        assert path.resolve().parent == Path(tdeps.settings.export_dir).resolve()


async def test_absurd_periods_are_refused_with_an_example(tdeps):
    _, leader, _ = await make_team(tdeps)
    for arg in ("01/01/0001-31/12/9999", "01/01/1900-31/12/2100", "01/01/2000-31/12/2030", "01/01/2010-31/12/2026"):
        for command in ("/bieudo", "/baocao", "/xuat"):
            replies = await leader.say(f"{command} {arg}")
            assert len(replies) == 1 and not replies[0].image and not replies[0].file
            assert "ví dụ 01/01/2026-18/11/2026" in replies[0].text, replies[0].text
    assert reports.parse_period("01/01/2022-31/12/2026", tdeps.clock().date()) is not None


async def test_every_chart_has_a_bounded_number_of_bars(tdeps):
    _, leader, [member] = await make_team(tdeps)
    await save(member, "Nguyễn Văn An")
    with tdeps.storage.transaction() as conn:  # a record from a wrong clock, long ago
        conn.execute("UPDATE records SET helped_on = '2000-01-03'")
    today = tdeps.clock().date()
    cat = load_catalogue()
    for arg in ("tatca", "01/01/2022-31/12/2026", "thang"):
        period = reports.parse_period(arg, today)
        buckets, series, _ = chart_series(tdeps.storage.db, 1, period, cat)
        assert 1 <= len(buckets) <= MAX_BUCKETS
    assert any(sum(v) for v in chart_series(tdeps.storage.db, 1, reports.parse_period("tatca", today), cat)[1].values())
    assert any(r.image for r in await leader.say("/bieudo tatca"))


async def test_erasing_a_household_kills_old_exports_and_links(tdeps):
    """L3: after /xoadulieu an old download link no longer serves the name, and the database files
    (main and WAL) no longer hold it."""
    import dataclasses

    import aiohttp
    from aiohttp.test_utils import TestServer

    from bot import downloads
    from bot.runner import build_web_app

    deps = dataclasses.replace(tdeps, settings=dataclasses.replace(tdeps.settings,
                                                                   public_base_url="http://127.0.0.1"))
    _, leader, [member] = await make_team(deps)
    await save(member, "Phạm Thị Bímật")
    path = next(r.file for r in await leader.say("/xuat tatca") if r.file)
    link = downloads.link_for(deps, path)
    server = TestServer(build_web_app(deps), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/files/" + link.rsplit("/", 1)[1]))
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as resp:
                assert resp.status == 200
            await leader.say("/xoadulieu Phạm Thị Bímật")
            await leader.pick("Bímật")
            await leader.pick("Xóa thông tin")
            assert "Đã xóa thông tin cá nhân" in leader.text
            async with session.get(url) as resp:
                assert resp.status == 404
    finally:
        await server.close()
    assert not path.exists()
    db = deps.storage.db
    for table in db.table_names():
        for row in db[table].rows:
            assert "Bímật" not in str(row), (table, row)
    db_path = Path(deps.storage.path)
    for p in db_path.parent.glob(db_path.name + "*"):
        assert "Bímật".encode() not in p.read_bytes(), p.name


async def test_a_forged_button_with_an_absurd_period_is_refused(tdeps):
    """The bound holds at the one place reports run, not only in the parser (buttons carry periods too)."""
    import datetime as dt

    from bot.reports import Period
    from handlers import reports as report_handlers

    await make_team(tdeps)
    absurd = Period(dt.date(1, 1, 1), dt.date(9999, 12, 31), "01/01/0001 - 31/12/9999", "x")
    replies = await report_handlers.run("bieudo", tdeps, 1, absurd)
    assert len(replies) == 1 and not replies[0].image and "ví dụ" in replies[0].text
