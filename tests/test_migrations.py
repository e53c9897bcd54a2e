"""Versioned schema migrations: a database from release 2101cf2 upgrades to the newest schema losing
nothing, every step is one transaction with a verified backup first, and a newer database is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bot import backup, reports, storage
from bot.access import Admin
from bot.app import compose
from bot.assist import catalogue
from bot.storage import SchemaError, Storage
from bot.web import auth
from tests.releasedb import build, snapshot

TODAY = dt.date(2026, 11, 30)

# A later migration of the kind the next features need: a table rebuilt (SQLite's 12-step way, since a
# column type cannot be altered) plus a new column and index. Used to prove the mechanism, appended to
# whatever the newest real schema is.
REBUILD_HOUSEHOLDS = """
    CREATE TABLE households_new (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id),
        village_id INTEGER NOT NULL REFERENCES villages(id),
        head_name TEXT NOT NULL,
        head_key TEXT NOT NULL,
        phone_last3 TEXT,
        erased INTEGER NOT NULL DEFAULT 0,
        created_by INTEGER REFERENCES members(id),
        created_at TEXT NOT NULL,
        note_tag TEXT NOT NULL DEFAULT 'x;y'   -- a ';' inside a string must not split the statement
    );
    INSERT INTO households_new (id, team_id, village_id, head_name, head_key, phone_last3, erased, created_by,
                                created_at)
        SELECT id, team_id, village_id, head_name, head_key, phone_last3, erased, created_by, created_at
        FROM households;
    DROP TABLE households;
    ALTER TABLE households_new RENAME TO households;
    CREATE INDEX households_village ON households(team_id, village_id);
    CREATE TRIGGER households_key AFTER UPDATE OF head_name ON households BEGIN
        UPDATE households SET head_key = lower(new.head_name) WHERE id = new.id;
    END;
"""


def team_totals(db, team_id: int) -> dict:
    """What the leaders' report says about a team over all time, via the real report code."""
    period = reports.parse_period("tatca", TODAY)
    report = reports.team_report(db, team_id, period, catalogue(), TODAY)
    return {"records": report.records, "households": report.households, "by_outcome": report.by_outcome,
            "services": {label: n for label, n in report.by_service},
            "members": sorted(n for _, n, _ in report.by_member),
            "villages": sorted(n for _, n, _, _ in report.by_village),
            "followups_open": report.followups_open}


def expected_totals(expected, team_id: int) -> dict:
    labels = {s.code: s.label for s in catalogue().services}
    return {"records": expected.records[team_id], "households": len(expected.households[team_id]),
            "by_outcome": dict(expected.by_outcome[team_id]),
            "services": {labels[c]: n for c, n in expected.by_service[team_id].items()},
            "members": sorted(expected.by_member[team_id].values()),
            "villages": sorted(expected.by_village[team_id].values()),
            "followups_open": expected.followups_open[team_id]}


def assert_rows_survived(before: dict, after: dict) -> None:
    """Every old table still holds every old row, column for column (new columns may be added)."""
    for table, (columns, rows) in before.items():
        assert table in after, f"table {table} disappeared"
        new_columns, new_rows = after[table]
        missing = [c for c in columns if c not in new_columns]
        assert not missing, f"{table} lost columns {missing}"
        picked = [tuple(row[new_columns.index(c)] for c in columns) for row in new_rows]
        if table == "schema_version":  # upgrades add their own rows
            picked = [row for row in picked if row in rows]
        assert sorted(picked, key=repr) == sorted(rows, key=repr), f"rows of {table} changed"


@pytest.fixture
def release_db(tmp_path: Path):
    path = tmp_path / "data" / "tcns.db"
    path.parent.mkdir()
    expected = build(path)
    return path, expected


def test_fixture_is_the_release_schema():
    """The fixture's DDL is the one release 2101cf2 shipped, and it is this code's version 1."""
    text = (Path(__file__).parent / "fixtures" / "schema_2101cf2.sql").read_text(encoding="utf-8")
    first = storage.MIGRATIONS[0]
    assert isinstance(first, str) and first.strip() in text


