"""Prometheus metrics and the health report, one private registry per running bot (tests start several).

Served on the bot's web server: `GET /metrics` (Prometheus text format) only to localhost, or to anyone
sending `Authorization: Bearer <METRICS_TOKEN>`; `GET /healthz` (JSON) to anyone, without personal data.
Counters are per process (they restart at zero, as Prometheus expects); the totals that must survive a
restart (records logged, households) are read from the database at scrape time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import ipaddress
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import logs
from .core import Deps, Incoming

log = logging.getLogger(__name__)

REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0)
WRITE_ERROR_WINDOW = 300.0  # seconds a failed database write keeps /healthz unhealthy
MATCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)


@dataclass
class ChannelHealth:
    mode: str  # "polling" | "webhook"
    last_update: float | None = None  # time.time() of the last update answered without error
    last_error: float | None = None
    in_flight: int = 0


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    channels: dict[str, ChannelHealth] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        r = self.registry
        self.updates = Counter("tcns_updates", "Updates received, by channel and kind (text, photo, button...)",
                               ["channel", "kind"], registry=r)
        self.update_errors = Counter("tcns_update_errors", "Updates whose handling raised an error",
                                     ["channel"], registry=r)
        self.reply_seconds = Histogram("tcns_reply_seconds", "Time from taking an update to its last reply sent",
                                       ["channel"], buckets=REPLY_BUCKETS, registry=r)
        self.matches = Counter("tcns_matches", "Knowledge-base lookups by result: answer, choices or none",
                               ["result"], registry=r)
        self.match_seconds = Histogram("tcns_match_seconds", "Knowledge-base match latency",
                                       buckets=MATCH_BUCKETS, registry=r)
        self.api_errors = Counter("tcns_bot_api_errors", "Bot API calls that failed (each attempt)",
                                  ["channel", "method"], registry=r)
        self.api_retries = Counter("tcns_bot_api_retries", "Bot API calls retried after a failure",
                                   ["channel", "method"], registry=r)
        self.digests = Counter("tcns_digests", "Weekly digests by result: sent or failed", ["result"], registry=r)
        self.backups = Counter("tcns_backups", "Backups by result: ok or failed", ["result"], registry=r)
        self.last_backup = Gauge("tcns_last_backup_timestamp_seconds", "Unix time of the last good backup",
                                 registry=r)
        self.last_backup_bytes = Gauge("tcns_last_backup_bytes", "Size of the last good backup", registry=r)
        self.deps: Deps | None = None
        r.register(_Collector(self))

    def backup_done(self, ok: bool, size: int = 0) -> None:
        self.backups.labels("ok" if ok else "failed").inc()
        if ok:
            self.last_backup.set(time.time())
            self.last_backup_bytes.set(size)

    def api_error(self, channel: str, method: str) -> None:
        self.api_errors.labels(channel, method).inc()

    def api_retry(self, channel: str, method: str) -> None:
        self.api_retries.labels(channel, method).inc()

    def channel(self, name: str, mode: str) -> ChannelHealth:
        health = self.channels.get(name)
        if health is None or health.mode != mode:
            health = self.channels[name] = ChannelHealth(mode)
        return health


def get(deps: Deps) -> Metrics:
    """The bot's metrics, created on first use."""
    if deps.services.metrics is None:
        deps.services.metrics = Metrics()
        deps.services.metrics.deps = deps
    return deps.services.metrics


@asynccontextmanager
async def update(deps: Deps, incoming: Incoming) -> AsyncIterator[None]:
    """Around the handling of one update: count it, time it, and mark the channel alive when it succeeds."""
    metrics = get(deps)
    correlation = logs.new_correlation(incoming.channel)
    metrics.updates.labels(incoming.channel, "button" if incoming.payload is not None else incoming.kind).inc()
    health = metrics.channels.get(incoming.channel)
    if health is not None:
        health.in_flight += 1
    start = time.perf_counter()
    try:
        yield
    except BaseException:
        metrics.update_errors.labels(incoming.channel).inc()
        if health is not None:
            health.last_error = time.time()
        raise
    else:
        metrics.reply_seconds.labels(incoming.channel).observe(time.perf_counter() - start)
        if health is not None:
            health.last_update = time.time()
    finally:
        if health is not None:
            health.in_flight -= 1
        logs.CORRELATION.reset(correlation)


def match(deps: Deps, lookup: Callable[[], Any]) -> Any:
    """Run a knowledge-base lookup (e.g. `lambda: deps.kb.answer(...)`), timed and counted by its status."""
    metrics = get(deps)
    start = time.perf_counter()
    result = lookup()
    metrics.match_seconds.observe(time.perf_counter() - start)
    metrics.matches.labels(result.status if result.status in ("answer", "choices") else "none").inc()
    return result


# --- what is read at scrape time ----------------------------------------------------------------------

