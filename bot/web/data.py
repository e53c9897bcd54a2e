"""What the web view shows, as plain JSON-ready data, read through the same domain modules as the chat.

`scope_for` turns the signed-in member into the set of units they may see; `unit_for` checks a
requested unit against it (PermissionError when outside). `report` is the one report function: the
same numbers as `/baocao` (it is built from `reports.team_report`), for a team or for every team in
the scope, broken down one level further with links to drill down.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import sqlite_utils

from knowledge.services import Catalogue

from .. import reports
from ..access import Member
from ..export import chart_series
from ..reports import OUTCOMES, Period
from ..safety import redact

PAGE_SIZE = 20
REVIEW_STATES = {"new": "Chưa duyệt", "approved": "Đã duyệt", "fix": "Cần sửa"}
MAX_DETAIL_TEAMS = 50
MAX_OPTIONS = 1000  # filter choices (members, villages) offered at once
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Unit:
    """Something a report is about: every team in the scope ("all") or one team."""

    kind: str  # "all" | "team"
    team_ids: tuple[int, ...]
    name: str

    @property
    def key(self) -> str:
        return "all" if self.kind == "all" else f"team:{self.team_ids[0]}"


@dataclass(frozen=True)
class Scope:
    """The units a member may see: every team (admins), or their own team (leaders)."""

    team_ids: tuple[int, ...] | None  # None: every team
    top: str  # "all" | "team"

    def allows(self, team_id: int) -> bool:
        return self.team_ids is None or team_id in self.team_ids


def scope_for(member: Member) -> Scope | None:
    """The one place the web view decides what a member sees; None for plain members."""
    if member.is_admin:
        return Scope(None, "all")
    if member.role == "leader" and member.team_id is not None:
        return Scope((member.team_id,), "team")
    return None


def _teams(db: sqlite_utils.Database, scope: Scope) -> list[tuple[int, str]]:
    rows = db.execute("SELECT id, name FROM teams ORDER BY name").fetchall()
    return [(tid, name) for tid, name in rows if scope.allows(tid)]


def unit_for(db: sqlite_utils.Database, scope: Scope, key: str | None) -> Unit:
    """The unit asked for ('all', 'team:<id>' or nothing: the top of the scope).

    Raises PermissionError outside the scope and LookupError for a unit that does not exist."""
    key = (key or "").strip()
    if not key:
        key = "all" if scope.top == "all" else f"team:{scope.team_ids[0]}"  # type: ignore[index]
    if key == "all":
        if scope.top != "all":
            raise PermissionError(key)
        return Unit("all", tuple(tid for tid, _ in _teams(db, scope)), "Tất cả các tổ")
    kind, _, ident = key.partition(":")
    if kind != "team" or not ident.isdigit():
        raise LookupError(key)
    team_id = int(ident)
    if not scope.allows(team_id):
        raise PermissionError(key)
    name = reports.team_name(db, team_id)
    if name is None:
        raise LookupError(key)
    return Unit("team", (team_id,), name)


def units(db: sqlite_utils.Database, scope: Scope) -> list[dict[str, str]]:
    """The units the member can pick, top first."""
    out = [{"key": "all", "name": "Tất cả các tổ"}] if scope.top == "all" else []
    return out + [{"key": f"team:{tid}", "name": name} for tid, name in _teams(db, scope)]


def _period(period: Period) -> dict[str, Any]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), "label": period.label,
            "arg": period.arg}


def _coverage(households: int, size: int | None) -> float | None:
    return round(100 * households / size, 1) if size else None


def report(db: sqlite_utils.Database, unit: Unit, period: Period, catalogue: Catalogue,
           today: dt.date) -> dict[str, Any]:
    """Totals, outcomes, skills, services, villages, follow-ups and the breakdown one level down."""
    # Villages, skills, services and outcomes team by team: for a commune's teams, not a province's thousand.
    detail = len(unit.team_ids) <= MAX_DETAIL_TEAMS
    parts = [reports.team_report(db, tid, period, catalogue, today) for tid in unit.team_ids] if detail else []
    outcomes: dict[str, int] = {}
    services: dict[str, int] = {}
    skills: dict[str, list[int]] = {}
    for part in parts:
        for key, n in part.by_outcome.items():
            outcomes[key] = outcomes.get(key, 0) + n
        for label, n in part.by_service:
            services[label] = services.get(label, 0) + n
        for name, n, hh in part.by_skill:
            counts = skills.setdefault(name, [0, 0])
            counts[0] += n
            counts[1] += hh
    several = unit.kind != "team"
    villages = [{"name": f"{name} ({part.team_name})" if several else name, "records": n, "households": hh,
                 "size": size, "coverage": _coverage(hh, size)}
                for part in parts for name, n, hh, size in part.by_village]
    if several:
        marks = ",".join("?" * len(unit.team_ids)) or "NULL"
        rows = db.execute(
            f"SELECT t.id, t.name, count(r.id), count(DISTINCT r.household_id) FROM teams t "
            f"LEFT JOIN records r ON r.team_id = t.id AND r.deleted = 0 AND r.helped_on BETWEEN ? AND ? "
            f"WHERE t.id IN ({marks}) GROUP BY t.id",
            [period.start.isoformat(), period.end.isoformat(), *unit.team_ids]).fetchall()
        breakdown = {"level": "team", "title": "Theo tổ",
                     "rows": [{"name": name, "records": n, "households": hh, "unit": f"team:{tid}"}
                              for tid, name, n, hh in rows]}
    else:
        rows = db.execute(
            "SELECT m.id, m.display_name, count(*), count(DISTINCT r.household_id) FROM records r "
            "JOIN members m ON m.id = r.member_id WHERE r.team_id = ? AND r.deleted = 0 "
            "AND r.helped_on BETWEEN ? AND ? GROUP BY r.member_id",
            [unit.team_ids[0], period.start.isoformat(), period.end.isoformat()]).fetchall()
        breakdown = {"level": "member", "title": "Theo thành viên",
                     "rows": [{"name": name, "records": n, "households": hh, "member": mid}
                              for mid, name, n, hh in rows]}
    breakdown["rows"].sort(key=lambda r: (-r["records"], r["name"]))
    due = [{"due": d, "household": h, "village": v, "member": m} for p in parts for d, h, v, m in p.followups_due]
    return {
        "unit": {"key": unit.key, "kind": unit.kind, "name": unit.name},
        "period": _period(period),
        # Households are distinct within a team (a household belongs to one team), not within a member.
        "totals": {"records": sum(r["records"] for r in breakdown["rows"]),
                   "households": sum(r["households"] for r in breakdown["rows"]) if several
                   else sum(p.households for p in parts),
                   "service_times": sum(p.service_times for p in parts) if detail else None},
        "outcomes": [{"key": k, "name": OUTCOMES.get(k, k), "records": outcomes.get(k, 0)}
                     for k in [*OUTCOMES, *(k for k in outcomes if k not in OUTCOMES)]],
        "breakdown": breakdown,
        "skills": [{"name": name, "times": n, "households": hh} for name, (n, hh) in skills.items()],
        "services": [{"name": label, "times": n}
                     for label, n in sorted(services.items(), key=lambda item: (-item[1], item[0]))],
        "villages": sorted(villages, key=lambda v: (-v["records"], v["name"])),
        "followups": {"open": sum(p.followups_open for p in parts), "due": sorted(due, key=lambda f: f["due"])},
        "indicators": [],  # value, target and % achieved arrive with units and indicators (#15)
        "excel": unit.kind == "team",  # one workbook per team, as /xuat
        "detail": detail,
    }


def chart(db: sqlite_utils.Database, unit: Unit, period: Period, catalogue: Catalogue) -> dict[str, Any]:
    """Records per day (per week or month for long periods) by digital skill: /bieudo's own series,
    summed over the unit's teams on shared buckets."""
    if len(unit.team_ids) > 1 and period.arg == "tatca":  # one start for all, so the buckets line up
        firsts = [d for d in (reports.first_record_day(db, tid) for tid in unit.team_ids) if d]
        period = replace(period, start=min(firsts) if firsts else period.end, arg="range")
    buckets: list[dt.date] = []
    weekly = False
    total: dict[str, list[int]] = {}
    for tid in unit.team_ids:
        buckets, series, weekly = chart_series(db, tid, period, catalogue)
        for name, counts in series.items():
            into = total.setdefault(name, [0] * len(counts))
            total[name] = [a + b for a, b in zip(into, counts, strict=True)]
    monthly = len(buckets) > 1 and buckets[1] - buckets[0] > dt.timedelta(days=7)
    return {"unit": {"key": unit.key, "name": unit.name}, "period": _period(period), "weekly": weekly,
            "step": "month" if monthly else "week" if weekly else "day",
            "buckets": [b.isoformat() for b in buckets],
            "series": [{"name": name, "counts": counts} for name, counts in total.items()]}


