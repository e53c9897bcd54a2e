"""Excel workbook and PNG chart of one team's period. Both run off the event loop with their own
read connection (`storage.reader()`), so a year of records never stalls the bot."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from knowledge.normalize import fold
from knowledge.services import Catalogue

from . import reports
from .audit import audit
from .reports import OUTCOMES, Period, Report
from .safety import redact
from .scope import Scope
from .storage import Storage

DETAIL_HEADERS = ("Số phiếu", "Ngày", "Thành viên", "Hộ dân", "Thôn", "Dịch vụ", "Kết quả", "Hẹn quay lại",
                  "Ghi chú", "Trạng thái duyệt", "Quay lại")
DETAIL_WIDTHS = (9, 12, 22, 26, 18, 45, 14, 13, 40, 14, 20)
CHART_SIZE = (10, 5)  # inches at CHART_DPI -> 1000 x 500 pixels
CHART_DPI = 100
WEEKLY_AFTER_DAYS = 45  # longer periods are charted per week
MONTHLY_AFTER_DAYS = 2 * 366  # and longer than two years per month: at most a few hundred bars
MAX_BUCKETS = 400  # whatever the period, a chart never has more bars than this
KEEP_DAYS = 7
SKILL_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def prune(export_dir: Path, now: float | None = None) -> int:
    """Delete exports older than KEEP_DAYS: they hold personal data and were sent long ago."""
    limit = (now or time.time()) - KEEP_DAYS * 86400
    removed = 0
    for path in export_dir.glob("baocao_*"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except OSError:  # another request removed it first
            pass
    return removed


def _slug(team: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", fold(team)))[:30] or "to"  # never a path: no '/', no '..'


def forget_team_exports(storage, export_dir: Path, team: str) -> int:
    """Delete a team's export files and their download links (after /xoadulieu: they hold the name)."""
    removed = 0
    for path in export_dir.glob(f"baocao_{_slug(team)}_*"):
        with storage.transaction() as conn:
            conn.execute("DELETE FROM downloads WHERE path = ?", (str(path.resolve()),))
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def out_path(export_dir: Path, team: str, period: Period, suffix: str) -> Path:
    """A fresh, unguessable file name; plain ASCII so every channel and OS accepts it."""
    export_dir.mkdir(parents=True, exist_ok=True)
    prune(export_dir)
    slug = _slug(team)
    return export_dir / (f"baocao_{slug}_{period.start:%Y%m%d}-{period.end:%Y%m%d}_"
                         f"{secrets.token_hex(4)}{suffix}")


# What openpyxl refuses in a cell (one such character used to break every export of the period).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A cell starting with one of these is read as a formula (or DDE) by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell_text(value):
    """A string made safe for a spreadsheet cell: control characters dropped, formulas neutralised."""
    if not isinstance(value, str):
        return value
    text = _ILLEGAL.sub("", value)
    if text.lstrip(" ").startswith(_FORMULA_START):
        text = "'" + text
    return text


def _append(ws, values) -> None:
    ws.append([cell_text(v) for v in values])


def _safe(text: str | None) -> str:
    """Stored text is redacted on the way in; redact again so an export can never leak an ID number."""
    return redact(text or "").text


