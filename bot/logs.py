"""Log records as plain text or JSON lines (LOG_FORMAT), each carrying the correlation id of the update
being handled, so every line about one message can be found together (`grep tg-1a2b3c4d`).

Every handler gets the safety filter (secrets, ID numbers, OTPs, cards and phone numbers masked) and a
filter that hides download tokens in URLs. Message texts and household names are never logged by the
bot's code in the first place.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import secrets
import sys

from .safety import install_log_redaction

CORRELATION: contextvars.ContextVar[str] = contextvars.ContextVar("correlation", default="-")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(cid)s]: %(message)s"
_FILE_TOKEN = re.compile(r"(/files/)[A-Za-z0-9_\-]{6,}")


def new_correlation(channel: str) -> contextvars.Token[str]:
    """Start a correlation id for one update (e.g. `te-1a2b3c4d`); reset it with the returned token."""
    return CORRELATION.set(f"{channel[:2]}-{secrets.token_hex(4)}")


class ContextFilter(logging.Filter):
    """Adds `cid` to every record and hides download tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.cid = CORRELATION.get()
        message = record.getMessage()
        if "/files/" in message:
            record.msg, record.args = _FILE_TOKEN.sub(r"\1***", message), None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, correlation id, message."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "cid": getattr(record, "cid", CORRELATION.get()),
            "message": record.getMessage(),
        }
        if record.exc_info:  # normally already folded into the (masked) message by the safety filter
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(level: str, fmt: str, secret_values: list[str]) -> None:
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
    root.setLevel(level)
    # httpx logs every request URL, which carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_log_redaction(secret_values)