def test_upgrade_from_release_keeps_every_row_and_total(release_db):
    path, expected = release_db
    before = snapshot(path)
    assert sum(len(rows) for _, rows in before.values()) > 2000  # realistic, not a token row or two
    store = Storage(path, backup_dir=path.parent / "backups")
    try:
        assert store.version == storage.latest_version()
        assert_rows_survived(before, snapshot(path))
        for team_id in (1, 2, 3):
            assert expected.records[team_id] > 50
            assert team_totals(store.db, team_id) == expected_totals(expected, team_id)
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()


def test_a_new_step_runs_in_a_transaction_after_a_verified_backup(release_db, monkeypatch):
    path, expected = release_db
    before = snapshot(path)
    newest = storage.latest_version()
    # Bring it to the newest real schema first, then add one more step, as the next release will.
    Storage(path).close()
    monkeypatch.setattr(storage, "MIGRATIONS", [*storage.MIGRATIONS, REBUILD_HOUSEHOLDS])
    store = Storage(path, backup_dir=path.parent / "backups")
    try:
        assert store.version == newest + 1
        columns = [r[1] for r in store.db.execute("PRAGMA table_info(households)")]
        assert columns[-1] == "note_tag"
        assert store.db.execute("SELECT DISTINCT note_tag FROM households").fetchall() == [("x;y",)]
        assert_rows_survived(before, snapshot(path))
        for team_id in (1, 2, 3):
            assert team_totals(store.db, team_id) == expected_totals(expected, team_id)
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        # The trigger (a statement with ';' inside BEGIN ... END) arrived whole.
        with store.transaction() as conn:
            conn.execute("UPDATE households SET head_name = 'Lê Văn Tám' WHERE id = 1")
        assert store.db.execute("SELECT head_key FROM households WHERE id = 1").fetchone()[0] == "lê văn tám"
    finally:
        store.close()
    [copy] = (path.parent / "backups").glob(f"tcns-pre-v{newest}-*.db")
    check = backup.verify(copy)
    assert check.ok and check.version == newest
    assert copy.stat().st_mode & 0o777 == 0o600
    assert_rows_survived(before, snapshot(copy))


def test_a_failing_step_leaves_the_previous_version(release_db, monkeypatch):
    path, _ = release_db
    Storage(path).close()
    newest = storage.latest_version()
    before = snapshot(path)
    bad = "CREATE TABLE half_done (id INTEGER PRIMARY KEY); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(storage, "MIGRATIONS", [*storage.MIGRATIONS, bad])
    with pytest.raises(sqlite3.OperationalError):
        Storage(path)
    after = snapshot(path)
    assert "half_done" not in after and after == before
    monkeypatch.setattr(storage, "MIGRATIONS", storage.MIGRATIONS[:newest])
    Storage(path).close()  # still opens at the old version


def test_a_step_that_breaks_references_is_refused(release_db, monkeypatch):
    path, _ = release_db
    Storage(path).close()
    before = snapshot(path)
    monkeypatch.setattr(storage, "MIGRATIONS", [*storage.MIGRATIONS, "DELETE FROM teams WHERE id = 1;"])
    with pytest.raises(SchemaError, match="liên kết"):
        Storage(path)
    assert snapshot(path) == before


