"""The commune's and province's report as an Excel workbook in the administrative layout.

Sheet "Báo cáo": the national motto header beside the issuing unit, place and date, title and
period, numbered tables (indicators with targets; results by unit one level down with a total row;
activities), and the signature block (Người lập biểu / Lãnh đạo đơn vị); landscape A4, fitted to the
page width, Times New Roman (a font with every Vietnamese letter). Sheet "Chi tiết": at commune
level one row per record, at province level one row per team; no household names or notes leave
the database at these levels (officials need counts, not families).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlite_utils

from knowledge.indicators import Indicators
from knowledge.services import Catalogue

from .assist import parse_achieved
from .export import cell_text
from .places import COMMUNE_TYPES
from .reports import OUTCOMES, vn_date
from .unitreport import LEVEL_NAMES, Numbers, Row, UnitReport, tally

FONT = "Times New Roman"
MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"
TITLE = "BÁO CÁO KẾT QUẢ HOẠT ĐỘNG CỦA TỔ CÔNG NGHỆ SỐ CỘNG ĐỒNG"
SIGNERS = ("NGƯỜI LẬP BIỂU", "LÃNH ĐẠO ĐƠN VỊ")
SIGN_HINTS = ("(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)")
UNIT_COLUMNS = ("STT", "Đơn vị", "Lượt hỗ trợ", "Số hộ được hỗ trợ", "Số người được hỗ trợ",
                "Kích hoạt VNeID mức 2 (người)", "Tài khoản thanh toán mở mới", "Hồ sơ trực tuyến đã nộp",
                "Số buổi hoạt động", "Lượt người tham dự")
WIDTHS = (6, 34, 12, 13, 13, 14, 14, 14, 12, 12)
LAST_COL = len(UNIT_COLUMNS)
ACHIEVED_COLUMNS = ("vneid2_active", "payment_account", "dvc_submitted")
DETAIL_RECORD = ("Số phiếu", "Ngày", "Tổ", "Thôn", "Thành viên", "Dịch vụ", "Kết quả", "Số người", "Đạt được")
DETAIL_TEAM = ("STT", "Xã", "Tổ", "Lượt hỗ trợ", "Số hộ", "Số người", "Kích hoạt VNeID mức 2",
               "Tài khoản thanh toán", "Hồ sơ trực tuyến", "Số buổi hoạt động", "Lượt tham dự")


def text_cell(value: str | None) -> str:
    """Stored text as a cell: never read as a formula by a spreadsheet (the team export's rule)."""
    return cell_text(value or "")


def issuer_lines(report: UnitReport) -> tuple[str, str]:
    """The issuing body above the unit name, in capitals (left of the motto)."""
    level = report.scope.level
    if level in ("commune", "province"):
        return "ỦY BAN NHÂN DÂN", report.title.upper()
    if level == "team":
        return report.title.upper(), ""
    return "TỔ CÔNG NGHỆ SỐ CỘNG ĐỒNG", ""


def place_name(report: UnitReport) -> str:
    """'Tiên Tiến' from 'Xã Tiên Tiến', 'Hưng Yên' from 'Tỉnh Hưng Yên (dữ liệu mẫu)'."""
    title = report.title.split("(")[0].strip()
    for prefix in ("Xã ", "Phường ", "Đặc khu ", "Tỉnh ", "Thành phố "):
        if title.startswith(prefix):
            return title[len(prefix):]
    return title


def _row_values(i: int, row: Row) -> list:
    n = row.numbers
    return [i, text_cell(row.name), n.records, n.households, n.people,
            *(n.achieved.get(code, 0) for code in ACHIEVED_COLUMNS),
            sum(n.sessions.values()), sum(n.attendees.values())]


def write_official(db: sqlite_utils.Database, report: UnitReport, catalogue: Catalogue, indicators: Indicators,
                   today: dt.date, path: Path) -> UnitReport:
    """Write the workbook (atomically) and return the report it shows."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "Báo cáo"
    normal, bold = Font(name=FONT, size=12), Font(name=FONT, size=12, bold=True)
    italic = Font(name=FONT, size=12, italic=True)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    left = Alignment(horizontal="left", vertical="center", wrap_text=True)
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width

    def put(row: int, col: int, value, font=normal, align=left, last: int | None = None):
        if last and last > col:
            ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=last)
        cell = ws.cell(row=row, column=col, value=value)
        cell.font, cell.alignment = font, align
        return cell

    top, unit = issuer_lines(report)
    put(1, 1, top, bold if not unit else normal, center, 3)
    put(1, 5, MOTTO, bold, center, LAST_COL)
    put(2, 1, unit, bold, center, 3)
    put(2, 5, MOTTO_2, bold, center, LAST_COL)
    put(4, 5, f"{place_name(report)}, ngày {today.day:02d} tháng {today.month:02d} năm {today.year}",
        italic, center, LAST_COL)
    put(6, 1, TITLE, Font(name=FONT, size=14, bold=True), center, LAST_COL)
    p = report.period
    put(7, 1, f"Kỳ báo cáo: {p.label} (từ ngày {vn_date(p.start)} đến ngày {vn_date(p.end)})", italic, center, LAST_COL)
    row = 9

    def table(title: str, headers: tuple[str, ...], rows: list[list], total: list | None, spans: dict[int, int]):
        """A numbered table: bold title, boxed header, rows, optional bold total. `spans`: col -> last col."""
        nonlocal row
        put(row, 1, title, bold, left, LAST_COL)
        row += 1
        col = 1
        for h in headers:
            last = spans.get(col, col)
            put(row, col, h, bold, center, last)
            for c in range(col, last + 1):
                ws.cell(row=row, column=c).border = box
            col = last + 1
        ws.row_dimensions[row].height = 45
        row += 1
        for values in rows + ([total] if total else []):
            col = 1
            is_total = total is not None and values is total
            for v in values:
                last = spans.get(col, col)
                cell = put(row, col, v, bold if is_total else normal, left if col == 2 else center, last)
                if isinstance(v, float):
                    cell.number_format = "0.0"
                for c in range(col, last + 1):
                    ws.cell(row=row, column=c).border = box
                col = last + 1
            row += 1
        row += 1

    # Biểu 1: indicators (value, target, % achieved).
    ind_rows = []
    for i, ind in enumerate(report.totals.indicators, start=1):
        value = None if ind.value is None else round(ind.value, 1 if ind.unit == "%" else 0)
        pct = ind.achieved_pct
        ind_rows.append([i, text_cell(ind.name), ind.unit, "chưa có số liệu" if value is None else value,
                         "" if ind.target is None else ind.target, "" if pct is None else round(pct, 1)])
    table("Biểu 1. Kết quả thực hiện các chỉ tiêu",
          ("STT", "Chỉ tiêu", "Đơn vị tính", "Kết quả", "Chỉ tiêu giao", "Tỷ lệ đạt (%)"),
          ind_rows, None, {2: 5, 7: 7, 8: 8})
    # Biểu 2: one level down, with a total row equal to the sum of the rows above it.
    level = LEVEL_NAMES.get(report.part_level, "").lower()
    total = ["", "Tổng cộng", *_row_values(0, report.totals)[2:]]
    table(f"Biểu 2. Kết quả theo {level}", UNIT_COLUMNS,
          [_row_values(i, r) for i, r in enumerate(report.units, start=1)], total, {})
    # Biểu 3: activities by kind.
    t = report.totals.numbers
    act_rows = [[i, text_cell(k.label), t.sessions.get(k.code, 0), t.attendees.get(k.code, 0)]
                for i, k in enumerate(indicators.activities, start=1)]
    act_rows += [[len(act_rows) + j, code, n, t.attendees.get(code, 0)]
                 for j, (code, n) in enumerate(sorted(t.sessions.items()), start=1)
                 if indicators.activity(code) is None]
    table("Biểu 3. Hoạt động tuyên truyền, \"Bình dân học vụ số\"", ("STT", "Loại hoạt động", "Số buổi",
          "Lượt người tham dự"), act_rows,
          ["", "Tổng cộng", sum(t.sessions.values()), sum(t.attendees.values())], {2: 5, 6: 7, 8: 10})
    if t.population_households or t.population_adults:
        on = f", số liệu ngày {vn_date(t.figures_on)}" if t.figures_on else ""
        put(row, 1, f"Ghi chú: quy mô {t.population_households or '?'} hộ, {t.population_adults or '?'} người từ "
                    f"đủ 18 tuổi{on}. Số liệu là các lượt tổ ghi nhận trong kỳ.", italic, left, LAST_COL)
        row += 2
    # Signature block.
    put(row, 1, SIGNERS[0], bold, center, 3)
    put(row, 6, SIGNERS[1], bold, center, LAST_COL)
    put(row + 1, 1, SIGN_HINTS[0], italic, center, 3)
    put(row + 1, 6, SIGN_HINTS[1], italic, center, LAST_COL)
    signature_row = row

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.6
    ws.page_margins.top = ws.page_margins.bottom = 0.7
    ws.print_options.horizontalCentered = True
    ws.print_area = f"A1:{get_column_letter(LAST_COL)}{signature_row + 5}"

    _detail(wb, db, report, catalogue, indicators, bold, get_column_letter)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return report


def _detail(wb, db, report, catalogue, indicators, bold, letter) -> None:
    ws = wb.create_sheet("Chi tiết")
    ws.freeze_panes = "A2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    scope, period = report.scope, report.period
    where, params = scope.teams("r.team_id")
    span = [period.start.isoformat(), period.end.isoformat()]
    headers: tuple[str, ...]
    widths: tuple[int, ...]
    if scope.level in ("province", "all"):
        headers, widths = DETAIL_TEAM, (6, 26, 30, 12, 10, 10, 14, 14, 14, 12, 12)
        ws.append(headers)
        teams = db.execute(
            f"SELECT t.id, coalesce(c.commune_type, ''), coalesce(c.name, ''), t.name FROM teams t "
            f"LEFT JOIN units c ON c.id = t.commune_id WHERE {scope.teams('t.id')[0]} ORDER BY c.key, t.name",
            scope.teams("t.id")[1]).fetchall()

        per_team = tally(db, scope, period, "team")
        for i, (tid, ctype, cname, tname) in enumerate(teams, start=1):
            n = per_team.get(tid, Numbers())
            commune = f"{COMMUNE_TYPES.get(ctype, '')} {cname}".strip()
            ws.append([i, text_cell(commune), text_cell(tname), n.records, n.households, n.people,
                       *(n.achieved.get(c, 0) for c in ACHIEVED_COLUMNS), sum(n.sessions.values()),
                       sum(n.attendees.values())])
    else:
        headers, widths = DETAIL_RECORD, (9, 12, 26, 18, 22, 45, 13, 9, 40)
        ws.append(headers)
        labels = {s.code: s.label for s in catalogue.services}
        names = {a.code: a.label for a in indicators.achievements}
        for n_row, (rid, day, team, village, member, services, outcome, people, achieved) in enumerate(db.execute(
                f"SELECT r.id, r.helped_on, t.name, v.name, m.display_name, r.services, r.outcome, r.people, "
                f"r.achieved "
                f"FROM records r JOIN teams t ON t.id = r.team_id JOIN villages v ON v.id = r.village_id "
                f"JOIN members m ON m.id = r.member_id WHERE {where} AND r.deleted = 0 "
                f"AND r.helped_on BETWEEN ? AND ? ORDER BY r.helped_on, r.id", [*params, *span]), start=2):
            ws.append([rid, dt.date.fromisoformat(day), text_cell(team), text_cell(village), text_cell(member),
                       ", ".join(labels.get(c, c) for c in services.split(",") if c),
                       OUTCOMES.get(outcome, outcome), people,
                       "; ".join(f"{names.get(c, c)}: {n}" for c, n in parse_achieved(achieved).items())])
            ws.cell(row=n_row, column=2).number_format = "DD/MM/YYYY"  # not ws.max_row: it is O(rows)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[letter(i)].width = width
    for cell in ws[1]:
        cell.font = bold
