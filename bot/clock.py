"""Time helpers, one place: the local clock `deps.clock` defaults to, and how moments are stored.

Every stored timestamp comes from `deps.clock()` (tests move it) and is written with `iso`: UTC, to the
second, so text comparison in SQL orders moments correctly.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


def now_local(tz: str = DEFAULT_TZ) -> dt.datetime:
    """The wall clock in the teams' time zone: the default `deps.clock`."""
    return dt.datetime.now(ZoneInfo(tz))


def iso(moment: dt.datetime) -> str:
    """A moment as stored: UTC, ISO 8601, to the second."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> dt.datetime:
    """A stored moment back; naive values (older rows) are UTC."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