def test_a_newer_database_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "tcns.db"
    Storage(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (storage.latest_version() + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError) as err:
        Storage(path)
    message = str(err.value)
    assert f"phiên bản {storage.latest_version() + 1}" in message and "mới hơn" in message
    assert "python -m bot restore" in message


def test_the_cli_refuses_a_newer_database(tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    path = tmp_path / "tcns.db"
    Storage(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (storage.latest_version() + 5,))
    conn.commit()
    conn.close()
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    assert "mới hơn" in capsys.readouterr().err


def test_a_new_database_gets_no_backup(tmp_path):
    Storage(tmp_path / "tcns.db", backup_dir=tmp_path / "backups").close()
    assert not (tmp_path / "backups").exists()


def test_statements_split_only_between_statements():
    script = "CREATE TABLE a (x TEXT DEFAULT ';'); -- a comment; with a semicolon\nINSERT INTO a VALUES ('1;2');"
    assert [s.strip() for s in storage.statements(script)] == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "-- a comment; with a semicolon\nINSERT INTO a VALUES ('1;2');"]
    with pytest.raises(ValueError):
        list(storage.statements("CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1;"))


def test_the_redelivery_prune_uses_an_index(tmp_path: Path):
    """Every channel prunes its old message ids every few hundred messages; a full scan there grows with the
    table and stalls the event loop (migration 7)."""
    store = Storage(tmp_path / "bot.db")
    plan = store.db.execute("EXPLAIN QUERY PLAN DELETE FROM seen_messages WHERE key LIKE ? AND at < ?",
                            ("telegram:%", "2026-11-30")).fetchall()
    assert any("USING INDEX seen_messages_at" in row[-1] for row in plan), plan
    at = dt.datetime(2026, 11, 30, 8, 0)
    assert store.first_delivery("telegram", "1", at - dt.timedelta(days=3))
    assert store.first_delivery("telegram", "2", at, prune_before=at - dt.timedelta(days=1))
    assert not store.seen("telegram", "1") and store.seen("telegram", "2")


def test_the_session_prune_uses_an_index(tmp_path: Path):
    """Conversation states are pruned every PRUNE_EVERY saves, on the event loop: a full scan there grows
    with the number of people (migration 9)."""
    store = Storage(tmp_path / "bot.db")
    plan = store.db.execute("EXPLAIN QUERY PLAN DELETE FROM sessions WHERE updated_at < ?", ("2026-06-01",)).fetchall()
    assert any("USING INDEX sessions_updated" in row[-1] for row in plan), plan
    now = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    store.save_session("telegram:1", {"topic": "a"}, now - dt.timedelta(days=Storage.SESSION_DAYS + 1))
    store.save_session("telegram:2", {"topic": "b"}, now)
    assert store.prune_sessions(now) == 1
    assert store.load_session("telegram:1") == {} and store.load_session("telegram:2") == {"topic": "b"}


def test_migration_8_keeps_web_sessions_and_an_admin_holds_null(release_db, monkeypatch, settings, small_kb):
    """Sessions written by version 7 (an admin without a member row stored as member_id 0) survive the table
    rebuild: the 0 becomes NULL, the column takes NULL, and both sessions still sign in."""
    path, expected = release_db
    newest = storage.MIGRATIONS
    monkeypatch.setattr(storage, "MIGRATIONS", newest[:7])
    Storage(path).close()
    now = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    sessions = {"cookie-of-a-leader": ("telegram:700001", 1), "cookie-of-an-admin": ("zalo:quantri", 0)}
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 7
    conn.executemany("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?, ?)", [
        (hashlib.sha256(cookie.encode()).hexdigest(), key, member, cookie[-6:].ljust(32, "0"),
         now.isoformat(timespec="seconds"), (now + dt.timedelta(hours=12)).isoformat(timespec="seconds"))
        for cookie, (key, member) in sessions.items()])
    conn.commit()
    conn.close()
    before = snapshot(path)
    monkeypatch.setattr(storage, "MIGRATIONS", newest)
    store = Storage(path, backup_dir=path.parent / "backups")
    try:
        assert store.version == storage.latest_version() >= 8
        after = snapshot(path)
        columns, rows = before.pop("web_sessions")
        new_columns, new_rows = after.pop("web_sessions")
        assert new_columns == columns
        member = columns.index("member_id")
        assert sorted(new_rows) == sorted(row[:member] + (row[member] or None,) + row[member + 1:] for row in rows)
        assert sorted(row[member] for row in new_rows if row[member] is not None) == [1]
        assert_rows_survived(before, after)
        for team_id in (1, 2, 3):
            assert team_totals(store.db, team_id) == expected_totals(expected, team_id)
        notnull = {r[1]: r[3] for r in store.db.execute("PRAGMA table_info(web_sessions)")}
        assert notnull["member_id"] == 0 and notnull["user_key"] == 1
        plan = store.db.execute("EXPLAIN QUERY PLAN DELETE FROM web_sessions WHERE member_id = ?", [1]).fetchall()
        assert any("web_sessions_member" in row[-1] for row in plan), plan
        deps = compose(settings=replace(settings, admin_ids=frozenset({"zalo:quantri"})), storage=store,
                       kb=small_kb, clock=lambda: now + dt.timedelta(hours=1))
        leader = auth.viewer_from_cookie(deps, "cookie-of-a-leader")
        admin = auth.viewer_from_cookie(deps, "cookie-of-an-admin")
        assert leader is not None and leader.member.id == 1 and leader.member.role == "leader"
        assert admin is not None and admin.member == Admin()
    finally:
        store.close()
