"""Administrative units: provinces and communes (xã / phường / đặc khu), teams placed in a commune,
and the denominators officials set (households, adults 18+, with the date of the figure).

Since 1/7/2025 local government has two tiers: province -> commune. A team works in one commune;
its villages (thôn / tổ dân phố) are in that commune. Data access only, no replies; every write runs
in `storage.transaction()` with an audit row.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

import sqlite_utils

from knowledge.normalize import fold

from .storage import Storage, new_row_id
from .teams import audit, iso

COMMUNE_TYPES = {"xa": "Xã", "phuong": "Phường", "dackhu": "Đặc khu"}
# What people put before a commune's name (folded), longest first so "dac khu" wins over a bare word.
_PREFIXES = (("dac khu", "dackhu"), ("phuong", "phuong"), ("xa", "xa"), ("p.", "phuong"), ("x.", "xa"))
MAX_NAME = 80
MAX_DENOMINATOR = 10_000_000

_TALLY_ADD = ("INSERT INTO tallies (team_id, month, services, achieved, records, people) "
              "SELECT NEW.team_id, substr(NEW.helped_on, 1, 7), NEW.services, NEW.achieved, 1, NEW.people "
              "WHERE NEW.deleted = 0 ON CONFLICT DO UPDATE SET records = records + 1, "
              "people = people + excluded.people;")
_TALLY_SUB = ("UPDATE tallies SET records = records - 1, people = people - OLD.people WHERE OLD.deleted = 0 "
              "AND team_id = OLD.team_id AND month = substr(OLD.helped_on, 1, 7) AND services = OLD.services "
              "AND achieved = OLD.achieved;")
TALLY_TRIGGERS = (
    f"CREATE TRIGGER records_tally_insert AFTER INSERT ON records BEGIN {_TALLY_ADD} END",
    f"CREATE TRIGGER records_tally_delete AFTER DELETE ON records BEGIN {_TALLY_SUB} END",
    "CREATE TRIGGER records_tally_update AFTER UPDATE OF team_id, helped_on, services, achieved, people, deleted "
    f"ON records BEGIN {_TALLY_SUB} {_TALLY_ADD} END",
)

# Per team and household: how many live records, and the first and last day helped. A household was
# helped in [start, end] when its first or last day falls inside; when both lie outside on either
# side, one index seek into the records decides. A province's year reads ~400 rows per team instead
# of every record (migration 6). Kept by triggers, in the same transaction as the record.
def _span_refresh(ref: str) -> str:
    pair = f"team_id = {ref}.team_id AND household_id = {ref}.household_id"
    return ("INSERT INTO household_spans (team_id, household_id, records, first_on, last_on) "
            f"SELECT {ref}.team_id, {ref}.household_id, count(*), min(helped_on), max(helped_on) FROM records "
            f"WHERE {pair} AND deleted = 0 ON CONFLICT DO UPDATE SET records = excluded.records, "
            "first_on = excluded.first_on, last_on = excluded.last_on; "
            f"DELETE FROM household_spans WHERE {pair} AND records = 0;")


SPANS_SQL = (
    "CREATE INDEX records_household_span ON records(household_id, team_id, deleted, helped_on)",
    """CREATE TABLE household_spans (
        team_id INTEGER NOT NULL,
        household_id INTEGER NOT NULL,
        records INTEGER NOT NULL,        -- live (not deleted) records of the household by the team
        first_on TEXT,                   -- YYYY-MM-DD: first and last day helped
        last_on TEXT,
        UNIQUE (team_id, household_id)
    )""",
    # A report reads only this index (no table lookups).
    "CREATE INDEX household_spans_period ON household_spans(team_id, first_on, last_on, household_id)",
    f"CREATE TRIGGER records_span_insert AFTER INSERT ON records BEGIN {_span_refresh('NEW')} END",
    f"CREATE TRIGGER records_span_delete AFTER DELETE ON records BEGIN {_span_refresh('OLD')} END",
    "CREATE TRIGGER records_span_update AFTER UPDATE OF team_id, household_id, helped_on, deleted ON records "
    f"BEGIN {_span_refresh('OLD')} {_span_refresh('NEW')} END",
    "INSERT INTO household_spans (team_id, household_id, records, first_on, last_on) "
    "SELECT team_id, household_id, count(*), min(helped_on), max(helped_on) FROM records WHERE deleted = 0 "
    "GROUP BY 1, 2",
)

# Schema of the units migration (run by storage.MIGRATIONS, then `adopt_team_communes`).
MIGRATION_SQL = (
    """CREATE TABLE units (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,              -- province | commune
        name TEXT NOT NULL,              -- a commune's bare name ("Xuân Thượng"), a province's full one
        commune_type TEXT,               -- xa | phuong | dackhu (communes only)
        parent_id INTEGER REFERENCES units(id),  -- a commune's province (NULL until an admin sets it)
        key TEXT NOT NULL,               -- accent-free name, for lookups
        households INTEGER,              -- denominators set by officials
        adults INTEGER,
        figures_on TEXT,                 -- YYYY-MM-DD: the date of the figures
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX units_parent ON units(parent_id, kind)",
    "CREATE INDEX units_key ON units(kind, key)",
    "ALTER TABLE teams ADD COLUMN commune_id INTEGER REFERENCES units(id)",
    "CREATE INDEX teams_commune ON teams(commune_id)",
    "ALTER TABLE villages ADD COLUMN adults INTEGER",
    "ALTER TABLE villages ADD COLUMN figures_on TEXT",
    # Province and commune officials belong to a unit, not a team.
    "ALTER TABLE members ADD COLUMN unit_id INTEGER REFERENCES units(id)",
    # Invites for officials name a unit instead of a team: team_id becomes optional (table rebuilt).
    """CREATE TABLE invites_new (
        code TEXT PRIMARY KEY,
        team_id INTEGER REFERENCES teams(id),
        unit_id INTEGER REFERENCES units(id),
        role TEXT NOT NULL DEFAULT 'member',
        created_by INTEGER REFERENCES members(id),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        max_uses INTEGER NOT NULL DEFAULT 1,
        uses INTEGER NOT NULL DEFAULT 0
    )""",
    "INSERT INTO invites_new (code, team_id, role, created_by, created_at, expires_at, max_uses, uses) "
    "SELECT code, team_id, role, created_by, created_at, expires_at, max_uses, uses FROM invites",
    "DROP TABLE invites",
    "ALTER TABLE invites_new RENAME TO invites",
    # People helped in the household (a record was one household, whoever in it was helped), and what
    # was achieved as "code:count,code:count" (like `services`, a copy of record_achievements kept on
    # the row so roll-ups read one index instead of joining millions of rows).
    "ALTER TABLE records ADD COLUMN people INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE records ADD COLUMN achieved TEXT NOT NULL DEFAULT ''",
    """CREATE TABLE record_achievements (
        record_id INTEGER NOT NULL REFERENCES records(id),
        achievement TEXT NOT NULL,       -- a code from knowledge/indicators.yaml `achievements`
        count INTEGER NOT NULL,          -- people or accounts
        PRIMARY KEY (record_id, achievement)
    )""",
    """CREATE TABLE activities (
        id INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL UNIQUE,
        team_id INTEGER NOT NULL REFERENCES teams(id),
        member_id INTEGER REFERENCES members(id),
        kind TEXT NOT NULL,              -- a code from knowledge/indicators.yaml `activities`
        held_on TEXT NOT NULL,           -- YYYY-MM-DD
        village_id INTEGER REFERENCES villages(id),
        attendees INTEGER NOT NULL,
        note TEXT,
        created_at TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX activities_team_date ON activities(team_id, held_on)",
    # Roll-ups read only this index for a team's period (no table lookups).
    "CREATE INDEX records_rollup ON records(team_id, helped_on, deleted, household_id, people, member_id, "
    "services, achieved)",
    # Monthly tallies per team, kept by triggers in the same transaction as the record: a province's
    # quarter or year reads thousands of tally rows instead of grouping millions of records.
    """CREATE TABLE tallies (
        team_id INTEGER NOT NULL,
        month TEXT NOT NULL,             -- YYYY-MM of helped_on
        services TEXT NOT NULL,
        achieved TEXT NOT NULL,
        records INTEGER NOT NULL,
        people INTEGER NOT NULL,
        PRIMARY KEY (team_id, month, services, achieved)
    )""",
    *TALLY_TRIGGERS,
    "INSERT INTO tallies (team_id, month, services, achieved, records, people) "
    "SELECT team_id, substr(helped_on, 1, 7), services, achieved, count(*), sum(people) FROM records "
    "WHERE deleted = 0 GROUP BY 1, 2, 3, 4",
)


@dataclass(frozen=True)
class Unit:
    id: int
    kind: str  # province | commune
    name: str
    commune_type: str | None
    parent_id: int | None

    @property
    def title(self) -> str:
        """'Xã Xuân Thượng', 'Phường An Cựu', or the province's name as stored."""
        if self.kind == "commune":
            return f"{COMMUNE_TYPES.get(self.commune_type or 'xa', 'Xã')} {self.name}"
        return self.name


_UNIT_SQL = "SELECT id, kind, name, commune_type, parent_id FROM units"


def split_commune(text: str) -> tuple[str, str]:
    """'Xã Xuân Thượng' -> ('xa', 'Xuân Thượng'); 'Phường An Cựu' -> ('phuong', 'An Cựu'); no prefix: 'xa'."""
    clean = " ".join(text.split())[:MAX_NAME]
    folded = fold(clean)
    for prefix, kind in _PREFIXES:
        if folded.startswith(prefix + " ") or (prefix.endswith(".") and folded.startswith(prefix)):
            rest = clean[len(prefix):].strip(" .")
            if rest:
                return kind, rest
    return "xa", clean


def unit_key(name: str) -> str:
    return " ".join(fold(name).split())


def province_key(name: str) -> str:
    """'Tỉnh Lào Cai' and 'Lào Cai' are the same province."""
    key = unit_key(name)
    for prefix in ("tinh ", "thanh pho ", "tp "):
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def get_unit(db: sqlite_utils.Database | sqlite3.Connection, unit_id: int | None) -> Unit | None:
    if unit_id is None:
        return None
    row = db.execute(_UNIT_SQL + " WHERE id = ?", [unit_id]).fetchone()
    return Unit(*row) if row else None


def provinces(db: sqlite_utils.Database) -> list[Unit]:
    return [Unit(*r) for r in db.execute(_UNIT_SQL + " WHERE kind = 'province' ORDER BY name").fetchall()]


def communes(db: sqlite_utils.Database, province_id: int | None = None, orphans: bool = False) -> list[Unit]:
    """Communes of a province (all communes when None; those without a province when `orphans`)."""
    if orphans:
        rows = db.execute(_UNIT_SQL + " WHERE kind = 'commune' AND parent_id IS NULL ORDER BY key").fetchall()
    elif province_id is None:
        rows = db.execute(_UNIT_SQL + " WHERE kind = 'commune' ORDER BY key").fetchall()
    else:
        rows = db.execute(_UNIT_SQL + " WHERE kind = 'commune' AND parent_id = ? ORDER BY key",
                          [province_id]).fetchall()
    return [Unit(*r) for r in rows]


def find_units(db: sqlite_utils.Database, kind: str, name: str, province_id: int | None = None) -> list[Unit]:
    """Units of `kind` matching `name` (accents and the 'xã/phường/tỉnh' prefix optional): exact key first."""
    if kind == "commune":
        wanted = unit_key(split_commune(name)[1])
    else:
        wanted = province_key(name)
    if not wanted:
        return []
    sql = _UNIT_SQL + " WHERE kind = ?"
    args: list[str | int] = [kind]
    if province_id is not None:
        sql += " AND parent_id = ?"
        args.append(province_id)
    rows = [Unit(*r) for r in db.execute(sql + " ORDER BY key", args).fetchall()]
    keyed = [(province_key(u.name) if kind == "province" else unit_key(u.name), u) for u in rows]
    exact = [u for k, u in keyed if k == wanted]
    return exact or [u for k, u in keyed if wanted in k]


def _only_province(conn: sqlite3.Connection) -> int | None:
    rows = conn.execute("SELECT id FROM units WHERE kind = 'province' LIMIT 2").fetchall()
    return rows[0][0] if len(rows) == 1 else None


def commune_in(conn: sqlite3.Connection, text: str, province_id: int | None, now: dt.datetime,
               actor: int | None, audited: bool = True) -> int:
    """The commune called `text` (in `province_id`, or anywhere when None); created when missing."""
    ctype, name = split_commune(text)
    key = unit_key(name)
    sql = "SELECT id FROM units WHERE kind = 'commune' AND key = ?"
    args: list[str | int] = [key]
    if province_id is not None:
        sql += " AND (parent_id = ? OR parent_id IS NULL) ORDER BY parent_id IS NULL"
        args.append(province_id)
    row = conn.execute(sql, args).fetchone()
    if row is not None:
        if province_id is not None:
            conn.execute("UPDATE units SET parent_id = ? WHERE id = ? AND parent_id IS NULL", (province_id, row[0]))
        return int(row[0])
    parent = province_id if province_id is not None else _only_province(conn)
    unit_id = new_row_id(conn.execute(
        "INSERT INTO units (kind, name, commune_type, parent_id, key, created_at) VALUES ('commune', ?, ?, ?, ?, ?)",
        (name, ctype, parent, key, iso(now))))
    if audited:
        audit(conn, now, actor, "units", unit_id, "create", None,
              {"kind": "commune", "name": name, "commune_type": ctype, "parent_id": parent})
    return unit_id


def adopt_team_communes(conn: sqlite3.Connection, now: dt.datetime | None = None) -> int:
    """Give every team without a commune the commune named in its `commune` text (created if new).

    Run by the units migration for existing teams: a schema upgrade, recorded in schema_version, not
    an edit by anyone, so it writes no audit rows (the audit trail keeps what people did). Returns
    the number of teams placed."""
    now = now or dt.datetime.now(dt.UTC)
    placed = 0
    for team_id, text in conn.execute("SELECT id, commune FROM teams WHERE commune_id IS NULL").fetchall():
        if not (text or "").strip():
            continue
        commune_id = commune_in(conn, text, None, now, None, audited=False)
        conn.execute("UPDATE teams SET commune_id = ? WHERE id = ?", (commune_id, team_id))
        placed += 1
    return placed


def create_province(storage: Storage, name: str, actor: int | None, now: dt.datetime,
                    adopt_orphans: bool = True) -> tuple[int, int]:
    """A province (or the existing one of that name); communes without a province join it when
    `adopt_orphans`. Returns (province id, communes adopted)."""
    name = " ".join(name.split())[:MAX_NAME]
    key = province_key(name)
    if not key:
        raise ValueError("empty province name")
    with storage.transaction() as conn:
        row = conn.execute("SELECT id FROM units WHERE kind = 'province' AND key = ?", (key,)).fetchone()
        if row is None:
            province_id = new_row_id(conn.execute(
                "INSERT INTO units (kind, name, key, created_at) VALUES ('province', ?, ?, ?)",
                (name, key, iso(now))))
            audit(conn, now, actor, "units", province_id, "create", None, {"kind": "province", "name": name})
        else:
            province_id = int(row[0])
        adopted = 0
        if adopt_orphans:
            for (cid,) in conn.execute("SELECT id FROM units WHERE kind = 'commune' AND parent_id IS NULL").fetchall():
                conn.execute("UPDATE units SET parent_id = ? WHERE id = ?", (province_id, cid))
                audit(conn, now, actor, "units", cid, "update", {"parent_id": None}, {"parent_id": province_id})
                adopted += 1
    return province_id, adopted


def create_commune(storage: Storage, province_id: int | None, text: str, actor: int | None,
                   now: dt.datetime) -> int:
    """The commune called `text` in the province (found or created)."""
    if not split_commune(text)[1].strip():
        raise ValueError("empty commune name")
    with storage.transaction() as conn:
        return commune_in(conn, text, province_id, now, actor)


def place_team(storage: Storage, team_id: int, commune_id: int, actor: int | None, now: dt.datetime) -> bool:
    """Move a team into a commune (the one-time admin command for teams the migration could not place)."""
    commune = get_unit(storage.db, commune_id)
    if commune is None or commune.kind != "commune":
        return False
    with storage.transaction() as conn:
        row = conn.execute("SELECT commune_id FROM teams WHERE id = ?", (team_id,)).fetchone()
        if row is None:
            return False
        conn.execute("UPDATE teams SET commune_id = ?, commune = ? WHERE id = ?",
                     (commune_id, commune.title, team_id))
        audit(conn, now, actor, "teams", team_id, "update", {"commune_id": row[0]}, {"commune_id": commune_id})
    return True


def commune_of_team(db: sqlite_utils.Database, team_id: int) -> Unit | None:
    row = db.execute("SELECT commune_id FROM teams WHERE id = ?", [team_id]).fetchone()
    return get_unit(db, row[0]) if row else None


def teams_of_commune(db: sqlite_utils.Database, commune_id: int) -> list[tuple[int, str]]:
    return [tuple(r) for r in db.execute("SELECT id, name FROM teams WHERE commune_id = ? ORDER BY name",
                                         [commune_id]).fetchall()]


# --- denominators -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Denominators:
    households: int | None
    adults: int | None
    figures_on: str | None  # the oldest date among the figures summed


def set_denominators(storage: Storage, table: str, row_id: int, households: int | None, adults: int | None,
                     figures_on: dt.date, actor: int | None, now: dt.datetime) -> bool:
    """Households and adults (18+) of a village or a commune, as of `figures_on`. None keeps a value."""
    if table not in ("villages", "units"):
        raise ValueError(table)
    for value in (households, adults):
        if value is not None and not 0 <= value <= MAX_DENOMINATOR:
            raise ValueError("denominator out of range")
    with storage.transaction() as conn:
        row = conn.execute(f"SELECT households, adults, figures_on FROM {table} WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            return False
        after = {"households": row[0] if households is None else households,
                 "adults": row[1] if adults is None else adults, "figures_on": figures_on.isoformat()}
        conn.execute(f"UPDATE {table} SET households = ?, adults = ?, figures_on = ? WHERE id = ?",
                     (after["households"], after["adults"], after["figures_on"], row_id))
        audit(conn, now, actor, table, row_id, "update",
              {"households": row[0], "adults": row[1], "figures_on": row[2]}, after)
    return True
