"""H4: idle and slow connections cannot take the webhook server (or the bot) down; L3/L10: the access
log carries no download token and failed requests cannot flood it."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from aiohttp import web

from bot import runner as runner_module
from bot import webguard
from bot.runner import run_channels
from tests.test_runner import TG_SECRET, clock, deps, port  # noqa: F401 - fixtures
from tests.waiting import until

LIMITS = webguard.WebLimits(max_connections=20, idle_timeout=0.5, body_timeout=0.5, request_timeout=2,
                            check_every=0.1)


class Site(webguard.GuardedSite):
    instances: list[webguard.GuardedSite] = []

    def __init__(self, runner, host, listen_port, limits=None, **kwargs):
        super().__init__(runner, host, listen_port, LIMITS, **kwargs)
        Site.instances.append(self)


async def test_idle_and_trickling_connections_are_bounded_and_cut(deps, port, tfake, monkeypatch):  # noqa: F811
    monkeypatch.setattr(runner_module.webguard, "GuardedSite", Site)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_channels(deps, ["telegram", "zalo"], stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    guard = Site.instances[-1].guard
    try:
        # 100 connections that start a webhook POST and then say nothing more (no secret needed).
        idle = []
        for _ in range(100):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /telegram HTTP/1.1\r\nHost: x\r\n")
            idle.append((reader, writer))
            assert len(guard.open) <= LIMITS.max_connections
        # Connected means the kernel accepted them; the server refuses them as its loop gets to them.
        await until(lambda: guard.refused >= 80, "the server to refuse the connections over its limit")
        assert len(guard.open) <= LIMITS.max_connections
        # A body trickled one byte at a time with the right secret is cut too.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /telegram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"X-Telegram-Bot-Api-Secret-Token: " + TG_SECRET.encode() + b"\r\nContent-Length: 500\r\n\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 10:
            try:
                writer.write(b" ")
                await writer.drain()
                if reader.at_eof():
                    closed = True
                    break
                await asyncio.sleep(0.1)
            except (ConnectionError, OSError):
                closed = True
                break
        assert closed and time.monotonic() - started < 6  # body timeout 0.5 s; slack for a busy machine
        # Every idle connection was closed by the server within the idle timeout, in bounded time.
        started = time.monotonic()
        for reader, writer in idle:
            remaining = max(0.1, 6 - (time.monotonic() - started))
            try:
                data = await asyncio.wait_for(reader.read(), remaining)
            except (ConnectionError, OSError):
                data = b""
            assert data == b"" or data.startswith(b"HTTP/1.1 4")
            writer.close()
        assert time.monotonic() - started < 6
        assert len(guard.open) <= 1
        # The server still answers, and the bot still answers on the webhook.
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 200
        await tfake.push_text("/start", user_id=111, name="Bà Tư")
        [answer] = await tfake.wait_sent(chat_id=111)
        assert answer["text"].startswith("Xin chào")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_access_log_hides_tokens_and_samples_failures(caplog):
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    app = web.Application()

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="x")

    app.router.add_get("/files/{token}", ok)
    runner = web.AppRunner(app, access_log_class=webguard.SafeAccessLogger)
    await runner.setup()
    site = webguard.GuardedSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        base = f"http://127.0.0.1:{site.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/files/SeCrEtToKeN123") as resp:
                assert resp.status == 200
            for i in range(200):
                async with session.get(f"{base}/nothing/{i}") as resp:
                    assert resp.status == 404
    finally:
        await runner.cleanup()
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert "SeCrEtToKeN123" not in caplog.text and any("/files/***" in line for line in lines)
    assert len(lines) <= 1 + webguard.SafeAccessLogger.MAX_FAILED_PER_MINUTE + 1


def test_log_floods_are_cut_and_counted():
    from bot.safety import FloodFilter

    now = [0.0]
    flt = FloodFilter(burst=5, window=60, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, None)

    kept = [flt.filter(record("socket.accept() out of system resource")) for _ in range(10_000)]
    assert sum(kept) == 5
    assert flt.filter(record("another message"))  # other messages are not starved
    now[0] = 61
    last = record("socket.accept() out of system resource")
    assert flt.filter(last) and "9995 similar messages were not logged" in last.getMessage()