def _header(ws: Any, titles: Sequence[str]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    cells = []
    for title in titles:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cells.append(cell)
    ws.append(cells)


def _day_cell(ws: Any, iso: str | None) -> Any:
    """A real date (sorts and filters in Excel), shown as dd/mm/yyyy."""
    from openpyxl.cell import WriteOnlyCell

    if not iso:
        return None
    cell = WriteOnlyCell(ws, value=dt.date.fromisoformat(iso))
    cell.number_format = "DD/MM/YYYY"
    return cell


def _detail_sheet(wb: Any, db: sqlite_utils.Database, team_id: int, period: Period, labels: dict[str, str],
                  approved_only: bool) -> None:
    """One row per non-deleted record."""
    from openpyxl.utils import get_column_letter

    detail = wb.create_sheet("Chi tiết")
    for i, width in enumerate(DETAIL_WIDTHS, start=1):
        detail.column_dimensions[get_column_letter(i)].width = width
    detail.freeze_panes = "A2"
    _header(detail, DETAIL_HEADERS)
    for rid, day, member, head, erased, village, services, outcome, followup, note, state, closed in \
            reports.detail_rows(db, team_id, period, approved_only):
        open_followup = outcome in ("unfinished", "followup") and (followup or outcome == "followup")
        _append(detail, [
            rid, _day_cell(detail, day), member, _safe(reports.household_name(head, erased)), village,
            ", ".join(labels.get(code, code) for code in services.split(",") if code),
            OUTCOMES.get(outcome, outcome), _day_cell(detail, followup), _safe(note),
            reports.REVIEW_STATES.get(state, state),
            reports.CLOSE_RESULTS.get(closed, closed) if closed else ("đang mở" if open_followup else ""),
        ])


def _summary_sheet(wb: Any, report: Report, period: Period, approved_only: bool) -> None:
    """The report's totals and tables."""
    summary = wb.create_sheet("Tổng hợp")
    for letter, width in zip("ABCDE", (40, 14, 14, 16, 14), strict=True):
        summary.column_dimensions[letter].width = width
    _append(summary, [f"Báo cáo {report.team_name}, {period.label}"
                      + (" (chỉ phiếu đã duyệt)" if approved_only else " (mọi phiếu đã ghi)")])
    _append(summary, ["Lượt hỗ trợ", report.records])
    _append(summary, ["Số hộ được hỗ trợ", report.households])
    for key, name in OUTCOMES.items():
        _append(summary, [name, report.by_outcome.get(key, 0)])
    for key, name in reports.REVIEW_STATES.items():
        _append(summary, [f"Phiếu {name}", report.by_review.get(key, 0)])
    for key, name in reports.CLOSE_RESULTS.items():
        _append(summary, [f"Việc quay lại: {name}", report.followups_closed.get(key, 0)])
    tables: list[tuple[tuple[str, ...], list[list[Any]]]] = [
        (("Thành viên", "Lượt hỗ trợ", "Số hộ"), [list(row) for row in report.by_member]),
        (("Kỹ năng số", "Lượt dịch vụ", "Số hộ"), [list(row) for row in report.by_skill]),
        (("Dịch vụ", "Lượt dịch vụ"), [list(row) for row in report.by_service]),
        (("Thôn", "Lượt hỗ trợ", "Số hộ đã hỗ trợ", "Số hộ trong thôn", "Tỷ lệ phủ (%)"),
         [[name, n, hh, size or "", round(100 * hh / size, 1) if size else ""]
          for name, n, hh, size in report.by_village]),
        (("Cần quay lại (đã đến hẹn)", "Ngày hẹn", "Thôn", "Thành viên"),
         [[_safe(household), _day_cell(summary, due), village, member]
          for due, household, village, member in report.followups_due]),
    ]
    for titles, rows in tables:
        _append(summary, [])
        _header(summary, titles)
        for row in rows:
            _append(summary, row)


def write_workbook(db: sqlite_utils.Database, team_id: int, period: Period, catalogue: Catalogue,
                   today: dt.date, path: Path, approved_only: bool = False) -> Report:
    """Detail sheet (one row per non-deleted record) and summary sheet (the report's tables)."""
    from openpyxl import Workbook

    labels = {s.code: s.label for s in catalogue.services}
    report = reports.team_report(db, team_id, period, catalogue, today, approved_only=approved_only)
    wb = Workbook(write_only=True)
    _detail_sheet(wb, db, team_id, period, labels, approved_only)
    _summary_sheet(wb, report, period, approved_only)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return report


def chart_series(db: sqlite_utils.Database, team_id: int | Scope, period: Period,
                 catalogue: Catalogue) -> tuple[list[dt.date], dict[str, list[int]], bool]:
    """Buckets (days, or Mondays for long periods) and, per skill name, records in each bucket."""
    start = period.start
    if period.arg == "tatca":
        start = reports.first_record_day(db, team_id) or period.end
    start = max(start, reports.FIRST_DAY)
    span = (period.end - start).days + 1
    monthly = span > MONTHLY_AFTER_DAYS
    weekly = span > WEEKLY_AFTER_DAYS

    def bucket(d: dt.date) -> dt.date:
        if monthly:
            return d.replace(day=1)
        return d - dt.timedelta(days=d.weekday()) if weekly else d

    buckets: list[dt.date] = []
    d = bucket(start)
    while d <= period.end and len(buckets) < MAX_BUCKETS:
        buckets.append(d)
        if monthly:
            d = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        else:
            d += dt.timedelta(days=7 if weekly else 1)
    index = {b: i for i, b in enumerate(buckets)}
    names = dict(catalogue.skills)
    series: dict[str, list[int]] = {name: [0] * len(buckets) for name in names.values()}
    for day, skill, n in reports.per_day_by_skill(db, team_id, period):
        d = bucket(dt.date.fromisoformat(day))
        if d not in index:
            continue
        name = names.get(skill, skill)
        series.setdefault(name, [0] * len(buckets))[index[d]] += n
    return buckets, series, weekly


def draw_chart(db: sqlite_utils.Database, team_id: int | Scope, period: Period, catalogue: Catalogue,
               path: Path) -> int:
    """A stacked bar chart of a team (or of a commune's or province's scope); returns how many
    record-skill pairs it shows. Thread-safe (no pyplot)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    buckets, series, weekly = chart_series(db, team_id, period, catalogue)
    team = reports.team_name(db, team_id) or f"Tổ {team_id}"
    with matplotlib.rc_context({"font.family": "DejaVu Sans", "font.size": 10}):
        fig = Figure(figsize=CHART_SIZE, dpi=CHART_DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        x = list(range(len(buckets)))
        bottom = [0] * len(buckets)
        for colour, (name, counts) in zip(SKILL_COLOURS * 2, series.items(), strict=False):
            if not any(counts):
                continue
            ax.bar(x, counts, bottom=bottom, label=name, color=colour, width=0.8)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        monthly = len(buckets) > 1 and (buckets[1] - buckets[0]).days > 7
        unit = "tháng" if monthly else "tuần" if weekly else "ngày"
        ax.set_title(f"Lượt hỗ trợ theo kỹ năng số mỗi {unit}: {team}, {period.label}")
        ax.set_xlabel("Tháng" if monthly else "Tuần bắt đầu từ" if weekly else "Ngày")
        ax.set_ylabel("Số lượt hỗ trợ")
        every = max(1, len(buckets) // 12)
        ax.set_xticks(x[::every], [b.strftime("%m/%Y" if monthly else "%d/%m") for b in buckets[::every]])
        ax.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # a MaxNLocator
        if any(bottom):
            ax.set_ylim(0, max(bottom) * 1.1)
            # Below the plot, so it never hides a bar.
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8, frameon=False)
        else:
            ax.text(0.5, 0.5, "Chưa có lượt hỗ trợ nào", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.png")
        fig.savefig(tmp, format="png")
        tmp.replace(path)
    return sum(bottom)


def audit_export(storage: Storage, actor: int | None, level: str, unit_id: int, period: Period, now: dt.datetime,
                 approved_only: bool = False) -> None:
    """One audit row for a workbook made of a team's (level "team") or a unit's records: who took the
    households' data out, which and for when (Decree 13/2023 asks to know)."""
    with storage.transaction() as conn:
        audit(conn, now, actor, "exports", unit_id, "export", None,
              {"level": level, "from": period.start.isoformat(), "to": period.end.isoformat(),
               "approved_only": approved_only})
