"""Provinces and communes as rows: the `Unit` type, names as people type them, and finding or creating a
commune. The lowest layer of units (teams, reports and the units migration use it; bot/units.py builds
the officials' operations on top)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

import sqlite_utils

from knowledge.normalize import fold

from .audit import audit
from .clock import iso

COMMUNE_TYPES = {"xa": "Xã", "phuong": "Phường", "dackhu": "Đặc khu"}
# What people put before a commune's name (folded), longest first so "dac khu" wins over a bare word.
_PREFIXES = (("dac khu", "dackhu"), ("phuong", "phuong"), ("xa", "xa"), ("p.", "phuong"), ("x.", "xa"))
MAX_NAME = 80


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


UNIT_SQL = "SELECT id, kind, name, commune_type, parent_id FROM units"


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
    row = db.execute(UNIT_SQL + " WHERE id = ?", [unit_id]).fetchone()
    return Unit(*row) if row else None


def _only_province(conn: sqlite3.Connection) -> int | None:
    rows = conn.execute("SELECT id FROM units WHERE kind = 'province' LIMIT 2").fetchall()
    return rows[0][0] if len(rows) == 1 else None


def commune_in(conn: sqlite3.Connection, text: str, province_id: int | None, now: dt.datetime,
               actor: int | None, audited: bool = True) -> int:
    """The commune called `text` (in `province_id`, or anywhere when None); created when missing."""
    ctype, name = split_commune(text)
    key = unit_key(name)
    sql = "SELECT id FROM units WHERE kind = 'commune' AND key = ?"
    args_: list[object] = [key]
    if province_id is not None:
        sql += " AND (parent_id = ? OR parent_id IS NULL) ORDER BY parent_id IS NULL"
        args_.append(province_id)
    row = conn.execute(sql, args_).fetchone()
    if row is not None:
        if province_id is not None and conn.execute("UPDATE units SET parent_id = ? WHERE id = ? AND parent_id IS NULL",
                                                    (province_id, row[0])).rowcount and audited:
            audit(conn, now, actor, "units", row[0], "update", {"parent_id": None}, {"parent_id": province_id})
        return int(row[0])
    parent = province_id if province_id is not None else _only_province(conn)
    unit_id = conn.execute(
        "INSERT INTO units (kind, name, commune_type, parent_id, key, created_at) VALUES ('commune', ?, ?, ?, ?, ?)",
        (name, ctype, parent, key, iso(now))).lastrowid
    if unit_id is None:
        raise sqlite3.ProgrammingError("the commune was not inserted")
    if audited:
        audit(conn, now, actor, "units", unit_id, "create", None,
              {"kind": "commune", "name": name, "commune_type": ctype, "parent_id": parent})
    return int(unit_id)


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


