"""The daily housekeeping job: at BACKUP_TIME (local time) a verified backup into BACKUP_DIR, keeping
the newest BACKUP_KEEP, then the retention rule (household names and phone digits anonymised after
RETENTION_MONTHS).

Restart-safe without extra state: at start the job runs at once when no backup has been taken since
the last slot (a bot that was down at 02:30 backs up when it comes back), then sleeps until the next.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

from . import background, backup, metrics, retention
from .core import Deps
from .scheduler import MAX_SLEEP, local_now

log = logging.getLogger(__name__)

DEFAULT_TIME = "02:30"  # when retention runs if daily backups are turned off


def last_daily(now: dt.datetime, at: str) -> dt.datetime:
    hour, minute = (int(p) for p in at.split(":"))
    slot = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return slot if slot <= now else slot - dt.timedelta(days=1)


def newest_backup_time(database: Path, folder: Path, tz: dt.tzinfo | None) -> dt.datetime | None:
    files = backup.daily_backups(database, folder)
    if not files:
        return None
    stamp = files[-1].name[len(database.stem) + 1:-3]
    return dt.datetime.strptime(stamp, backup.STAMP).replace(tzinfo=tz)


async def take_backup(deps: Deps, now: dt.datetime | None = None) -> Path | None:
    """One scheduled backup plus pruning; None (logged, counted) when it failed."""
    settings = deps.settings
    now = local_now(deps, now)
    database = Path(deps.storage.path)
    dest = backup.daily_path(database, settings.backup_dir, now)
    try:
        check = await asyncio.to_thread(backup.copy_database, database, dest)
    except (backup.BackupError, OSError) as exc:
        metrics.get(deps).backup_done(False)
        log.error("Scheduled backup failed: %s", exc)
        return None
    removed = backup.prune(database, settings.backup_dir, settings.backup_keep)
    metrics.get(deps).backup_done(True, dest.stat().st_size)
    log.info("Backup written to %s (%d records, %d households); %d old backups removed",
             dest, check.counts.get("records", 0), check.counts.get("households", 0), len(removed))
    return dest


async def run_due(deps: Deps, now: dt.datetime | None = None) -> bool:
    """Back up if no backup was taken since the last slot, then apply retention; True when it backed up."""
    settings = deps.settings
    now = local_now(deps, now)
    ran = False
    if settings.backup_time:
        slot = last_daily(now, settings.backup_time)
        newest = newest_backup_time(Path(deps.storage.path), settings.backup_dir, now.tzinfo)
        if newest is None or newest < slot:
            await take_backup(deps, now)
            ran = True
    if settings.retention_months:
        try:  # idempotent and cheap: only households past the limit and not yet anonymised are touched
            retention.apply(deps.storage, now, settings.retention_months)
        except Exception:  # retried at the next run; the bot keeps going
            log.exception("Retention run failed")
    return ran


async def _loop(deps: Deps) -> None:
    at = deps.settings.backup_time or DEFAULT_TIME
    while True:
        try:
            await run_due(deps)
        except Exception:
            log.exception("Daily maintenance failed")
        target = last_daily(local_now(deps), at) + dt.timedelta(days=1)
        while (wait := (target - local_now(deps)).total_seconds()) > 0:
            await asyncio.sleep(min(wait, MAX_SLEEP))


async def start(deps: Deps) -> None:
    settings = deps.settings
    if not (settings.backup_time or settings.retention_months) or deps.storage.path == ":memory:":
        return
    if background.start_job(deps, "maintenance", lambda: _loop(deps), "daily-maintenance"):
        log.info("Daily maintenance at %s: backup into %s keeping %d, retention %d months",
                 settings.backup_time or DEFAULT_TIME, settings.backup_dir if settings.backup_time else "(off)",
                 settings.backup_keep, settings.retention_months)


async def stop(deps: Deps) -> None:
    await background.stop_job(deps, "maintenance")


def install(deps: Deps) -> None:
    background.install(deps, start, stop)
