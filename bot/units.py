"""Administrative units: provinces and communes (xã / phường / đặc khu), teams placed in a commune,
and the denominators officials set (households, adults 18+, with the date of the figure).

Since 1/7/2025 local government has two tiers: province -> commune. A team works in one commune;
its villages (thôn / tổ dân phố) are in that commune. Data access only, no replies; every write runs
in `storage.transaction()` with an audit row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from .audit import audit
from .clock import iso
from .places import (
    MAX_NAME,
    UNIT_SQL,
    Unit,
    commune_in,
    get_unit,
    province_key,
    split_commune,
    unit_key,
)
from .scope import Scope
from .storage import Storage, new_row_id

MAX_DENOMINATOR = 10_000_000



def provinces(db: sqlite_utils.Database) -> list[Unit]:
    return [Unit(*r) for r in db.execute(UNIT_SQL + " WHERE kind = 'province' ORDER BY name").fetchall()]


def communes(db: sqlite_utils.Database, province_id: int | None = None, orphans: bool = False) -> list[Unit]:
    """Communes of a province (all communes when None; those without a province when `orphans`)."""
    if orphans:
        rows = db.execute(UNIT_SQL + " WHERE kind = 'commune' AND parent_id IS NULL ORDER BY key").fetchall()
    elif province_id is None:
        rows = db.execute(UNIT_SQL + " WHERE kind = 'commune' ORDER BY key").fetchall()
    else:
        rows = db.execute(UNIT_SQL + " WHERE kind = 'commune' AND parent_id = ? ORDER BY key",
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
    sql = UNIT_SQL + " WHERE kind = ?"
    args: list[str | int] = [kind]
    if province_id is not None:
        sql += " AND parent_id = ?"
        args.append(province_id)
    rows = [Unit(*r) for r in db.execute(sql + " ORDER BY key", args).fetchall()]
    keyed = [(province_key(u.name) if kind == "province" else unit_key(u.name), u) for u in rows]
    exact = [u for k, u in keyed if k == wanted]
    return exact or [u for k, u in keyed if wanted in k]


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


def teams_without_commune(db: sqlite_utils.Database) -> list[str]:
    """Names of the teams the units migration could not place in a commune."""
    return [row["name"] for row in db.table("teams").rows_where("commune_id IS NULL", select="name", order_by="name")]


def villages_in(db: sqlite_utils.Database, scope: Scope) -> list[tuple[int, str]]:
    """(id, name) of the villages of every team in scope, by name."""
    where, params = scope.teams("team_id")
    return [(row["id"], row["name"]) for row in
            db.table("villages").rows_where(where, params, select="id, name", order_by="name")]


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
