"""Who is signed in to the web view.

Two doors, one member account (the same `member_for` as in chat, linked identities included):
- Telegram Mini App: every API call carries `Authorization: tma <initData>`, checked exactly as
  Telegram documents it (HMAC-SHA256 keyed with HMAC-SHA256("WebAppData", bot token); at most 24 h old).
- Zalo and console: `/web` hands out a one-time link valid 10 minutes; using it sets a session cookie
  valid 12 hours. Only SHA-256 hashes of link and cookie tokens are stored.

A session belongs to the member it was opened for: when that member is removed (or the identity now
points to someone else), the next request finds the session revoked and deletes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ..access import Actor, member_for
from ..core import Deps

INIT_DATA_MAX_AGE = 24 * 3600  # seconds, as Telegram recommends
INIT_DATA_FUTURE_SKEW = 300  # a phone clock a few minutes ahead is fine, a day is not
LOGIN_LIFETIME = dt.timedelta(minutes=10)
SESSION_LIFETIME = dt.timedelta(hours=12)
COOKIE = "tcns_web"
MAX_INIT_DATA = 4096


@dataclass(frozen=True)
class Viewer:
    """The signed-in member, how they signed in, and the CSRF token their page must send back."""

    member: Actor
    user_key: str
    via: str  # "tma" | "cookie"
    csrf: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _now(deps: Deps) -> dt.datetime:
    return deps.clock().astimezone(dt.UTC)


# --- Telegram Mini App ----------------------------------------------------------------------------

def _secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode("utf-8"), hashlib.sha256).digest()


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """initData as Telegram builds it (used by tests and by nobody else)."""
    from urllib.parse import urlencode

    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    digest = hmac.new(_secret_key(bot_token), check.encode("utf-8"), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


@dataclass(frozen=True)
class TelegramUser:
    user_id: str
    first_name: str
    hash: str


def check_init_data(init_data: str, bot_token: str, now: float) -> TelegramUser | None:
    """The Telegram user behind `initData`, or None when it is forged, malformed or too old."""
    if not bot_token or not init_data or len(init_data) > MAX_INIT_DATA:
        return None
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # a repeated key: not something Telegram sends
        return None
    given = fields.pop("hash", "")
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    expected = hmac.new(_secret_key(bot_token), check.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
        return None
    auth_date = fields.get("auth_date", "")
    if not auth_date.isdigit() or not -INIT_DATA_FUTURE_SKEW <= now - int(auth_date) <= INIT_DATA_MAX_AGE:
        return None
    try:
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, KeyError, TypeError):
        return None
    return TelegramUser(str(user_id), str(user.get("first_name", ""))[:64], given)


def tma_csrf(bot_token: str, init_hash: str) -> str:
    """A CSRF token bound to this initData, derivable again on any later request (no server state)."""
    return hmac.new(_secret_key(bot_token), f"csrf:{init_hash}".encode(), hashlib.sha256).hexdigest()[:32]


def viewer_from_tma(deps: Deps, init_data: str) -> Viewer | None:
    token = deps.settings.telegram_bot_token
    user = check_init_data(init_data, token, _now(deps).timestamp())
    if user is None:
        return None
    key = f"telegram:{user.user_id}"
    member = member_for(deps, key)
    if member is None:
        return None
    return Viewer(member, key, "tma", tma_csrf(token, user.hash))


# --- one-time links and sessions -----------------------------------------------------------------

def create_login(deps: Deps, user_key: str) -> str:
    """A one-time sign-in token for `user_key`, valid LOGIN_LIFETIME."""
    token = secrets.token_urlsafe(24)
    now = _now(deps)
    with deps.storage.transaction() as conn:
        conn.execute("DELETE FROM web_logins WHERE expires_at <= ?", (_iso(now),))
        conn.execute("INSERT INTO web_logins (token_hash, user_key, expires_at) VALUES (?, ?, ?)",
                     (_hash(token), user_key, _iso(now + LOGIN_LIFETIME)))
    return token


def login_state(deps: Deps, token: str) -> str:
    """'ok', 'used' or 'unknown' (expired links are unknown), without using the link."""
    row = deps.storage.db.execute("SELECT expires_at, used_at FROM web_logins WHERE token_hash = ?",
                                  [_hash(token)]).fetchone()
    if row is None or row[0] <= _iso(_now(deps)):
        return "unknown"
    return "used" if row[1] else "ok"


def redeem_login(deps: Deps, token: str) -> str | None:
    """Use a one-time link: a new session cookie value, or None (unknown, expired, used, not a member).

    Checking and marking the link used happen in one transaction, so two presses open one session.
    """
    now = _now(deps)
    with deps.storage.transaction() as conn:
        row = conn.execute("SELECT user_key, expires_at, used_at FROM web_logins WHERE token_hash = ?",
                           (_hash(token),)).fetchone()
        if row is None or row[2] or row[1] <= _iso(now):
            return None
        conn.execute("UPDATE web_logins SET used_at = ? WHERE token_hash = ?", (_iso(now), _hash(token)))
    member = member_for(deps, row[0])
    if member is None:
        return None
    cookie = secrets.token_urlsafe(32)
    with deps.storage.transaction() as conn:
        conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (_iso(now),))
        conn.execute(
            "INSERT INTO web_sessions (id_hash, user_key, member_id, csrf, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (_hash(cookie), row[0], member.id, secrets.token_hex(16), _iso(now), _iso(now + SESSION_LIFETIME)))
    return cookie


def viewer_from_cookie(deps: Deps, cookie: str) -> Viewer | None:
    if not cookie or len(cookie) > 100:
        return None
    row = deps.storage.db.execute(
        "SELECT user_key, member_id, csrf, expires_at FROM web_sessions WHERE id_hash = ?",
        [_hash(cookie)]).fetchone()
    if row is None:
        return None
    user_key, member_id, csrf, expires_at = row
    member = member_for(deps, user_key)
    # member_id is the member row the session was opened for, NULL for an `Admin` without one (migration 8).
    if expires_at <= _iso(_now(deps)) or member is None or member.id != member_id:
        end_session(deps, cookie)  # expired, or the member was removed or replaced: revoked for good
        return None
    return Viewer(member, user_key, "cookie", csrf)


def end_session(deps: Deps, cookie: str) -> None:
    with deps.storage.transaction() as conn:
        conn.execute("DELETE FROM web_sessions WHERE id_hash = ?", (_hash(cookie),))


def revoke_member(deps: Deps, member_id: int) -> int:
    """End every web session of a member (e.g. removed from the team); returns how many."""
    with deps.storage.transaction() as conn:
        return conn.execute("DELETE FROM web_sessions WHERE member_id = ?", (member_id,)).rowcount


# --- rate limits ---------------------------------------------------------------------------------

class RateLimit:
    """At most `limit` events per `window` seconds per key (the client address), in memory."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.events: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float | None = None) -> bool:
        """Count one event; False when the key is over its limit (the event is then not counted)."""
        now = time.monotonic() if now is None else now
        events = self.events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        if len(self.events) > 10_000:  # forget idle clients so memory stays bounded
            for stale in [k for k, v in self.events.items() if not v or v[-1] <= now - self.window]:
                del self.events[stale]
        return True
