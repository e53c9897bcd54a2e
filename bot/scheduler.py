"""The weekly digest: every DIGEST_WEEKDAY at DIGEST_TIME (local time), leaders get last week's
summary, members who logged nothing and follow-ups now due; members get their own due follow-ups.

State lives in the database (`sent_digests`), so restarts are safe: on start the job runs at once
and sends whatever digest of the current week is still unsent (a bot that was down at 07:00 and
starts at 10:00 sends it then, up to the end of that calendar week), then sleeps until the next slot. Each digest is claimed by
inserting its key in a committed transaction *before* sending: a crash between the two loses
that digest rather than sending it twice (at most once).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlite_utils

from knowledge.services import Catalogue

from . import asks, background, metrics, notify, reports
from .assist import catalogue
from .clock import iso
from .core import Deps, Reply

log = logging.getLogger(__name__)

MAX_SLEEP = 3600.0  # re-read the clock at least hourly, so a changed wall clock cannot make us miss a slot
MAX_LISTED = 10
CLOCK_FLOOR = dt.date(2026, 1, 1)  # a clock before this (an RTC reset without NTP) is wrong, not a new week
WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def last_slot(now: dt.datetime, weekday: int, at: str) -> dt.datetime:
    """The most recent scheduled instant at or before `now` (in `now`'s time zone)."""
    hour, minute = (int(p) for p in at.split(":"))
    slot = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    slot -= dt.timedelta(days=(now.weekday() - weekday) % 7)
    if slot > now:
        slot -= dt.timedelta(days=7)
    return slot


def next_slot(now: dt.datetime, weekday: int, at: str) -> dt.datetime:
    return last_slot(now, weekday, at) + dt.timedelta(days=7)


def week_key(slot: dt.datetime) -> str:
    year, week, _ = slot.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Digest:
    key: str
    member_id: int
    text: str


def _lines(rows: list[tuple[str, str, str, str]], with_member: bool) -> list[str]:
    out = [f"- {reports.vn_date(due)}: {household} ({village})" + (f", {member}" if with_member else "")
           for due, household, village, member in rows[:MAX_LISTED]]
    if len(rows) > MAX_LISTED:
        out.append(f"- và {len(rows) - MAX_LISTED} lượt khác")
    return out


def _stale_questions(db: sqlite_utils.Database, team_id: int, slot: dt.datetime) -> list[str]:
    """Questions members sent to the leader ("hỏi tổ trưởng") still unanswered after a day."""
    waiting = asks.stale(db, team_id, slot)
    if not waiting:
        return []
    lines = [f"\n🙋 Câu hỏi thành viên gửi tổ trưởng chưa trả lời quá 24 giờ ({len(waiting)}):"]
    lines += [f"- {q.member}: \"{q.question[:100]}\"" for q in waiting[:MAX_LISTED]]
    if len(waiting) > MAX_LISTED:
        lines.append(f"- và {len(waiting) - MAX_LISTED} câu khác")
    return lines


def build_digests(db: sqlite_utils.Database, catalogue: Catalogue, slot: dt.datetime,
                  skip: frozenset[str] = frozenset()) -> list[Digest]:
    """The digests due for the week of `slot`, except those in `skip` (already sent).

    Read-only; run off the event loop with its own connection (500 team reports take seconds)."""
    week = week_key(slot)
    today = slot.date()
    last_week = reports.Period(today - dt.timedelta(days=7), today - dt.timedelta(days=1),
                               f"tuần trước ({reports.vn_date(today - dt.timedelta(days=7))} - "
                               f"{reports.vn_date(today - dt.timedelta(days=1))})", "")
    digests: list[Digest] = []
    leaders = db.execute("SELECT id, team_id FROM members WHERE active = 1 AND team_id IS NOT NULL "
                         "AND role IN ('leader', 'admin') ORDER BY id").fetchall()
    texts: dict[int, str] = {}  # per team: co-leaders get the same text
    for member_id, team_id in leaders:
        key = f"leader:{member_id}:{week}"
        if key in skip:
            continue
        if team_id not in texts:
            report = reports.team_report(db, team_id, last_week, catalogue, today)
            idle = reports.idle_members(db, team_id, last_week)
            texts[team_id] = "\n".join([
                f"📅 Tin tổng hợp hằng tuần\n{reports.render(report, today)}",
                "\nThành viên chưa ghi lượt nào tuần trước: " + (", ".join(idle) if idle else "không có") + ".",
                *_stale_questions(db, team_id, slot),
                "\nGõ /baocao tuần trước để xem lại báo cáo này, hoặc /xuat tháng này để lấy tệp Excel."])
        digests.append(Digest(key, member_id, texts[team_id]))
    for member_id, due in reports.due_followups_by_member(db, today).items():
        key = f"member:{member_id}:{week}"
        if key not in skip:
            text = ["📅 Nhắc việc tuần này: các hộ bạn hẹn quay lại đã đến ngày:", *_lines(due, False),
                    "Bạn nhớ ghé lại giúp các hộ nhé. Cảm ơn bạn!"]
            digests.append(Digest(key, member_id, "\n".join(text)))
    return digests


def _claim(deps: Deps, key: str) -> bool:
    """Mark a digest as sent; False if it already was. Committed before anything is sent."""
    with deps.storage.transaction() as conn:
        cur = conn.execute("INSERT OR IGNORE INTO sent_digests (key, sent_at) VALUES (?, ?)", (key, iso(deps.clock())))
        return cur.rowcount == 1


def _address(deps: Deps, member_id: int) -> tuple[Callable, str] | None:
    """The member's most recently linked identity on a channel that is running."""
    found = notify.address(deps, member_id)
    return found[:2] if found else None


async def run_due(deps: Deps, now: dt.datetime | None = None) -> int:
    """Send this week's unsent digests if the slot has passed; returns how many were sent."""
    settings = deps.settings
    now = local_now(deps, now)
    slot = last_slot(now, settings.digest_weekday, settings.digest_time)
    if now.isocalendar()[:2] != slot.isocalendar()[:2]:
        return 0  # last week's slot: too late for that digest, this week's is still to come

    week = week_key(slot)
    if now.date() < CLOCK_FLOOR:
        log.warning("The clock says %s, before this version existed: no digest until it is right", now.date())
        return 0
    newest = deps.storage.db.execute("SELECT max(substr(key, -8)) FROM sent_digests").fetchone()[0]
    if newest and newest > week:  # the clock went back: never send an older week's digest late
        log.warning("The clock went back to %s (digests already sent for %s): skipped", week, newest)
        return 0
    done = frozenset(k for (k,) in deps.storage.db.execute(
        "SELECT key FROM sent_digests WHERE key LIKE ?", [f"%:{week}"]).fetchall())
    cat = catalogue()

    def work() -> list[Digest]:
        db = deps.storage.reader()
        try:
            return build_digests(db, cat, slot, done)
        finally:
            db.conn.close()

    sent = 0
    for digest in await asyncio.to_thread(work):
        address = _address(deps, digest.member_id)
        if address is None:  # no running channel for this member: keep it for when there is one
            continue
        if not _claim(deps, digest.key):
            continue
        send, chat_id = address
        try:
            await send(chat_id, [Reply(digest.text)])
            sent += 1
            metrics.get(deps).digests.labels("sent").inc()
        except Exception:  # one unreachable chat must not stop the others; not retried (at most once)
            metrics.get(deps).digests.labels("failed").inc()
            log.exception("Could not send digest %s", digest.key)
        await asyncio.sleep(0)
    if sent:
        log.info("Sent %d weekly digests for %s", sent, week_key(slot))
    return sent


def local_now(deps: Deps, now: dt.datetime | None = None) -> dt.datetime:
    return (now or deps.clock()).astimezone(ZoneInfo(deps.settings.timezone))


async def _loop(deps: Deps) -> None:
    """Catch up on this week's digest at start, then run at each slot."""
    settings = deps.settings
    while True:
        try:
            await run_due(deps)
        except Exception:  # a bad week must not kill the scheduler
            log.exception("Weekly digest failed")
        target = next_slot(local_now(deps), settings.digest_weekday, settings.digest_time)
        while (wait := (target - local_now(deps)).total_seconds()) > 0:
            await asyncio.sleep(min(wait, MAX_SLEEP))


async def start_scheduler(deps: Deps) -> None:
    """On-start hook: run the digest job in the background until `stop_scheduler`."""
    if background.start_job(deps, "scheduler", lambda: _loop(deps), "weekly-digest"):
        slot = next_slot(local_now(deps), deps.settings.digest_weekday, deps.settings.digest_time)
        log.info("Weekly digest: next on %s %s", WEEKDAYS[slot.weekday()], slot.strftime("%d/%m/%Y %H:%M"))


async def stop_scheduler(deps: Deps) -> None:
    await background.stop_job(deps, "scheduler")


def install(deps: Deps) -> None:
    """Register the start and stop hooks the runner calls."""
    background.install(deps, start_scheduler, stop_scheduler)
