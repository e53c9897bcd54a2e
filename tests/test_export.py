"""/xuat and /bieudo: the workbook and the chart, their contents, privacy and access."""

from __future__ import annotations

import datetime as dt
import logging
import struct
import warnings

import pytest
from openpyxl import load_workbook

from bot import reports
from bot.core import Deps
from bot.export import draw_chart, out_path
from knowledge.services import load_catalogue
from tests import fixtures_data as fx
from tests.chat import Chat


@pytest.fixture
def data(small_deps: Deps) -> fx.Data:
    small_deps.clock = fx.clock()
    return fx.build(small_deps.storage)


def all_cells(path) -> str:
    wb = load_workbook(path)
    return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
                     if c is not None)


async def test_export_month(small_deps, data):
    replies = await Chat(small_deps, user="hoa").say("/xuat thang")
    reply = replies[0]
    assert reply.file is not None and reply.file.suffix == ".xlsx"
    assert reply.file.parent == small_deps.settings.export_dir
    assert "5 lượt hỗ trợ, 4 hộ" in reply.text
    assert "Lượt hỗ trợ: 5." in reply.summary  # for channels that cannot send files
    wb = load_workbook(reply.file)
    assert wb.sheetnames == ["Chi tiết", "Tổng hợp"]
    detail = list(wb["Chi tiết"].iter_rows(values_only=True))
    assert detail[0][:7] == ("Số phiếu", "Ngày", "Thành viên", "Hộ dân", "Thôn", "Dịch vụ", "Kết quả")
    rows = detail[1:]
    assert len(rows) == 5  # a1..a5; the deleted a6, October's a7 and team B are not there
    assert [r[0] for r in rows] == [data.records[k] for k in ("a1", "a2", "a3", "a4", "a5")]
    assert rows[0][1:6] == (dt.datetime(2026, 11, 2), "Lan", "Nguyễn Văn An", "Thôn 1",
                            "Hỗ trợ kích hoạt VNeID mức 2, Mở tài khoản ngân hàng")
    assert wb["Chi tiết"]["B2"].number_format == "DD/MM/YYYY"  # shown as 02/11/2026
    assert rows[1][6:8] == ("Hẹn lại", dt.datetime(2026, 11, 15))
    assert rows[0][7] is None
    assert rows[4][3] == reports.ERASED
    assert wb["Chi tiết"].column_dimensions["F"].width >= 40
    summary = list(wb["Tổng hợp"].iter_rows(values_only=True))
    assert ("Lượt hỗ trợ", 5, None, None, None) in summary or ("Lượt hỗ trợ", 5) in [r[:2] for r in summary]
    assert ("Thôn 1", 3, 2, 50, 4.0) in [r[:5] for r in summary]
    assert ("Lan", 3, 2) in [r[:3] for r in summary]
    text = all_cells(reply.file)
    # No ID-card number or full phone number anywhere, even though a note had both.
    assert "001203004567" not in text and "0912345678" not in text
    assert "[đã ẩn]" in text
    for other in ("Yên Bình", "Phạm Văn Dũng", "Bích"):
        assert other not in text


async def test_export_is_refused_to_members(small_deps, data):
    replies = await Chat(small_deps, user="200", channel="telegram").say("/xuat thang")
    assert replies[0].file is None and "dành cho tổ trưởng" in replies[0].text
    assert not small_deps.settings.export_dir.exists() or not any(small_deps.settings.export_dir.iterdir())


async def test_export_everything_and_empty(small_deps, data):
    reply = (await Chat(small_deps, user="hoa").say("/xuat tatca"))[0]
    assert len(list(load_workbook(reply.file)["Chi tiết"].iter_rows())) == 1 + 6
    reply = (await Chat(small_deps, user="hoa").say("/xuat 01/01/2025-31/01/2025"))[0]
    assert len(list(load_workbook(reply.file)["Chi tiết"].iter_rows())) == 1


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


@pytest.fixture
def glyph_problems(caplog):
    """Missing-glyph complaints from matplotlib, whether it warns or logs them."""
    caplog.set_level(logging.WARNING, logger="matplotlib")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield lambda: [str(w.message) for w in caught if "missing" in str(w.message).lower()] + [
            r.getMessage() for r in caplog.records if "missing" in r.getMessage().lower()]