@dataclass(frozen=True)
class RecordFilter:
    member: int | None = None
    village: int | None = None
    service: str | None = None
    outcome: str | None = None
    review: str | None = None  # new | approved | fix
    page: int = 1
    size: int = PAGE_SIZE


def records(db: sqlite_utils.Database, unit: Unit, period: Period, catalogue: Catalogue,
            filt: RecordFilter) -> dict[str, Any]:
    """One page of the unit's (not deleted) records in the period, newest first, with the filter options."""
    if not unit.team_ids:
        return {"total": 0, "page": 1, "pages": 1, "rows": [], "options": _options(db, unit, catalogue)}
    marks = ",".join("?" * len(unit.team_ids))
    where = [f"r.team_id IN ({marks})", "r.deleted = 0", "r.helped_on BETWEEN ? AND ?"]
    params: list[Any] = [*unit.team_ids, period.start.isoformat(), period.end.isoformat()]
    if filt.member is not None:
        where.append("r.member_id = ?")
        params.append(filt.member)
    if filt.village is not None:
        where.append("r.village_id = ?")
        params.append(filt.village)
    if filt.service:
        where.append("EXISTS (SELECT 1 FROM record_services s WHERE s.record_id = r.id AND s.service = ?)")
        params.append(filt.service)
    if filt.outcome:
        where.append("r.outcome = ?")
        params.append(filt.outcome)
    if filt.review:
        where.append("r.review = ?")
        params.append(filt.review)
    clause = " AND ".join(where)
    total = db.execute(f"SELECT count(*) FROM records r WHERE {clause}", params).fetchone()[0]
    size = max(1, min(filt.size, MAX_PAGE_SIZE))
    pages = max(1, -(-total // size))
    page = max(1, min(filt.page, pages))
    labels = {s.code: s.label for s in catalogue.services}
    rows = db.execute(
        f"SELECT r.id, r.helped_on, m.display_name, h.head_name, h.erased, v.name, r.services, r.outcome, "
        f"r.followup_on, r.note, t.name, r.review FROM records r JOIN members m ON m.id = r.member_id "
        f"JOIN households h ON h.id = r.household_id JOIN villages v ON v.id = r.village_id "
        f"JOIN teams t ON t.id = r.team_id WHERE {clause} ORDER BY r.helped_on DESC, r.id DESC "
        f"LIMIT ? OFFSET ?", [*params, size, (page - 1) * size]).fetchall()
    return {
        "total": total, "page": page, "pages": pages,
        "rows": [{"id": rid, "day": day, "member": member,
                  "household": redact(reports.household_name(head, erased)).text, "village": village,
                  "team": team, "services": [labels.get(c, c) for c in services.split(",") if c],
                  "outcome": OUTCOMES.get(outcome, outcome), "followup_on": followup,
                  "note": redact(note or "").text, "review": REVIEW_STATES.get(state, state)}
                 for rid, day, member, head, erased, village, services, outcome, followup, note, team, state in rows],
        "options": _options(db, unit, catalogue),
    }


def _options(db: sqlite_utils.Database, unit: Unit, catalogue: Catalogue) -> dict[str, Any]:
    marks = ",".join("?" * len(unit.team_ids)) or "NULL"
    several = unit.kind != "team"
    members = db.execute(
        f"SELECT m.id, m.display_name, t.name FROM members m JOIN teams t ON t.id = m.team_id "
        f"WHERE m.team_id IN ({marks}) AND (m.active = 1 OR EXISTS "
        f"(SELECT 1 FROM records r WHERE r.member_id = m.id AND r.deleted = 0)) ORDER BY m.display_name "
        f"LIMIT {MAX_OPTIONS}", list(unit.team_ids)).fetchall()
    villages = db.execute(
        f"SELECT v.id, v.name, t.name FROM villages v JOIN teams t ON t.id = v.team_id "
        f"WHERE v.team_id IN ({marks}) ORDER BY v.name LIMIT {MAX_OPTIONS}", list(unit.team_ids)).fetchall()
    return {
        "members": [{"id": i, "name": f"{n} ({t})" if several else n} for i, n, t in members],
        "villages": [{"id": i, "name": f"{n} ({t})" if several else n} for i, n, t in villages],
        "services": [{"code": s.code, "name": s.label} for s in catalogue.services],
        "outcomes": [{"code": k, "name": v} for k, v in OUTCOMES.items()],
        "reviews": [{"code": k, "name": v} for k, v in REVIEW_STATES.items()],
    }


def followups(db: sqlite_utils.Database, unit: Unit, today: dt.date) -> list[dict[str, Any]]:
    """Every open follow-up of the unit, oldest due date first; `due` when its date has come."""
    if not unit.team_ids:
        return []
    marks = ",".join("?" * len(unit.team_ids))
    rows = db.execute(
        f"SELECT r.id, coalesce(r.followup_on, r.helped_on), r.helped_on, h.head_name, h.erased, v.name, "
        f"m.display_name FROM records r JOIN households h ON h.id = r.household_id "
        f"JOIN villages v ON v.id = r.village_id JOIN members m ON m.id = r.member_id "
        f"WHERE r.team_id IN ({marks}) AND r.deleted = 0 AND r.outcome = 'followup' ORDER BY 2, r.id",
        list(unit.team_ids)).fetchall()
    return [{"id": rid, "on": on, "helped_on": helped, "household": redact(reports.household_name(head, erased)).text,
             "village": village, "member": member, "due": on <= today.isoformat()}
            for rid, on, helped, head, erased, village, member in rows]
