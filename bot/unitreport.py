"""Roll-up reports at every level: the same counts for a province, a commune or a team, broken down
one level further (province -> communes -> teams -> members), with the indicators of
knowledge/indicators.yaml.

Counts are tallied per team (or per member for a team) with a few grouped queries over the
`records_rollup` index, then summed upward in Python, so every total is the sum of its parts. All
counts are additive: households are distinct within a team (a household belongs to one team); in a
team's member breakdown a household counts for the member who recorded its first visit in the period.
Percentages are never summed: indicators are evaluated again on each unit's summed numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from knowledge.indicators import Indicators
from knowledge.normalize import fold

from .assist import parse_achieved
from .reports import Period, vn_date
from .scope import Scope
from .units import Unit, find_units, get_unit

FORMAT = "tcns-unit-report/1"
LEVEL_NAMES = {"all": "Toàn hệ thống", "province": "Tỉnh", "commune": "Xã", "team": "Tổ", "member": "Thành viên"}
CHILD = {"all": "province", "province": "commune", "commune": "team", "team": "member"}
NO_PROVINCE = "(xã chưa xếp vào tỉnh)"
NO_COMMUNE = "(tổ chưa xếp vào xã)"


@dataclass
class Numbers:
    """Additive counts for one unit and period, plus its denominators."""

    records: int = 0
    households: int = 0
    people: int = 0
    services: dict[str, int] = field(default_factory=dict)
    achieved: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    attendees: dict[str, int] = field(default_factory=dict)
    population_households: int | None = None
    population_adults: int | None = None
    figures_on: str | None = None  # the oldest date among the figures used

    def add(self, other: Numbers, population: bool = True) -> None:
        self.records += other.records
        self.households += other.households
        self.people += other.people
        for mine, theirs in ((self.services, other.services), (self.achieved, other.achieved),
                             (self.sessions, other.sessions), (self.attendees, other.attendees)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n
        if population:
            self.add_population(other.population_households, other.population_adults, other.figures_on)

    def add_population(self, households: int | None, adults: int | None, on: str | None) -> None:
        if households is not None:
            self.population_households = (self.population_households or 0) + households
        if adults is not None:
            self.population_adults = (self.population_adults or 0) + adults
        if on and (self.figures_on is None or on < self.figures_on):
            self.figures_on = on

    def values(self) -> dict[str, float | None]:
        """The names an indicator formula uses."""
        out: dict[str, float | None] = {"records": self.records, "households": self.households,
                                        "people": self.people, "sessions": sum(self.sessions.values()),
                                        "attendees": sum(self.attendees.values()),
                                        "population.households": self.population_households or None,
                                        "population.adults": self.population_adults or None}
        out.update({f"service.{k}": n for k, n in self.services.items()})
        out.update({f"achieved.{k}": n for k, n in self.achieved.items()})
        out.update({f"sessions.{k}": n for k, n in self.sessions.items()})
        out.update({f"attendees.{k}": n for k, n in self.attendees.items()})
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "households": self.households, "people": self.people,
                "services": dict(sorted(self.services.items())), "achieved": dict(sorted(self.achieved.items())),
                "sessions": dict(sorted(self.sessions.items())), "attendees": dict(sorted(self.attendees.items())),
                "population": {"households": self.population_households, "adults": self.population_adults,
                               "as_of": self.figures_on}}


@dataclass(frozen=True)
class IndicatorValue:
    id: str
    name: str
    unit: str
    value: float | None
    target: float | None = None
    target_label: str | None = None

    @property
    def achieved_pct(self) -> float | None:
        if self.value is None or not self.target:
            return None
        return 100 * self.value / self.target

    def as_dict(self) -> dict[str, Any]:
        pct = self.achieved_pct
        return {"id": self.id, "name": self.name, "unit": self.unit,
                "value": None if self.value is None else round(self.value, 2),
                "target": self.target, "target_period": self.target_label,
                "achieved_pct": None if pct is None else round(pct, 1)}


@dataclass
class Row:
    id: int | None
    level: str
    name: str
    numbers: Numbers
    indicators: list[IndicatorValue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "level": self.level, "name": self.name, **self.numbers.as_dict(),
                "indicators": [i.as_dict() for i in self.indicators]}


@dataclass
class UnitReport:
    scope: Scope
    title: str
    period: Period
    totals: Row
    units: list[Row]  # one level down

    @property
    def part_level(self) -> str:
        return CHILD.get(self.scope.level, "member")

    def as_dict(self, generated_at: dt.datetime | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "scope": {"level": self.scope.level, "id": self.scope.unit_id, "name": self.title},
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat(),
                       "label": self.period.label},
            "units": [u.as_dict() for u in self.units],
            "totals": self.totals.numbers.as_dict(),
            "indicators": [i.as_dict() for i in self.totals.indicators],
        }
        if generated_at is not None:
            doc["generated_at"] = generated_at.isoformat(timespec="seconds")
        return doc


# --- tallies --------------------------------------------------------------------------------------

def tally(db: sqlite_utils.Database, scope: Scope, period: Period, by: str) -> dict[int, Numbers]:
    """Counts per team (`by='team'`) or per member (`by='member'`, for one team) in the scope and period."""
    where, params = scope.teams("r.team_id")
    span = [period.start.isoformat(), period.end.isoformat()]
    live = f"{where} AND r.deleted = 0 AND r.helped_on BETWEEN ? AND ?"
    args = [*params, *span]
    key = "r.team_id" if by == "team" else "r.member_id"
    out: dict[int, Numbers] = {}

    def get(k: int) -> Numbers:
        return out.setdefault(k, Numbers())

    def add(rows) -> None:
        for k, services, achieved, n, people in rows:
            numbers = get(k)
            numbers.records += n
            numbers.people += people or 0
            for code in services.split(","):
                if code:
                    numbers.services[code] = numbers.services.get(code, 0) + n
            for code, count in parse_achieved(achieved).items():
                numbers.achieved[code] = numbers.achieved.get(code, 0) + count * n

    raw_spans = [(period.start, period.end)]
    if by == "team":  # whole months from the trigger-kept tallies, the days around them from the records
        first, last, raw_spans = month_split(period.start, period.end)
        if first is not None:
            twhere, tparams = scope.teams("t.team_id")
            add(db.execute(f"SELECT t.team_id, t.services, t.achieved, sum(t.records), sum(t.people) FROM tallies t "
                           f"WHERE {twhere} AND t.month BETWEEN ? AND ? GROUP BY 1, 2, 3", [*tparams, first, last]))
    for start, end in raw_spans:
        add(db.execute(f"SELECT {key}, r.services, r.achieved, count(*), sum(r.people) FROM records r "
                       f"WHERE {where} AND r.deleted = 0 AND r.helped_on BETWEEN ? AND ? GROUP BY 1, 2, 3",
                       [*params, start.isoformat(), end.isoformat()]))
    if by == "team":
        for k, households in households_per_team(db, scope, period):
            get(k).households = households
    else:  # a household counts once, for the member of its first visit in the period
        for k, households in db.execute(
                f"SELECT r.member_id, count(*) FROM records r WHERE r.id IN (SELECT min(r.id) FROM records r "
                f"WHERE {live} GROUP BY r.household_id) GROUP BY r.member_id", args):
            get(k).households = households
    akey = "a.team_id" if by == "team" else "a.member_id"
    awhere, aparams = scope.teams("a.team_id")
    for k, kind, n, people in db.execute(
            f"SELECT {akey}, a.kind, count(*), sum(a.attendees) FROM activities a WHERE {awhere} "
            f"AND a.deleted = 0 AND a.held_on BETWEEN ? AND ? GROUP BY 1, 2", [*aparams, *span]):
        if k is None:
            continue
        numbers = get(k)
        numbers.sessions[kind] = n
        numbers.attendees[kind] = people or 0
    return out


# From this many days on, distinct households come from `household_spans` (about one row per team and
# household); shorter periods read the few records of the period from the `records_rollup` index.
SPANS_FROM_DAYS = 93


def households_per_team(db: sqlite_utils.Database, scope: Scope, period: Period,
                        spans: bool | None = None) -> list[tuple[int, int]]:
    """(team, distinct households with a live record in the period), the same either way it is read."""
    span = [period.start.isoformat(), period.end.isoformat()]
    if spans is None:
        spans = period.days >= SPANS_FROM_DAYS
    if not spans:
        where, params = scope.teams("r.team_id")
        return db.execute(f"SELECT r.team_id, count(DISTINCT r.household_id) FROM records r WHERE {where} "
                          f"AND r.deleted = 0 AND r.helped_on BETWEEN ? AND ? GROUP BY 1", [*params, *span]).fetchall()
    where, params = scope.teams("p.team_id")
    start, end = span
    # Helped in the period: the first or last day is inside it; if both lie outside, on either side, a
    # record in between decides (one seek into records_household_span).
    return db.execute(
        f"SELECT p.team_id, count(*) FROM household_spans p WHERE {where} AND p.first_on <= ? AND p.last_on >= ? "
        f"AND (p.first_on >= ? OR p.last_on <= ? OR EXISTS (SELECT 1 FROM records r WHERE r.team_id = p.team_id "
        f"AND r.household_id = p.household_id AND r.deleted = 0 AND r.helped_on BETWEEN ? AND ?)) GROUP BY 1",
        [*params, end, start, start, end, start, end]).fetchall()


def month_split(start: dt.date, end: dt.date) -> tuple[str | None, str | None, list[tuple[dt.date, dt.date]]]:
    """The whole calendar months inside [start, end] as ('YYYY-MM' first, last) and the day spans left."""
    def month_end(d: dt.date) -> dt.date:
        return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)

    first_full = start if start.day == 1 else month_end(start) + dt.timedelta(days=1)
    last_full = end if end == month_end(end) else end.replace(day=1) - dt.timedelta(days=1)
    if first_full > last_full:
        return None, None, [(start, end)]
    spans = []
    if start < first_full:
        spans.append((start, first_full - dt.timedelta(days=1)))
    if last_full < end:
        spans.append((last_full + dt.timedelta(days=1), end))
    return first_full.strftime("%Y-%m"), last_full.strftime("%Y-%m"), spans


def _team_population(db: sqlite_utils.Database, scope: Scope) -> dict[int, tuple[int | None, int | None, str | None]]:
    where, params = scope.teams("v.team_id")
    return {t: (h, a, on) for t, h, a, on in db.execute(
        f"SELECT v.team_id, sum(v.households), sum(v.adults), min(v.figures_on) FROM villages v WHERE {where} "
        f"GROUP BY v.team_id", params)}


def _evaluate(row: Row, indicators: Indicators | None, period: Period) -> Row:
    if indicators is None:
        return row
    values = row.numbers.values()
    level = row.level if row.level in ("province", "commune", "team") else "member"
    for ind in indicators.indicators:
        target = ind.target_for(period.start, period.end, row.name, level)
        row.indicators.append(IndicatorValue(ind.id, ind.name, ind.unit, ind.evaluate(values),
                                             target.value if target else None, target.label if target else None))
    return row


def _own_population(unit: Unit | None, db: sqlite_utils.Database) -> tuple[int | None, int | None, str | None]:
    if unit is None:
        return None, None, None
    row = db.execute("SELECT households, adults, figures_on FROM units WHERE id = ?", [unit.id]).fetchone()
    return (row[0], row[1], row[2]) if row else (None, None, None)


def build(db: sqlite_utils.Database, scope: Scope, period: Period, indicators: Indicators | None = None) -> UnitReport:
    """The report of `scope` for `period`, broken down one level down. `scope` must already be one the
    reader may see (callers get it from `scope.for_member` / `resolve`)."""
    if scope.level == "team":
        return _team_build(db, scope, period, indicators)
    per_team = tally(db, scope, period, "team")
    population = _team_population(db, scope)
    where, params = scope.teams("t.id")
    teams = db.execute(
        f"SELECT t.id, t.name, t.commune_id, c.name, c.commune_type, c.parent_id, p.name, "
        f"c.households, c.adults, c.figures_on, p.households, p.adults, p.figures_on "
        f"FROM teams t LEFT JOIN units c ON c.id = t.commune_id LEFT JOIN units p ON p.id = c.parent_id "
        f"WHERE {where} ORDER BY t.id", params).fetchall()
    child = CHILD[scope.level]
    parts: dict[Any, Row] = {}
    own_pop: dict[Any, tuple[Any, Any, Any] | None] = {}
    for (tid, tname, cid, cname, ctype, pid, pname, ch, ca, con, ph, pa, pon) in teams:
        numbers = per_team.get(tid, Numbers())
        numbers.add_population(*population.get(tid, (None, None, None)))
        if child == "team":
            key, name, pop = tid, tname, None
        elif child == "commune":
            key = cid
            name = Unit(cid, "commune", cname, ctype, pid).title if cid else NO_COMMUNE
            pop = (ch, ca, con)
        else:
            key, name, pop = pid, pname or NO_PROVINCE, (ph, pa, pon)
        row = parts.get(key)
        if row is None:
            row = parts[key] = Row(key, child, name, Numbers())
            own_pop[key] = pop
        row.numbers.add(numbers)
    # A commune's or province's own figure, when an official set one, replaces the sum of its villages.
    for key, row in parts.items():
        pop = own_pop.get(key)
        if pop and (pop[0] is not None or pop[1] is not None):
            summed = row.numbers
            summed.population_households = pop[0] if pop[0] is not None else summed.population_households
            summed.population_adults = pop[1] if pop[1] is not None else summed.population_adults
            summed.figures_on = pop[2] or summed.figures_on
    # Communes of the scope with no team yet still appear (zero rows), so officials see every commune.
    if child == "commune":
        for cid, cname, ctype, pid in db.execute(
                "SELECT id, name, commune_type, parent_id FROM units WHERE kind = 'commune' AND parent_id = ?",
                [scope.unit_id]).fetchall():
            parts.setdefault(cid, Row(cid, "commune", Unit(cid, "commune", cname, ctype, pid).title, Numbers()))
    unit = get_unit(db, scope.unit_id) if scope.level in ("province", "commune") else None
    total = Numbers()
    for row in parts.values():
        total.add(row.numbers, population=False)
    own = _own_population(unit, db)
    if own[0] is not None or own[1] is not None:
        total.add_population(*own)
    else:
        for row in parts.values():
            total.add_population(row.numbers.population_households, row.numbers.population_adults,
                                 row.numbers.figures_on)
    title = unit.title if unit else LEVEL_NAMES["all"]
    rows = sorted(parts.values(), key=lambda r: (r.name.startswith("("), r.name))
    return UnitReport(scope, title, period, _evaluate(Row(scope.unit_id, scope.level, title, total), indicators, period),
                      [_evaluate(r, indicators, period) for r in rows])


def _team_build(db: sqlite_utils.Database, scope: Scope, period: Period, indicators: Indicators | None) -> UnitReport:
    team_id = scope.unit_id
    assert team_id is not None  # a team scope always names its team (scope.for_member, find_scopes)
    name_row = db.execute("SELECT name FROM teams WHERE id = ?", [team_id]).fetchone()
    title = name_row[0] if name_row else f"Tổ {team_id}"
    per_member = tally(db, scope, period, "member")
    names = dict(db.execute("SELECT id, display_name FROM members WHERE team_id = ? OR id IN "
                            f"({','.join(str(int(k)) for k in per_member) or 'NULL'})", [team_id]).fetchall())
    active = {r[0] for r in db.execute("SELECT id FROM members WHERE team_id = ? AND active = 1 "
                                       "AND role IN ('member', 'leader')", [team_id]).fetchall()}
    rows = [Row(mid, "member", names.get(mid, f"#{mid}"), per_member.get(mid, Numbers()))
            for mid in sorted(set(per_member) | active, key=lambda m: names.get(m, ""))]
    total = Numbers()
    for row in rows:
        total.add(row.numbers, population=False)
    total.add_population(*_team_population(db, scope).get(team_id, (None, None, None)))
    rows.sort(key=lambda r: (-r.numbers.records, r.name))
    return UnitReport(scope, title, period, _evaluate(Row(team_id, "team", title, total), indicators, period),
                      [_evaluate(r, indicators, period) for r in rows])


# --- rendering --------------------------------------------------------------------------------------

def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "chưa có số liệu"
    if unit == "%":
        return f"{value:.1f}%".replace(".", ",")
    return f"{value:,.0f}".replace(",", ".") + f" {unit}"


def render(report: UnitReport, indicators: Indicators | None = None, max_parts: int = 30) -> str:
    """A phone-sized text: totals, indicators with targets, then one line per unit one level down."""
    t = report.totals.numbers
    lines = [f"📊 Báo cáo {report.title}, {report.period.label}",
             f"Lượt hỗ trợ: {t.records}. Số hộ được hỗ trợ: {t.households}. Số người được hỗ trợ: {t.people}."]
    if t.sessions:
        lines.append(f"Hoạt động: {sum(t.sessions.values())} buổi, {sum(t.attendees.values())} lượt người tham dự.")
    if t.population_households or t.population_adults:
        on = f" (số liệu ngày {vn_date(t.figures_on)})" if t.figures_on else ""
        households = fmt(t.population_households, "hộ") if t.population_households else "? hộ"
        adults = fmt(t.population_adults, "người") if t.population_adults else "? người"
        lines.append(f"Quy mô: {households}, {adults} từ 18 tuổi{on}.")
    if report.totals.indicators:
        lines.append("\nChỉ tiêu:")
        for i in report.totals.indicators:
            extra = ""
            if i.target is not None:
                pct = i.achieved_pct
                extra = f" / chỉ tiêu {fmt(i.target, i.unit)} ({i.target_label})" + (
                    f", đạt {pct:.0f}%" if pct is not None else "")
            lines.append(f"- {i.name}: {fmt(i.value, i.unit)}{extra}")
    level = LEVEL_NAMES.get(report.part_level, "")
    lines.append(f"\nTheo {level.lower()} (lượt / hộ / người):")
    for row in report.units[:max_parts]:
        n = row.numbers
        lines.append(f"- {row.name}: {n.records} / {n.households} / {n.people}")
    rest = report.units[max_parts:]
    if rest:
        lines.append(f"- {len(rest)} đơn vị khác: {sum(r.numbers.records for r in rest)} / "
                     f"{sum(r.numbers.households for r in rest)} / {sum(r.numbers.people for r in rest)}")
    if not report.units:
        lines.append("(chưa có đơn vị nào)")
    return "\n".join(lines)


# --- choosing a scope by name (CLI and chat) ----------------------------------------------------------

def find_scopes(db: sqlite_utils.Database, level: str, name: str, within: Scope | None = None) -> list[tuple[Scope, str]]:
    """Provinces, communes or teams called `name` (accents optional), kept inside `within` when given."""
    if level == "team":
        wanted = fold(name).strip()
        rows = db.execute("SELECT id, name FROM teams ORDER BY name").fetchall()
        exact = [(i, n) for i, n in rows if fold(n) == wanted]
        found = [(Scope("team", i), n) for i, n in (exact or [(i, n) for i, n in rows if wanted and wanted in fold(n)])]
    else:
        found = [(Scope(level, u.id), u.title) for u in find_units(db, level, name)]
    if within is not None:
        found = [(s, n) for s, n in found if within.within(s, db)]
    return found
