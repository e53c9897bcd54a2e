"""Leaders' numbers: pure queries over the assistance log, scoped to one team in one place.

Every query goes through `_scope`, so a report can only ever count one team's non-deleted
records in one period. Functions take a `sqlite_utils.Database` (the loop's connection, or a
`storage.reader()` one for off-loop work) and return plain data; rendering is separate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlite_utils

from knowledge.normalize import fold
from knowledge.services import Catalogue

from .assist import OUTCOMES
from .places import get_unit
from .scope import Scope
from .when import (
    FIRST_DAY,
    PERIOD_HELP,
    Period,
    parse_period,
    period_bounds_problem,
    period_error,
    period_refusal,
    vn_date,
)

ERASED = "(đã xóa thông tin)"
MAX_LISTED_FOLLOWUPS = 5
MAX_LISTED_SERVICES = 8  # the rest are summed on one line, so the list still adds up
# Periods, and how wide a report may be, are decided in one place (bot/when.py); re-exported for callers.
__all__ = ["FIRST_DAY", "PERIOD_HELP", "Period", "parse_period", "period_bounds_problem", "period_error",
           "period_refusal", "vn_date"]


def _scope(team_id: int | Scope, period: Period, approved_only: bool = False) -> tuple[str, list]:
    """The one WHERE clause every report query uses (records aliased `r`): one team, or every team of a
    `bot.scope.Scope` (a commune or province, for officials' charts); optionally approved records only."""
    where, params = team_id.teams("r.team_id") if isinstance(team_id, Scope) else ("r.team_id = ?", [team_id])
    return (f"{where} AND r.deleted = 0 AND r.helped_on BETWEEN ? AND ?"
            + (" AND r.review = 'approved'" if approved_only else ""),
            [*params, period.start.isoformat(), period.end.isoformat()])


# An open follow-up (bot/followups.py): "Chưa xong" with a date or "Hẹn lại", live, not closed.
OPEN_FOLLOWUP = ("r.deleted = 0 AND r.outcome IN ('unfinished', 'followup') "
                 "AND (r.followup_on IS NOT NULL OR r.outcome = 'followup') "
                 "AND NOT EXISTS (SELECT 1 FROM followup_closes c WHERE c.record_id = r.id)")
REVIEW_STATES = {"new": "mới", "approved": "đã duyệt", "fix": "cần sửa"}
CLOSE_RESULTS = {"done": "đã xong khi quay lại", "dropped": "không cần nữa"}


@dataclass
class Report:
    team_id: int
    team_name: str
    period: Period
    records: int = 0
    households: int = 0
    by_member: list[tuple[str, int, int]] = field(default_factory=list)  # name, records, households
    by_outcome: dict[str, int] = field(default_factory=dict)
    by_service: list[tuple[str, int]] = field(default_factory=list)  # label, times
    by_skill: list[tuple[str, int, int]] = field(default_factory=list)  # name, times, households
    by_village: list[tuple[str, int, int, int | None]] = field(default_factory=list)  # name, rec, hh, size
    followups_open: int = 0
    approved_only: bool = False
    by_review: dict[str, int] = field(default_factory=dict)  # review state -> records (adds up to `records`)
    followups_closed: dict[str, int] = field(default_factory=dict)  # result -> the period's closed follow-ups
    followups_due: list[tuple[str, str, str, str]] = field(default_factory=list)  # due, household, village, member

    @property
    def service_times(self) -> int:
        return sum(n for _, n in self.by_service)


def team_name(db: sqlite_utils.Database, team_id: int | Scope) -> str | None:
    """A team's name, or the title of a scope's commune or province."""
    if isinstance(team_id, Scope):
        if team_id.level == "team":
            return team_name(db, team_id.unit_id or 0)
        unit = get_unit(db, team_id.unit_id)
        return unit.title if unit else ("Toàn hệ thống" if team_id.level == "all" else None)
    row = db.execute("SELECT name FROM teams WHERE id = ?", [team_id]).fetchone()
    return row[0] if row else None


def household_name(head_name: str | None, erased: int) -> str:
    return ERASED if erased or not head_name else head_name


def team_report(db: sqlite_utils.Database, team_id: int, period: Period, catalogue: Catalogue,
                today: dt.date, approved_only: bool = False) -> Report:
    where, params = _scope(team_id, period, approved_only)
    report = Report(team_id, team_name(db, team_id) or f"Tổ {team_id}", period, approved_only=approved_only)
    report.by_review = dict(db.execute(
        f"SELECT r.review, count(*) FROM records r WHERE {where} GROUP BY r.review", params).fetchall())
    report.followups_closed = dict(db.execute(
        f"SELECT c.result, count(*) FROM records r JOIN followup_closes c ON c.record_id = r.id WHERE {where} "
        f"GROUP BY c.result", params).fetchall())
    report.records, report.households = db.execute(
        f"SELECT count(*), count(DISTINCT r.household_id) FROM records r WHERE {where}", params).fetchone()
    report.by_member = [tuple(row) for row in db.execute(
        f"SELECT m.display_name, count(*), count(DISTINCT r.household_id) FROM records r "
        f"JOIN members m ON m.id = r.member_id WHERE {where} "
        f"GROUP BY r.member_id ORDER BY count(*) DESC, m.display_name", params)]
    report.by_outcome = dict(db.execute(
        f"SELECT r.outcome, count(*) FROM records r WHERE {where} GROUP BY r.outcome", params).fetchall())
    services = dict(db.execute(
        f"SELECT s.service, count(*) FROM records r JOIN record_services s ON s.record_id = r.id "
        f"WHERE {where} GROUP BY s.service", params).fetchall())
    labels = {s.code: s.label for s in catalogue.services}
    report.by_service = sorted(((labels.get(code) or code, n) for code, n in services.items()),
                               key=lambda item: (-item[1], item[0]))
    skills = {row[0]: (row[1], row[2]) for row in db.execute(
        f"SELECT s.skill, count(*), count(DISTINCT r.household_id) FROM records r "
        f"JOIN record_services s ON s.record_id = r.id WHERE {where} GROUP BY s.skill", params)}
    report.by_skill = [(name, *skills.get(code, (0, 0))) for code, name in catalogue.skills.items()]
    report.by_skill += [(code, *value) for code, value in skills.items() if code not in catalogue.skills]
    report.by_village = [tuple(row) for row in db.execute(
        f"SELECT v.name, count(*), count(DISTINCT r.household_id), v.households FROM records r "
        f"JOIN villages v ON v.id = r.village_id WHERE {where} "
        f"GROUP BY r.village_id ORDER BY count(*) DESC, v.name", params)]
    report.followups_open = db.execute(
        f"SELECT count(*) FROM records r WHERE r.team_id = ? AND {OPEN_FOLLOWUP}", [team_id]).fetchone()[0]
    report.followups_due = due_followups(db, today, team_id=team_id)
    return report


def due_followups(db: sqlite_utils.Database, today: dt.date, team_id: int | None = None,
                  member_id: int | None = None) -> list[tuple[str, str, str, str]]:
    """Open follow-ups whose date has come (or has none), oldest first: (due, household, village, member)."""
    column, value = ("r.team_id", team_id) if member_id is None else ("r.member_id", member_id)
    rows = db.execute(
        f"SELECT coalesce(r.followup_on, r.helped_on), h.head_name, h.erased, v.name, m.display_name "
        f"FROM records r JOIN households h ON h.id = r.household_id JOIN villages v ON v.id = r.village_id "
        f"JOIN members m ON m.id = r.member_id "
        f"WHERE {column} = ? AND {OPEN_FOLLOWUP} "
        f"AND coalesce(r.followup_on, r.helped_on) <= ? ORDER BY 1, r.id",
        [value, today.isoformat()]).fetchall()
    return [(due, household_name(head, erased), village, member) for due, head, erased, village, member in rows]


def due_followups_by_member(db: sqlite_utils.Database, today: dt.date) -> dict[int, list[tuple[str, str, str, str]]]:
    """Every active member's due follow-ups (role 'member' only; leaders see theirs in the team digest)."""
    out: dict[int, list[tuple[str, str, str, str]]] = {}
    for member_id, due, head, erased, village, name in db.execute(
            "SELECT r.member_id, coalesce(r.followup_on, r.helped_on), h.head_name, h.erased, v.name, m.display_name "
            "FROM records r JOIN members m ON m.id = r.member_id JOIN households h ON h.id = r.household_id "
            "JOIN villages v ON v.id = r.village_id "
            f"WHERE {OPEN_FOLLOWUP} AND coalesce(r.followup_on, r.helped_on) <= ? "
            "AND m.active = 1 AND m.role = 'member' AND m.team_id = r.team_id ORDER BY r.member_id, 2, r.id",
            [today.isoformat()]):
        out.setdefault(member_id, []).append((due, household_name(head, erased), village, name))
    return out


def idle_members(db: sqlite_utils.Database, team_id: int, period: Period) -> list[str]:
    """Active members of the team with no record in the period."""
    where, params = _scope(team_id, period)
    return [row[0] for row in db.execute(
        f"SELECT m.display_name FROM members m WHERE m.team_id = ? AND m.active = 1 AND m.role != 'admin' "
        f"AND NOT EXISTS (SELECT 1 FROM records r WHERE r.member_id = m.id AND {where}) "
        f"ORDER BY m.display_name", [team_id, *params])]


def detail_rows(db: sqlite_utils.Database, team_id: int, period: Period,
                approved_only: bool = False):
    """One row per non-deleted record: (id, helped_on, member, head_name, erased, village, services,
    outcome, followup_on, note, review, follow-up close result or None)."""
    where, params = _scope(team_id, period, approved_only)
    return db.execute(
        f"SELECT r.id, r.helped_on, m.display_name, h.head_name, h.erased, v.name, r.services, r.outcome, "
        f"r.followup_on, r.note, r.review, (SELECT c.result FROM followup_closes c WHERE c.record_id = r.id) "
        f"FROM records r JOIN members m ON m.id = r.member_id "
        f"JOIN households h ON h.id = r.household_id JOIN villages v ON v.id = r.village_id "
        f"WHERE {where} ORDER BY r.helped_on, r.id", params)


def per_day_by_skill(db: sqlite_utils.Database, team_id: int | Scope, period: Period) -> list[tuple[str, str, int]]:
    """(day, skill, records): a record counts once in each skill it touched."""
    where, params = _scope(team_id, period)
    return db.execute(
        f"SELECT r.helped_on, s.skill, count(DISTINCT r.id) FROM records r "
        f"JOIN record_services s ON s.record_id = r.id WHERE {where} GROUP BY r.helped_on, s.skill "
        f"ORDER BY r.helped_on", params).fetchall()


def first_record_day(db: sqlite_utils.Database, team_id: int | Scope) -> dt.date | None:
    where, params = team_id.teams("team_id") if isinstance(team_id, Scope) else ("team_id = ?", [team_id])
    row = db.execute(f"SELECT min(helped_on) FROM records WHERE {where} AND deleted = 0", params).fetchone()
    return dt.date.fromisoformat(row[0]) if row and row[0] else None


def find_team(db: sqlite_utils.Database, name: str) -> list[tuple[int, str]]:
    """Teams whose name matches `name` (accents optional): an exact match wins, else substrings."""
    wanted = fold(name).strip()
    teams = db.execute("SELECT id, name FROM teams ORDER BY name").fetchall()
    exact = [(i, n) for i, n in teams if fold(n) == wanted]
    return exact or [(i, n) for i, n in teams if wanted and wanted in fold(n)]


# --- rendering ----------------------------------------------------------------------------------

def _coverage(reached: int, size: int | None) -> str:
    if not size:
        return ""
    return f", phủ {reached}/{size} hộ ({100 * reached / size:.0f}%)"


def render(report: Report, today: dt.date) -> str:
    """A short text for a phone screen; every table adds up to the totals above it."""
    which = ("Chỉ tính phiếu đã duyệt." if report.approved_only else
             "Tính mọi phiếu đã ghi (chỉ tính phiếu đã duyệt: thêm chữ \"duyet\", ví dụ /baocao thang duyet).")
    lines = [f"📊 Báo cáo {report.team_name}, {report.period.label}", which,
             f"Lượt hỗ trợ: {report.records}. Số hộ được hỗ trợ: {report.households}."]
    if report.records and not report.approved_only:
        lines.append("Trạng thái duyệt: " + ", ".join(
            f"{name} {report.by_review.get(k, 0)}" for k, name in REVIEW_STATES.items()) + ".")
    if report.records == 0:
        lines.append("Chưa có lượt hỗ trợ nào được ghi trong khoảng này.")
    else:
        keys = [k for k in OUTCOMES if report.by_outcome.get(k)] + [k for k in report.by_outcome if k not in OUTCOMES]
        outcome = ", ".join(f"{OUTCOMES.get(k, k).lower()} {report.by_outcome[k]}" for k in keys)
        lines.append(f"Kết quả: {outcome}.")
        lines.append("\nTheo thành viên (lượt / hộ):")
        lines += [f"- {name}: {n} / {hh}" for name, n, hh in report.by_member]
        lines.append(f"\nTheo kỹ năng số (lượt dịch vụ / hộ), tổng {report.service_times} lượt dịch vụ:")
        lines += [f"- {name}: {n} / {hh}" for name, n, hh in report.by_skill if n]
        lines.append("\nTheo dịch vụ:")
        lines += [f"- {label}: {n}" for label, n in report.by_service[:MAX_LISTED_SERVICES]]
        rest = report.by_service[MAX_LISTED_SERVICES:]
        if rest:
            lines.append(f"- {len(rest)} dịch vụ khác: {sum(n for _, n in rest)}")
        lines.append("\nTheo thôn (lượt / hộ):")
        lines += [f"- {name}: {n} / {hh}{_coverage(hh, size)}" for name, n, hh, size in report.by_village]
    overdue = sum(1 for due, *_ in report.followups_due if due < today.isoformat())
    lines.append(f"\nCần quay lại: {report.followups_open} lượt đang mở, {len(report.followups_due)} đã đến hẹn"
                 f" (quá hẹn {overdue}).")
    if report.followups_closed:
        lines.append("Đã đóng (phiếu trong khoảng này): " + ", ".join(
            f"{CLOSE_RESULTS.get(k, k)} {n}" for k, n in sorted(report.followups_closed.items())) + ".")
    for due, household, village, member in report.followups_due[:MAX_LISTED_FOLLOWUPS]:
        lines.append(f"- {vn_date(due)}: {household} ({village}), {member}")
    if len(report.followups_due) > MAX_LISTED_FOLLOWUPS:
        lines.append(f"- và {len(report.followups_due) - MAX_LISTED_FOLLOWUPS} lượt khác (xem tệp /xuat).")
    return "\n".join(lines)
