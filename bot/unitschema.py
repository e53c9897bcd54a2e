"""Schema steps of the units migrations (4: units, tallies, achievements, activities; 6: household spans),
run by `storage.MIGRATIONS`."""

from __future__ import annotations

import sqlite3

from .places import adopt_team_communes

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




def units_migration(conn: sqlite3.Connection) -> None:
    """Migration 4: the schema, then every existing team placed in the commune its text names."""
    for statement in MIGRATION_SQL:
        conn.execute(statement)
    adopt_team_communes(conn)


def spans_migration(conn: sqlite3.Connection) -> None:
    """Migration 6: household spans, filled from the records."""
    for statement in SPANS_SQL:
        conn.execute(statement)
