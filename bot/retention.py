"""Retention (Decree 13/2023): a household's name and phone digits are kept only as long as a report
needs them. RETENTION_MONTHS (default 36) after the last assistance recorded for a household, its
personal fields are anonymised the way /xoadulieu erases them (name, search key, phone digits, the
notes of its records and those notes in the audit trail), while the household and its records stay,
so every count and report total is unchanged. Each anonymised household gets an audit row
(action 'anonymise', no actor), which holds no personal data.
"""

from __future__ import annotations

import datetime as dt
import logging

from .audit import audit
from .storage import Storage

log = logging.getLogger(__name__)

BATCH = 500  # households per transaction, so the bot's own writes never wait long


def months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):  # 31 March minus one month is 28/29 February
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def expired(storage: Storage, cutoff: dt.date) -> list[int]:
    """Households not yet anonymised whose last assistance (or creation) is before `cutoff`."""
    rows = storage.db.execute(
        "SELECT h.id FROM households h LEFT JOIN records r ON r.household_id = h.id "
        "WHERE h.erased = 0 GROUP BY h.id "
        "HAVING max(coalesce(max(r.helped_on), ''), substr(h.created_at, 1, 10)) < ? ORDER BY h.id",
        [cutoff.isoformat()]).fetchall()
    return [row[0] for row in rows]


def apply(storage: Storage, now: dt.datetime, months: int) -> int:
    """Anonymise every household past the retention limit; returns how many were anonymised."""
    if months <= 0:
        return 0
    cutoff = months_before(now.date(), months)
    ids = expired(storage, cutoff)
    detail = {"erased": 1, "reason": f"retention {months} months", "before": cutoff.isoformat()}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        marks = ",".join("?" * len(chunk))
        with storage.transaction() as conn:
            conn.execute(f"UPDATE households SET head_name = '', head_key = '', phone_last3 = NULL, erased = 1 "
                         f"WHERE id IN ({marks}) AND erased = 0", chunk)
            conn.execute(f"UPDATE records SET note = NULL, review_note = NULL WHERE household_id IN ({marks})", chunk)
            conn.execute(f"UPDATE followup_closes SET note = NULL WHERE record_id IN "
                         f"(SELECT id FROM records WHERE household_id IN ({marks}))", chunk)
            for column in ("before", "after"):
                conn.execute(
                    f"UPDATE audit SET {column} = json_remove({column}, '$.note') WHERE table_name = 'records' "
                    f"AND {column} IS NOT NULL AND row_id IN (SELECT id FROM records WHERE household_id IN ({marks}))",
                    chunk)
            for hid in chunk:
                audit(conn, now, None, "households", hid, "anonymise", {"erased": 0}, detail)
    if ids:
        log.info("Retention: %d households anonymised (no assistance since before %s)", len(ids), cutoff)
    return len(ids)