async def test_chart_is_a_png_with_vietnamese_text(small_deps, data, glyph_problems):
    reply = (await Chat(small_deps, user="hoa").say("/bieudo thang"))[0]
    assert reply.image is not None and reply.image.suffix == ".png"
    assert png_size(reply.image) == (1000, 500)
    assert "Xuân Thượng" in reply.summary and "5 lượt hỗ trợ" in reply.summary
    assert glyph_problems() == []


def test_glyph_check_can_fail(small_deps, data, glyph_problems, tmp_path):
    """The check above is real: a character DejaVu Sans lacks is reported."""
    db = small_deps.storage.db
    with db.conn:
        db.execute("UPDATE teams SET name = 'Tổ 漢字' WHERE id = ?", [data.teams["Tổ CNS xã Xuân Thượng"]])
    period = reports.parse_period("thang", fx.TODAY)
    draw_chart(db, data.teams["Tổ CNS xã Xuân Thượng"], period, load_catalogue(), tmp_path / "c.png")
    assert glyph_problems()


def test_chart_counts_and_weekly_buckets(small_deps, data, tmp_path):
    db, team = small_deps.storage.db, data.teams["Tổ CNS xã Xuân Thượng"]
    cat = load_catalogue()
    month = reports.parse_period("thang", fx.TODAY)
    # a1 (2 skills) + a2 + a3 + a4 (2 skills) + a5 = 7 record-skill pairs.
    assert draw_chart(db, team, month, cat, tmp_path / "m.png") == 7
    from bot.export import chart_series

    buckets, _, weekly = chart_series(db, team, month, cat)
    assert not weekly and len(buckets) == 18
    everything = reports.parse_period("tatca", fx.TODAY)
    buckets, series, weekly = chart_series(db, team, everything, cat)
    assert not weekly and buckets[0].isoformat() == "2026-10-30"  # "tatca" starts at the first record
    assert sum(map(sum, series.values())) == 8
    year = reports.parse_period("01/01/2026-18/11/2026", fx.TODAY)
    buckets, series, weekly = chart_series(db, team, year, cat)
    assert weekly and buckets[0].isoformat() == "2025-12-29" and all(b.weekday() == 0 for b in buckets)
    assert sum(map(sum, series.values())) == 8
    path = out_path(tmp_path, "Tổ CNS xã Xuân Thượng", year, ".png")
    assert path.name.startswith("baocao_to-cns-xa-xuan-thuong_20260101-20261118_")
    draw_chart(db, team, year, cat, path)
    assert png_size(path) == (1000, 500)


def test_old_exports_are_removed(tmp_path):
    import os
    import time

    old, new, other = tmp_path / "baocao_old.xlsx", tmp_path / "baocao_new.xlsx", tmp_path / "keep.txt"
    for f in (old, new, other):
        f.write_text("x")
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))
    os.utime(other, (week_ago, week_ago))
    period = reports.parse_period("thang", fx.TODAY)
    out_path(tmp_path, "Tổ", period, ".xlsx")
    assert not old.exists() and new.exists() and other.exists()


def test_long_service_list_still_adds_up(small_deps, data):
    db = small_deps.storage.db
    team = data.teams["Tổ CNS xã Xuân Thượng"]
    codes = [s.code for s in load_catalogue().services][:12]
    fx.record(small_deps.storage, data, "many", data.members["Lan"], data.households["Nguyễn Văn An"],
              "2026-11-18", codes)
    r = reports.team_report(db, team, reports.parse_period("homnay", fx.TODAY), load_catalogue(), fx.TODAY)
    text = reports.render(r, fx.TODAY)
    section = text.split("Theo dịch vụ:\n")[1].split("\n\n")[0].splitlines()
    assert len(section) == 9 and section[-1] == "- 4 dịch vụ khác: 4"  # 12 services, a5 shares one
    assert sum(int(line.rsplit(": ", 1)[1]) for line in section) == r.service_times == 13
