"""Limits for the webhook web server, against slow or idle connections (a "slowloris") and log floods.

aiohttp's server has no timeout for a request whose headers or body never finish, and no cap on open
connections: 1,100 idle sockets used to exhaust the process's file descriptors and stop even long
polling. `GuardedSite` wraps each connection so that:

- at most `max_connections` are open; more are closed at once (the file-descriptor budget stays safe);
- a connection with no request in progress (headers not yet complete, or idle keep-alive) is closed
  after `idle_timeout` seconds;
- a request in progress is cut after `body_timeout` seconds when it sends a body (POST: the webhooks,
  which answer at once once the body is in) and after `request_timeout` otherwise (downloads).

A reverse proxy with TLS and its own timeouts should still stand in front (see the README).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebLimits:
    max_connections: int = 200
    idle_timeout: float = 10.0  # seconds to send complete headers, or between keep-alive requests
    body_timeout: float = 15.0  # seconds for a request with a body (webhook POST) to be read and answered
    request_timeout: float = 120.0  # seconds for any other request (a download on a slow phone)
    check_every: float = 1.0


class _Guarded(asyncio.Protocol):
    """Delegates to aiohttp's request handler; tells the guard when the connection opens and closes."""

    def __init__(self, guard: ConnectionGuard, inner: Any) -> None:
        self.guard, self.inner = guard, inner
        self.transport: asyncio.BaseTransport | None = None
        self.idle_since = time.monotonic()
        self.request: Any = None
        self.request_since = 0.0
        self.active = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if len(self.guard.open) >= self.guard.limits.max_connections:
            self.guard.refused += 1
            transport.abort()
            return
        self.active = True
        self.guard.open.add(self)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.active:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.active else None

    def pause_writing(self) -> None:
        if self.active:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.active:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.open.discard(self)
        if self.active:
            self.active = False
            self.inner.connection_lost(exc)

    def overdue(self, now: float) -> bool:
        request = getattr(self.inner, "_current_request", None)
        if request is not self.request:  # a request started or finished since the last look
            self.request = request
            self.request_since = now
            if request is None:
                self.idle_since = now
        if request is None:
            return now - self.idle_since > self.guard.limits.idle_timeout
        limit = self.guard.limits.body_timeout if request.method in ("POST", "PUT", "PATCH") \
            else self.guard.limits.request_timeout
        return now - self.request_since > limit


class ConnectionGuard:
    """The protocol factory given to the event loop: aiohttp's, wrapped."""

    def __init__(self, factory: Any, limits: WebLimits) -> None:
        self.factory, self.limits = factory, limits
        self.open: set[_Guarded] = set()
        self.refused = 0
        self.timed_out = 0
        self._task: asyncio.Task[None] | None = None

    def __call__(self) -> _Guarded:
        return _Guarded(self, self.factory())

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.limits.check_every)
            now = time.monotonic()
            for conn in [c for c in self.open if c.overdue(now)]:
                self.timed_out += 1
                self.open.discard(conn)
                if conn.transport is not None:
                    conn.transport.abort()


class GuardedSite(web.TCPSite):
    """`web.TCPSite` whose connections go through a `ConnectionGuard`."""

    def __init__(self, runner: web.BaseRunner, host: str | None, port: int | None,
                 limits: WebLimits | None = None, **kwargs: Any) -> None:
        super().__init__(runner, host, port, **kwargs)
        self.limits = limits or WebLimits()
        self.guard: ConnectionGuard | None = None

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self.guard = ConnectionGuard(server, self.limits)
        self._server = await loop.create_server(
            self.guard, self._host, self._port, ssl=self._ssl_context, backlog=self._backlog,
            reuse_address=self._reuse_address, reuse_port=self._reuse_port)
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port
        self.guard.start()

    async def stop(self) -> None:
        if self.guard is not None:
            self.guard.stop()
        await super().stop()


_TOKEN_PATH = re.compile(r"(/files/)[^/?\s]+")


class SafeAccessLogger(AbstractAccessLogger):
    """One line per request without download tokens; failed (4xx) requests are sampled, so a flood of
    wrong secrets or guessed links cannot fill the disk."""

    MAX_FAILED_PER_MINUTE = 20

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._window = 0
        self._failed = 0

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        status = response.status
        if 400 <= status < 500:
            minute = int(_now() // 60)
            if minute != self._window:
                if self._failed > self.MAX_FAILED_PER_MINUTE:
                    self.logger.warning("%d more failed requests were not logged", self._failed - self.MAX_FAILED_PER_MINUTE)
                self._window, self._failed = minute, 0
            self._failed += 1
            if self._failed > self.MAX_FAILED_PER_MINUTE:
                return
        path = _TOKEN_PATH.sub(r"\1***", request.path)
        self.logger.info("%s %s %s %.3fs", request.method, path, status, time)


def _now() -> float:
    return time.time()
