"""Follow-ups as a to-do list: records "Chưa xong" / "Hẹn lại" with a due date, closed once, and one
reminder on the due day at REMINDER_TIME (local), at most once per follow-up per day.

A follow-up is open while its record is live and has no row in `followup_closes`. Closing adds that row
(what happened, by whom) linked to the original record: no new record, so households are not counted
twice. Each reminder is claimed in `sent_reminders` (key `followup:<record id>:<day>`) in a committed
transaction before it is sent, like the weekly digest's claims: after a restart, or with two runs at
once, a follow-up is reminded at most once that day (a crash between claim and send loses it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlite_utils

from . import background, notify
from .assist import MAX_NOTE, catalogue, clean_text, village_label
from .audit import audit
from .clock import iso
from .core import Deps
from .storage import Storage, utcnow
from .when import vn_date

log = logging.getLogger(__name__)

DEFAULT_DAYS = 3  # a follow-up's due date when the member does not say one
RESULTS = {"done": "Đã xong", "dropped": "Không cần nữa"}
MAX_SLEEP = 3600.0
# Open: outcome unfinished/followup, live, not closed. An old "Hẹn lại" without a date is due the day it was logged.
OPEN = ("r.deleted = 0 AND r.outcome IN ('unfinished', 'followup') "
        "AND (r.followup_on IS NOT NULL OR r.outcome = 'followup') "
        "AND NOT EXISTS (SELECT 1 FROM followup_closes c WHERE c.record_id = r.id)")
DUE = "coalesce(r.followup_on, r.helped_on)"


@dataclass(frozen=True)
class FollowUp:
    record_id: int
    member_id: int
    due: str
    head_name: str
    village: str
    services: list[str]
    outcome: str
    reason: str | None

    def line(self) -> str:
        cat = catalogue()
        services = ", ".join(s.label for c in self.services if (s := cat.get(c)))
        return (f"{vn_date(self.due)}: {self.head_name or '(đã xóa tên)'}, {village_label(self.village)} "
                f"({services}), phiếu số {self.record_id}")


_SELECT = (f"SELECT r.id, r.member_id, {DUE}, h.head_name, v.name, r.services, r.outcome, r.reason "
           "FROM records r JOIN households h ON h.id = r.household_id JOIN villages v ON v.id = r.village_id ")


def _rows(db: sqlite_utils.Database, where: str, args: list) -> list[FollowUp]:
    rows = db.execute(_SELECT + f"WHERE {OPEN} AND {where} ORDER BY {DUE}, r.id", args).fetchall()
    return [FollowUp(r[0], r[1], r[2], r[3], r[4], [s for s in r[5].split(",") if s], r[6], r[7]) for r in rows]


def open_for_member(db: sqlite_utils.Database, member_id: int, limit: int = 50) -> list[FollowUp]:
    """A member's open follow-ups, earliest due first."""
    return _rows(db, "r.member_id = ?", [member_id])[:limit]


def get_open(db: sqlite_utils.Database, record_id: int) -> FollowUp | None:
    found = _rows(db, "r.id = ?", [record_id])
    return found[0] if found else None


def due_on(db: sqlite_utils.Database, day: dt.date) -> list[FollowUp]:
    return _rows(db, f"{DUE} = ? AND r.member_id IN (SELECT id FROM members WHERE active = 1)", [day.isoformat()])


def overdue_count(db: sqlite_utils.Database, team_id: int, today: dt.date) -> int:
    return db.execute(f"SELECT count(*) FROM records r WHERE {OPEN} AND r.team_id = ? AND {DUE} < ?",
                      [team_id, today.isoformat()]).fetchone()[0]


def open_count(db: sqlite_utils.Database, team_id: int) -> int:
    return db.execute(f"SELECT count(*) FROM records r WHERE {OPEN} AND r.team_id = ?", [team_id]).fetchone()[0]


