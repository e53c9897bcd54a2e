"""Run every configured channel in one asyncio loop, sharing one core and one database.

Each channel module `bot.channels.<name>` exposes `async def start(deps, web_app) -> Channel`.
In webhook mode a channel adds its routes to `web_app`; one aiohttp server (WEBHOOK_LISTEN)
serves them all, plus `GET /healthz`, `GET /metrics`, download links and the web view under `/app/`
(also when every channel polls).

Stopping (SIGTERM, SIGINT) is graceful: webhooks start answering 503 (the platform redelivers later),
each channel finishes the updates it has taken, then the database is checkpointed and closed.
While the channels run, the write-ahead log is checkpointed from a thread of its own (bot/checkpoint.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from . import downloads, heap, metrics, webguard
from .app import build_deps
from .backup import RunLock
from .channels import telegram, zalo
from .channels.base import DEFER_WEBHOOK, Channel, StartupError
from .channels.console import chat
from .config import Settings
from .core import Deps
from .web.views import mount

log = logging.getLogger(__name__)

__all__ = ["DEFER_WEBHOOK", "Channel", "StartupError", "build_web_app", "run", "run_channels", "start_channels"]
ADAPTERS = {"telegram": telegram, "zalo": zalo}  # channel name -> adapter module (its `start`)
SHUTDOWN_TIMEOUT = 5.0  # seconds the web server waits for open requests when stopping


def run(settings: Settings) -> int:
    try:
        return asyncio.run(serve(settings))
    except StartupError as exc:
        log.error("%s", exc)
        print(f"Không khởi động được: {exc}")
        return 1


async def serve(settings: Settings) -> int:
    lock = RunLock(settings.database_path)
    if not lock.acquire():
        pid = lock.holder()
        raise StartupError(f"Trợ lý đã đang chạy trên cơ sở dữ liệu {settings.database_path}"
                           + (f" (tiến trình {pid})" if pid else "") + ". Không chạy hai bản cùng lúc.")
    try:
        return await _serve(settings)
    finally:
        lock.release()


async def _serve(settings: Settings) -> int:
    deps = build_deps(settings)
    try:
        channels = configured_channels(settings)
        if not channels:
            await chat(deps)
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        await run_channels(deps, channels, stop)
        return 0
    finally:
        deps.storage.close()
        log.info("Database closed")


def configured_channels(settings: Settings) -> list[str]:
    names = []
    if settings.telegram_bot_token:
        names.append("telegram")
    if settings.zalo_bot_token:
        names.append("zalo")
    return names


def build_web_app(deps: Deps) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[downloads.DEPS_KEY] = deps
    metrics.add_routes(app, deps)  # /healthz and /metrics
    downloads.add_routes(app)

    mount(app)
    return app


async def start_channels(deps: Deps, channels: list[str], web_app: web.Application) -> list[Channel]:
    started: list[Channel] = []
    senders = deps.services.senders
    try:
        for name in channels:
            module = ADAPTERS[name]
            channel: Channel = await module.start(deps, web_app)
            started.append(channel)
            senders[name] = channel.send
    except BaseException:
        for channel in reversed(started):
            await channel.stop()
        raise
    return started


async def run_channels(deps: Deps, channels: list[str], stop: asyncio.Event,
                       ready: asyncio.Event | None = None) -> None:
    """Start the channels (and the web server when any needs it), wait for `stop`, shut down cleanly."""
    web_app = build_web_app(deps)
    web_app[DEFER_WEBHOOK] = True
    deps.storage.start_checkpoints()  # WAL checkpoints in a thread, not inside commits on this loop
    started = await start_channels(deps, channels, web_app)
    deps.services.channels = started
    deps.services.stopping = False
    for channel in started:
        metrics.get(deps).channel(channel.name, "webhook" if channel.needs_server else "polling")
    runner: web.AppRunner | None = None
    try:
        # Always when a channel runs: /healthz and /metrics are served even to a polling bot.
        if started or deps.settings.public_base_url:
            host, port = deps.settings.webhook_listen
            # Requests still open when stopping get SHUTDOWN_TIMEOUT seconds, not aiohttp's 60: systemd and
            # docker kill a service that takes longer to stop, before the database is closed.
            runner = web.AppRunner(web_app, access_log_class=webguard.SafeAccessLogger, keepalive_timeout=15,
                                   shutdown_timeout=SHUTDOWN_TIMEOUT)
            await runner.setup()
            try:
                await webguard.GuardedSite(runner, host, port).start()  # connection limits and timeouts
            except OSError as exc:  # port taken, or an address this machine does not have
                raise StartupError(f"Không mở được cổng {host}:{port} (WEBHOOK_LISTEN): {exc.strerror or exc}. "
                                   "Bạn kiểm tra xem có chương trình khác đang dùng cổng này không nhé.") from None
            log.info("Web server listening on %s:%s", host, port)
        for channel in started:
            if channel.needs_server:
                await channel.register_webhook()
        for hook in deps.services.on_start:
            await hook(deps)
        heap.settle()  # start-up is over: later garbage collections skip the knowledge base and the rest
        log.info("Running channels: %s", ", ".join(channels))
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        # New deliveries are refused from here on (webhooks answer 503, so the platform redelivers them
        # later); updates already taken are finished by each channel's stop().
        deps.services.stopping = True
        log.info("Stopping: finishing the updates in hand...")
        for hook in deps.services.on_stop:
            try:
                await hook(deps)
            except Exception:  # keep stopping the rest
                log.exception("Error in a stop hook")
        for channel in reversed(started):
            try:
                await channel.stop()
                log.info("Channel %s stopped", channel.name)
            except Exception:  # keep stopping the others
                log.exception("Error while stopping a channel")
        if runner is not None:
            await runner.cleanup()
            log.info("Web server closed")
