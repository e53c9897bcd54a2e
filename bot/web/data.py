"""What the web view shows, as plain JSON-ready data, read through the same domain modules as the chat.

`scope_for` turns the signed-in member into the scope they may read (the READERS gate of bot/access.py,
then bot/scope.py: a team for a leader, a commune or province for officials, everything for admins); `unit_for` checks a requested
unit against it (PermissionError when outside). `report` is the one report function: the roll-up of
`python -m bot report --format json` (totals, indicators with targets, the breakdown one level down
with links to drill down), plus the team-level detail of `/baocao` (outcomes, skills, services,
villages, follow-ups) summed over the unit's teams.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import sqlite_utils

from knowledge.indicators import Indicators
from knowledge.services import Catalogue

from .. import reports, unitreport
from ..access import READERS, Actor
from ..export import chart_series
from ..reports import OUTCOMES, Period
from ..safety import redact
from ..scope import Scope, for_member
from ..units import get_unit

PAGE_SIZE = 20
REVIEW_STATES = {"new": "Chưa duyệt", "approved": "Đã duyệt", "fix": "Cần sửa"}
MAX_DETAIL_TEAMS = 50
MAX_OPTIONS = 1000  # filter choices (members, villages) offered at once
MAX_PAGE_SIZE = 100
MAX_PICKER = 300  # units offered in the page's picker; deeper ones are reached by drilling down
LEVELS = ("province", "commune", "team")


@dataclass(frozen=True)
class Unit:
    """What a report is about: a scope (everything, a province, a commune or a team) and its teams."""

    scope: Scope
    team_ids: tuple[int, ...]
    name: str

    @property
    def kind(self) -> str:
        return self.scope.level

    @property
    def key(self) -> str:
        return key_of(self.scope)


def key_of(scope: Scope) -> str:
    return "all" if scope.level == "all" else f"{scope.level}:{scope.unit_id}"


def scope_for(member: Actor) -> Scope | None:
    """What a member reads on the web view: the READERS gate of the chat's reports, then their scope
    (bot/scope.py); None for plain members (and a leader without a team)."""
    if not READERS.admits(member):
        return None
    scope = for_member(member)
    return None if scope.level == "none" else scope


def _name(db: sqlite_utils.Database, scope: Scope) -> str | None:
    if scope.level == "all":
        return unitreport.LEVEL_NAMES["all"]
    if scope.level == "team":
        return reports.team_name(db, scope.unit_id or 0)
    unit = get_unit(db, scope.unit_id)
    return unit.title if unit is not None and unit.kind == scope.level else None


def unit_for(db: sqlite_utils.Database, scope: Scope, key: str | None) -> Unit:
    """The unit asked for ('all', 'province:<id>', 'commune:<id>', 'team:<id>'; nothing: the whole scope).

    Raises PermissionError outside the scope and LookupError for a unit that does not exist."""
    key = (key or "").strip() or key_of(scope)
    if key == "all":
        wanted = Scope("all")
    else:
        level, _, ident = key.partition(":")
        if level not in LEVELS or not ident.isdigit():
            raise LookupError(key)
        wanted = Scope(level, int(ident))
    if not scope.within(wanted, db):
        raise PermissionError(key)
    name = _name(db, wanted)
    if name is None:
        raise LookupError(key)
    return Unit(wanted, tuple(wanted.team_ids(db)), name)


def units(db: sqlite_utils.Database, scope: Scope) -> list[dict[str, str]]:
    """The units the member can pick: the whole scope first, then its provinces, communes and teams."""
    out = [{"key": key_of(scope), "name": _name(db, scope) or ""}]
    if scope.level in ("all", "province"):
        for kind in ("province", "commune") if scope.level == "all" else ("commune",):
            for uid, in db.execute("SELECT id FROM units WHERE kind = ? ORDER BY name", [kind]).fetchall():
                inner = Scope(kind, uid)
                if scope.within(inner, db):
                    out.append({"key": key_of(inner), "name": _name(db, inner) or ""})
    if scope.level != "team":
        where, params = scope.teams("id")
        out += [{"key": f"team:{tid}", "name": name} for tid, name in db.execute(
            f"SELECT id, name FROM teams WHERE {where} ORDER BY name", params).fetchall()]
    return out[:MAX_PICKER]


def _period(period: Period) -> dict[str, Any]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), "label": period.label,
            "arg": period.arg}


def _coverage(households: int, size: int | None) -> float | None:
    return round(100 * households / size, 1) if size else None


def report(db: sqlite_utils.Database, unit: Unit, period: Period, catalogue: Catalogue, today: dt.date,
           indicators: Indicators | None = None) -> dict[str, Any]:
    """The roll-up (`report`: the same JSON as `python -m bot report`), its totals, indicators and
    breakdown one level down, plus outcomes, skills, services, villages and follow-ups of the teams."""
    rollup = unitreport.build(db, unit.scope, period, indicators).as_dict()
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
    child = unitreport.CHILD[unit.kind]
    rows = []
    for row in rollup["units"]:
        entry = {"name": row["name"], "records": row["records"], "households": row["households"],
                 "people": row["people"]}
        if child == "member":
            entry["member"] = row["id"]
        elif row["id"] is not None:
            entry["unit"] = f"{child}:{row['id']}"
        rows.append(entry)
    due = [{"due": d, "household": h, "village": v, "member": m} for p in parts for d, h, v, m in p.followups_due]
    totals = rollup["totals"]
    return {
        "unit": {"key": unit.key, "kind": unit.kind, "name": unit.name},
        "period": _period(period),
        "totals": {"records": totals["records"], "households": totals["households"], "people": totals["people"],
                   "service_times": sum(p.service_times for p in parts) if detail else None},
        "indicators": rollup["indicators"],
        "outcomes": [{"key": k, "name": OUTCOMES.get(k, k), "records": outcomes.get(k, 0)}
                     for k in [*OUTCOMES, *(k for k in outcomes if k not in OUTCOMES)]],
        "breakdown": {"level": child, "title": f"Theo {unitreport.LEVEL_NAMES[child].lower()}", "rows": rows},
        "skills": [{"name": name, "times": n, "households": hh} for name, (n, hh) in skills.items()],
        "services": [{"name": label, "times": n}
                     for label, n in sorted(services.items(), key=lambda item: (-item[1], item[0]))],
        "villages": sorted(villages, key=lambda v: (-v["records"], v["name"])),
        "followups": {"open": sum(p.followups_open for p in parts), "due": sorted(due, key=lambda f: f["due"])},
        "excel": True,  # a team's workbook, or the official layout above a team
        "detail": detail,
        "report": rollup,
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
