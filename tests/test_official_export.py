"""The commune's and province's Excel in the administrative layout: cells checked with openpyxl,
and the workbook converted to PDF by headless LibreOffice (the CI installs it; see .ci/run)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot import demo, unitreport, units
from bot.assist import catalogue
from bot.official import MOTTO, MOTTO_2, SIGNERS, TITLE, write_official
from bot.reports import parse_period
from bot.scope import Scope
from bot.storage import Storage
from knowledge.indicators import load_indicators

TODAY = dt.date(2026, 11, 18)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Storage:
    store = Storage(tmp_path_factory.mktemp("official") / "demo.db")
    demo.seed(store, catalogue(), load_indicators(), TODAY)
    yield store
    store.close()


def find(ws, text: str) -> tuple[int, int]:
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == text:
                return cell.row, cell.column
    raise AssertionError(f"{text!r} not in the sheet")


def workbook(store: Storage, scope: Scope, tmp_path: Path, period: str = "thang") -> tuple[Path, unitreport.UnitReport]:
    ind = load_indicators()
    report = unitreport.build(store.db, scope, parse_period(period, TODAY), ind)
    path = tmp_path / f"{scope.level}.xlsx"
    write_official(store.db, report, catalogue(), ind, TODAY, path)
    return path, report


def test_province_workbook_cell_by_cell(demo_db, tmp_path):
    province = units.provinces(demo_db.db)[0]
    path, report = workbook(demo_db, Scope("province", province.id), tmp_path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Báo cáo", "Chi tiết"]
    ws = wb["Báo cáo"]
    # Header: issuing unit left, national motto right, place and date, title and period.
    assert ws["A1"].value == "ỦY BAN NHÂN DÂN" and ws["A2"].value == "TỈNH HƯNG YÊN (DỮ LIỆU MẪU)"
    assert ws["E1"].value == MOTTO == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and ws["E1"].font.bold
    assert ws["E2"].value == MOTTO_2 == "Độc lập - Tự do - Hạnh phúc"
    assert ws["E4"].value == "Hưng Yên, ngày 18 tháng 11 năm 2026" and ws["E4"].font.italic
    assert ws["A6"].value == TITLE and ws["A6"].font.bold
    assert ws["A7"].value == "Kỳ báo cáo: tháng 11/2026 (từ ngày 01/11/2026 đến ngày 18/11/2026)"
    assert {"A1:C1", "E1:J1", "A6:J6"} <= {str(r) for r in ws.merged_cells.ranges}
    assert ws["A6"].font.name == "Times New Roman"
    # Numbered tables.
    for title in ("Biểu 1. Kết quả thực hiện các chỉ tiêu", "Biểu 2. Kết quả theo xã",
                  "Biểu 3. Hoạt động tuyên truyền, \"Bình dân học vụ số\""):
        find(ws, title)
    # Biểu 2: one row per commune, then a total row equal to the sum of the rows and of the report.
    head, _ = find(ws, "Biểu 2. Kết quả theo xã")
    first = head + 2
    names = [ws.cell(first + i, 2).value for i in range(3)]
    assert names == [r.name for r in report.units] and [ws.cell(first + i, 1).value for i in range(3)] == [1, 2, 3]
    total_row = first + 3
    assert ws.cell(total_row, 2).value == "Tổng cộng" and ws.cell(total_row, 2).font.bold
    t = report.totals.numbers
    expected = [t.records, t.households, t.people, t.achieved.get("vneid2_active", 0),
                t.achieved.get("payment_account", 0), t.achieved.get("dvc_submitted", 0),
                sum(t.sessions.values()), sum(t.attendees.values())]
    for col, value in zip(range(3, 11), expected, strict=True):
        assert ws.cell(total_row, col).value == value == sum(ws.cell(first + i, col).value for i in range(3))
    stored = demo_db.db.execute("SELECT count(*) FROM records WHERE deleted = 0 AND helped_on "
                                "BETWEEN '2026-11-01' AND '2026-11-18'").fetchone()[0]
    assert ws.cell(total_row, 3).value == stored
    # Biểu 1: value, target and % achieved.
    row, _ = find(ws, "Tỷ lệ người từ đủ 18 tuổi trở lên được hỗ trợ kích hoạt tài khoản định danh điện tử mức 2")
    assert ws.cell(row, 6).value == "%" and ws.cell(row, 8).value == 60
    assert ws.cell(row, 9).value == pytest.approx(100 * ws.cell(row, 7).value / 60, abs=0.2)
    # Signature block, under the tables.
    sign_row, sign_col = find(ws, SIGNERS[0])
    assert (sign_row, sign_col) == find(ws, SIGNERS[1])[:1] + (1,) and find(ws, SIGNERS[1])[1] == 6
    assert SIGNERS == ("NGƯỜI LẬP BIỂU", "LÃNH ĐẠO ĐƠN VỊ") and sign_row > total_row
    assert ws.cell(sign_row + 1, 1).value == "(Ký, ghi rõ họ tên)"
    # Landscape A4, fitted to the page width.
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    # Detail: one row per team at province level, adding up to the total.
    detail = wb["Chi tiết"]
    rows = list(detail.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 8 and sum(r[3] for r in rows) == t.records and sum(r[5] for r in rows) == t.people


def test_commune_workbook_detail_has_no_household_names(demo_db, tmp_path):
    commune = units.find_units(demo_db.db, "commune", "Tiên Tiến")[0]
    path, report = workbook(demo_db, Scope("commune", commune.id), tmp_path)
    wb = load_workbook(path)
    ws = wb["Báo cáo"]
    assert ws["A2"].value == "XÃ TIÊN TIẾN" and ws["E4"].value.startswith("Tiên Tiến, ngày 18 tháng 11")
    find(ws, "Biểu 2. Kết quả theo tổ")
    rows = list(wb["Chi tiết"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == report.totals.numbers.records
    assert {r[2] for r in rows} <= {u.name for u in report.units}  # only this commune's teams
    members = {m for m, in demo_db.db.execute("SELECT display_name FROM members")}
    heads = {h for h, in demo_db.db.execute("SELECT head_name FROM households")} - members
    assert not any(str(v) in heads for r in rows for v in r)


def test_stored_text_is_never_a_formula(demo_db, tmp_path):
    with demo_db.transaction() as conn:
        conn.execute("UPDATE teams SET name = '=HYPERLINK(\"http://x\")' WHERE id = 1")
    try:
        commune = units.commune_of_team(demo_db.db, 1)
        path, _ = workbook(demo_db, Scope("commune", commune.id), tmp_path)
        ws = load_workbook(path)["Báo cáo"]
        values = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert "'=HYPERLINK(\"http://x\")" in values and not any(v.startswith("=") for v in values)
    finally:
        with demo_db.transaction() as conn:
            conn.execute("UPDATE teams SET name = 'Tổ CNS thôn Đông' WHERE id = 1")


@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice (soffice) is not installed here; .ci/run installs it so CI runs this")
def test_libreoffice_converts_the_workbook_to_pdf(demo_db, tmp_path):
    province = units.provinces(demo_db.db)[0]
    path, _ = workbook(demo_db, Scope("province", province.id), tmp_path)
    profile = tmp_path / "lo-profile"
    result = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(path)], capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "province.pdf"
    assert result.returncode == 0 and pdf.is_file(), result.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 5000
    # Landscape A4: every page's MediaBox is about 842 x 595 points (wider than tall).
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 842) < 2 and abs(float(h) - 595) < 2 for w, h in boxes), boxes
