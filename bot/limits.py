"""In-memory rate limits with lockout, on an injected clock (deps.clock), for guessable codes.

A `Limiter` counts failures per key in a sliding window; once a key reaches the limit it is locked
for `lockout`. Memory is bounded: old events are forgotten and at most `max_keys` keys are kept.
State is per process: a restart forgets it (an attacker gains one window per restart, which an
operator would notice long before a code is guessed).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass
class Limiter:
    limit: int
    window: dt.timedelta
    lockout: dt.timedelta
    max_keys: int = 10_000
    _events: OrderedDict[str, deque[dt.datetime]] = field(default_factory=OrderedDict)
    _locked_until: dict[str, dt.datetime] = field(default_factory=dict)

    def locked(self, key: str, now: dt.datetime) -> bool:
        until = self._locked_until.get(key)
        if until is None:
            return False
        if now >= until or until - now > self.lockout:  # expired, or the clock jumped back
            del self._locked_until[key]
            return False
        return True

    def fail(self, key: str, now: dt.datetime) -> bool:
        """Count one failure; True when the key is now locked."""
        events = self._events.pop(key, None) or deque()
        while events and (now - events[0] > self.window or events[0] > now):
            events.popleft()
        events.append(now)
        self._events[key] = events  # most recently used last
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        if len(events) >= self.limit:
            self._locked_until[key] = now + self.lockout
            events.clear()
            if len(self._locked_until) > self.max_keys:
                self._locked_until = {k: v for k, v in self._locked_until.items() if v > now}
            return True
        return False

    def clear(self, key: str) -> None:
        self._events.pop(key, None)
        self._locked_until.pop(key, None)


GLOBAL = "*"


@dataclass
class CodeGuard:
    """Per-identity and global limits on wrong codes (invites: /thamgia)."""

    per_user: Limiter = field(default_factory=lambda: Limiter(5, dt.timedelta(minutes=15), dt.timedelta(minutes=30)))
    everyone: Limiter = field(default_factory=lambda: Limiter(30, dt.timedelta(minutes=10), dt.timedelta(minutes=10)))

    def refused(self, user_key: str, now: dt.datetime) -> str | None:
        """'user' or 'global' when guessing is locked for this identity or for everyone."""
        if self.per_user.locked(user_key, now):
            return "user"
        if self.everyone.locked(GLOBAL, now):
            return "global"
        return None

    def failed(self, user_key: str, now: dt.datetime) -> None:
        self.per_user.fail(user_key, now)
        self.everyone.fail(GLOBAL, now)

    def succeeded(self, user_key: str) -> None:
        self.per_user.clear(user_key)