def close(storage: Storage, record_id: int, member_id: int, result: str, note: str | None,
          now: dt.datetime) -> bool:
    """Close an open follow-up of `member_id` with what happened; False if it was not open (or not theirs)."""
    if result not in RESULTS:
        raise ValueError(result)
    note = clean_text(note, MAX_NOTE)[0] or None if note else None
    with storage.transaction() as conn:
        row = conn.execute(f"SELECT r.id FROM records r WHERE r.id = ? AND r.member_id = ? AND {OPEN}",
                           (record_id, member_id)).fetchone()
        if row is None:
            return False
        conn.execute("INSERT INTO followup_closes (record_id, closed_at, closed_by, result, note) "
                     "VALUES (?, ?, ?, ?, ?)", (record_id, iso(now), member_id, result, note))
        audit(conn, now, member_id, "followup_closes", record_id, "create", None, {"result": result})
    return True


def closed_by_result(db: sqlite_utils.Database, team_id: int, start: dt.date, end: dt.date) -> dict[str, int]:
    """Follow-ups of the period's live records that were closed, by result."""
    return dict(db.execute(
        "SELECT c.result, count(*) FROM followup_closes c JOIN records r ON r.id = c.record_id "
        "WHERE r.team_id = ? AND r.deleted = 0 AND r.helped_on BETWEEN ? AND ? GROUP BY c.result",
        [team_id, start.isoformat(), end.isoformat()]).fetchall())


# --- the reminder on the due day -----------------------------------------------------------------

def _claim(storage: Storage, key: str) -> bool:
    with storage.transaction() as conn:
        return conn.execute("INSERT OR IGNORE INTO sent_reminders (key, sent_at) VALUES (?, ?)",
                            (key, utcnow())).rowcount == 1


def reminder_slot(now: dt.datetime, at: str) -> dt.datetime:
    hour, minute = (int(p) for p in at.split(":"))
    return now.replace(hour=hour, minute=minute, second=0, microsecond=0)


async def run_reminders(deps: Deps, now: dt.datetime | None = None) -> int:
    """From REMINDER_TIME on, remind each follow-up due today, once; returns how many were sent."""
    now = (now or deps.clock()).astimezone(ZoneInfo(deps.settings.timezone))
    if now < reminder_slot(now, deps.settings.reminder_time):
        return 0
    today = now.date()
    sent = 0
    for item in due_on(deps.storage.db, today):
        if notify.address(deps, item.member_id) is None:  # no running channel: keep it for when there is one
            continue
        if not _claim(deps.storage, f"followup:{item.record_id}:{today.isoformat()}"):
            continue
        text = (f"⏰ Hôm nay ({vn_date(today)}) bạn có hẹn quay lại hộ {item.head_name or '(đã xóa tên)'}, "
                f"{village_label(item.village)} (phiếu số {item.record_id}).\n"
                "Xong việc, bạn gõ /viec để đánh dấu đã xong hoặc hẹn ngày khác. Cảm ơn bạn!")
        if await notify.tell(deps, item.member_id, text):
            sent += 1
        await asyncio.sleep(0)
    if sent:
        log.info("Sent %d follow-up reminders for %s", sent, today)
    return sent


async def _loop(deps: Deps) -> None:
    """Catch up at start (today's reminders after REMINDER_TIME), then run at each day's slot."""
    tz = ZoneInfo(deps.settings.timezone)
    while True:
        try:
            await run_reminders(deps)
        except Exception:  # a bad day must not stop tomorrow's reminders
            log.exception("Follow-up reminders failed")
        now = deps.clock().astimezone(tz)
        target = reminder_slot(now, deps.settings.reminder_time)
        if target <= now:
            target = reminder_slot(now + dt.timedelta(days=1), deps.settings.reminder_time)
        while (wait := (target - deps.clock().astimezone(tz)).total_seconds()) > 0:
            await asyncio.sleep(min(wait, MAX_SLEEP))


async def start(deps: Deps) -> None:
    background.start_job(deps, "reminders", lambda: _loop(deps), "follow-up-reminders")


async def stop(deps: Deps) -> None:
    await background.stop_job(deps, "reminders")


def install(deps: Deps) -> None:
    background.install(deps, start, stop)
