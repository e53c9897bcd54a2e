"""Retention (Decree 13/2023): names and phone digits go after RETENTION_MONTHS, the counts stay."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from releasedb import build
from test_migrations import team_totals

from bot import maintenance, retention
from bot.config import Settings
from bot.core import Deps
from bot.storage import Storage

VN = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture
def store(tmp_path: Path):
    path = tmp_path / "tcns.db"
    build(path)
    s = Storage(path)
    yield s
    s.close()


def last_help(store: Storage) -> dict[int, str]:
    return dict(store.db.execute("SELECT h.id, max(coalesce(max(r.helped_on), ''), substr(h.created_at, 1, 10)) "
                                 "FROM households h LEFT JOIN records r ON r.household_id = h.id GROUP BY h.id"))


def test_months_before():
    assert retention.months_before(dt.date(2028, 6, 15), 36) == dt.date(2025, 6, 15)
    assert retention.months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert retention.months_before(dt.date(2026, 1, 10), 1) == dt.date(2025, 12, 10)


def test_old_households_are_anonymised_and_every_total_stays(store: Storage):
    now = dt.datetime(2028, 9, 1, 2, 30, tzinfo=VN)
    cutoff = "2025-09-01"
    last = last_help(store)
    old = {h for h, day in last.items() if day < cutoff}
    erased_already = {h for (h,) in store.db.execute("SELECT id FROM households WHERE erased = 1")}
    due = old - erased_already
    assert 10 < len(due) < len(last) - 10  # some go, some stay: the test can tell them apart
    totals = {t: team_totals(store.db, t) for t in (1, 2, 3)}
    households_before = store.db.execute("SELECT count(*) FROM households").fetchone()[0]

    assert retention.apply(store, now, 36) == len(due)

    rows = {h: (name, key, phone, erased) for h, name, key, phone, erased in store.db.execute(
        "SELECT id, head_name, head_key, phone_last3, erased FROM households")}
    for h in due:
        assert rows[h] == ("", "", None, 1)
    kept = set(last) - old - erased_already
    assert all(rows[h][0] and rows[h][2] is not None and rows[h][3] == 0 for h in kept)
    notes = store.db.execute(f"SELECT count(*) FROM records WHERE note IS NOT NULL AND household_id IN "
                             f"({','.join(map(str, due))})").fetchone()[0]
    assert notes == 0
    assert store.db.execute("SELECT count(*) FROM households").fetchone()[0] == households_before
    assert {t: team_totals(store.db, t) for t in (1, 2, 3)} == totals

    audit = store.db.execute("SELECT row_id, actor_member_id, before, after FROM audit "
                             "WHERE action = 'anonymise'").fetchall()
    assert {row[0] for row in audit} == due and all(row[1] is None for row in audit)
    assert json.loads(audit[0][3])["reason"] == "retention 36 months"
    names = [n for (n,) in store.db.execute("SELECT head_name FROM households WHERE head_name != ''")]
    assert not any(name in (b or "") + (a or "") for _, _, b, a in audit for name in names)

    assert retention.apply(store, now, 36) == 0  # idempotent: nothing twice, no second audit row
    assert store.db.execute("SELECT count(*) FROM audit WHERE action = 'anonymise'").fetchone()[0] == len(due)


def test_a_household_helped_again_is_kept(store: Storage):
    now = dt.datetime(2028, 9, 1, tzinfo=VN)
    live = {h for (h,) in store.db.execute("SELECT id FROM households WHERE erased = 0")}
    old = [h for h, day in last_help(store).items() if day < "2025-06-01" and h in live]
    helped_again, forgotten = old[0], old[1]
    with store.transaction() as conn:
        conn.execute("UPDATE records SET helped_on = '2026-10-01' WHERE id = (SELECT min(id) FROM records "
                     "WHERE household_id = ?)", (helped_again,))
    retention.apply(store, now, 36)
    state = dict(store.db.execute("SELECT id, erased FROM households WHERE id IN (?, ?)", (helped_again, forgotten)))
    assert state == {helped_again: 0, forgotten: 1}


async def test_the_daily_job_applies_retention_on_the_injected_clock(store: Storage, small_kb, clock, tmp_path):
    settings = Settings(database_path=Path(store.path), backup_dir_setting=tmp_path / "b", backup_time="",
                        retention_months=18)
    deps = Deps(settings=settings, storage=store, kb=small_kb, clock=clock)
    clock.now = dt.datetime(2026, 11, 30, 2, 30, tzinfo=VN)
    await maintenance.run_due(deps)
    first = store.db.execute("SELECT count(*) FROM audit WHERE action = 'anonymise'").fetchone()[0]
    clock.now = dt.datetime(2027, 6, 30, 2, 30, tzinfo=VN)  # seven months later, more have aged out
    await maintenance.run_due(deps)
    later = store.db.execute("SELECT count(*) FROM audit WHERE action = 'anonymise'").fetchone()[0]
    assert 0 < first < later
    assert not (tmp_path / "b").exists()  # BACKUP_TIME empty: no backups, retention still runs