def database_state(deps: Deps) -> dict[str, Any]:
    """Whether the database answers and can be written: a read-only file or a full disk is unhealthy."""
    path = deps.storage.path
    state: dict[str, Any] = {"ok": True, "schema_version": None}
    try:
        state["schema_version"] = deps.storage.version
        deps.storage.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        return {"ok": False, "error": f"unreadable: {type(exc).__name__}"}
    failed = deps.storage.write_error
    if failed and time.monotonic() - deps.storage.write_error_at < WRITE_ERROR_WINDOW:
        return {**state, "ok": False, "error": f"a write failed in the last {WRITE_ERROR_WINDOW:.0f} s: {failed}"}
    if path == ":memory:":
        return state
    file = Path(path)
    if deps.storage.db.execute("PRAGMA query_only").fetchone()[0]:
        return {**state, "ok": False, "error": "read-only (query_only)"}
    for target in (file, file.parent):
        if target.exists() and not os.access(target, os.W_OK):
            return {**state, "ok": False, "error": f"read-only: {'file' if target == file else 'folder'}"}
    try:
        disk = os.statvfs(file.parent)
        free = disk.f_bavail * disk.f_frsize
        state["disk_free_bytes"] = free
        if free < 16 * 1024 * 1024:
            return {**state, "ok": False, "error": "disk almost full"}
    except OSError:
        pass
    return state


def queue_depths(deps: Deps) -> dict[str, int]:
    """Per running channel: updates received and not yet answered."""
    out: dict[str, int] = {}
    for channel in deps.services.channels:
        depth = getattr(channel, "queue_depth", None)
        if callable(depth):
            out[channel.name] = int(depth())
    return out


class _Collector:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list:  # no up-front description: collect() reads live state
        return []

    def collect(self) -> Iterator[Any]:
        deps = self.metrics.deps
        if deps is None:
            return
        depth = GaugeMetricFamily("tcns_queue_depth", "Updates received and not yet answered", labels=["channel"])
        for name, value in queue_depths(deps).items():
            depth.add_metric([name], value)
        yield depth
        up = GaugeMetricFamily("tcns_channel_last_update_timestamp_seconds",
                               "Unix time of the last update answered without error", labels=["channel", "mode"])
        for name, health in self.metrics.channels.items():
            up.add_metric([name, health.mode], health.last_update or 0)
        yield up
        state = database_state(deps)
        yield GaugeMetricFamily("tcns_database_ok", "1 when the database can be read and written",
                                value=1 if state.get("ok") else 0)
        try:
            logged, live = deps.storage.db.execute(
                "SELECT count(*), coalesce(sum(deleted = 0), 0) FROM records").fetchone()
            households = deps.storage.db.execute("SELECT count(*) FROM households").fetchone()[0]
        except sqlite3.Error:
            return
        yield CounterMetricFamily("tcns_records_logged", "Assistance records ever logged (the database's count)",
                                  value=logged)
        yield GaugeMetricFamily("tcns_records_live", "Assistance records not deleted", value=live)
        yield GaugeMetricFamily("tcns_households", "Households in the log", value=households)


# --- HTTP ------------------------------------------------------------------------------------------

DEPS_KEY = web.AppKey("metrics_deps", Deps)


def _local(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def allowed(request: web.Request, token: str) -> bool:
    """Localhost without a proxy in between, or the right bearer token."""
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    forwarded = any(h in request.headers for h in ("X-Forwarded-For", "X-Real-IP", "Forwarded"))
    return _local(request) and not forwarded  # a reverse proxy on this machine is not "local"


async def metrics_view(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    if not allowed(request, deps.settings.metrics_token):
        return web.Response(status=403, text="forbidden\n")
    body = await asyncio.to_thread(generate_latest, get(deps).registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def health(deps: Deps) -> dict[str, Any]:
    metrics = get(deps)
    now = time.time()

    def stamp(value: float | None) -> str | None:
        return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC).isoformat(timespec="seconds")

    depths = queue_depths(deps)
    channels = {name: {"mode": h.mode, "last_update": stamp(h.last_update),
                       "seconds_since_update": None if h.last_update is None else round(now - h.last_update, 1),
                       "in_flight": h.in_flight, "queue_depth": depths.get(name, 0)}
                for name, h in metrics.channels.items()}
    database = database_state(deps)
    return {"ok": bool(database.get("ok")) and not deps.services.stopping,
            "stopping": deps.services.stopping,
            "uptime_seconds": round(now - metrics.started, 1), "channels": channels, "database": database}


async def healthz_view(request: web.Request) -> web.Response:
    report = health(request.app[DEPS_KEY])
    return web.json_response(report, status=200 if report["ok"] else 503)


def add_routes(app: web.Application, deps: Deps) -> None:
    app[DEPS_KEY] = deps
    get(deps)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", healthz_view)
