"""What a person may read: one scope per role, used by every report, export, chart, inbox and roll-up.

admin -> everything; province official -> every team of every commune of the province; commune
official -> every team of the commune; team leader -> the team; member -> nothing beyond their own
records (which the record commands fetch by member id). Domain queries take a `Scope` and put
`scope.teams(column)` in their WHERE clause, so no handler re-implements the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from .access import NOT_LEADER, Actor, Gate

LEVELS = ("all", "province", "commune", "team", "none")


@dataclass(frozen=True)
class Scope:
    level: str  # all | province | commune | team | none
    unit_id: int | None = None  # the province, commune or team id

    def teams(self, column: str = "r.team_id") -> tuple[str, list]:
        """A WHERE fragment keeping rows whose `column` is a team in scope."""
        if self.level == "all":
            return "1 = 1", []
        if self.level == "province":
            return (f"{column} IN (SELECT t.id FROM teams t JOIN units c ON c.id = t.commune_id "
                    f"WHERE c.parent_id = ?)", [self.unit_id])
        if self.level == "commune":
            return f"{column} IN (SELECT t.id FROM teams t WHERE t.commune_id = ?)", [self.unit_id]
        if self.level == "team":
            return f"{column} = ?", [self.unit_id]
        return "0 = 1", []

    def team_ids(self, db: sqlite_utils.Database) -> list[int]:
        where, params = self.teams("teams.id")
        return [r[0] for r in db.execute(f"SELECT id FROM teams WHERE {where} ORDER BY id", params).fetchall()]

    def has_team(self, db: sqlite_utils.Database, team_id: int) -> bool:
        where, params = self.teams("teams.id")
        return db.execute(f"SELECT 1 FROM teams WHERE id = ? AND {where}", [team_id, *params]).fetchone() is not None

    def has_unit(self, db: sqlite_utils.Database, unit_id: int) -> bool:
        """A province or commune is in scope when it is (or is inside) the scope's unit."""
        row = db.execute("SELECT kind, parent_id FROM units WHERE id = ?", [unit_id]).fetchone()
        if row is None or self.level in ("team", "none"):
            return False
        kind, parent = row
        if self.level == "all":
            return True
        if self.level == "province":
            return unit_id == self.unit_id or (kind == "commune" and parent == self.unit_id)
        return kind == "commune" and unit_id == self.unit_id

    def within(self, other: Scope, db: sqlite_utils.Database) -> bool:
        """True when `other` (a report someone asks for) lies inside this scope."""
        if other.level == "team":
            return self.has_team(db, other.unit_id or 0)
        if other.level in ("commune", "province"):
            return self.has_unit(db, other.unit_id or 0)
        return other.level == "all" and self.level == "all"  # 'none' is never asked for


def for_member(member: Actor | None) -> Scope:
    """The widest scope a person may read."""
    if member is None:
        return Scope("none")
    if member.is_admin:
        return Scope("all")
    if member.role in ("province", "commune") and member.unit_id is not None:
        return Scope(member.role, member.unit_id)
    if member.role == "leader" and member.team_id is not None:
        return Scope("team", member.team_id)
    return Scope("none")


# The leaders' inbox (/chuatraloi, /gopy): whoever has a scope of teams (leaders, officials, admins).
INBOX_READERS = Gate(lambda who: for_member(who).level != "none", NOT_LEADER)
