"""Run every configured channel in one asyncio loop, sharing one core and one database."""

from __future__ import annotations

import asyncio
import logging
import signal

from .app import build_deps
from .config import Settings

log = logging.getLogger(__name__)


def run(settings: Settings) -> int:
    return asyncio.run(serve(settings))


async def serve(settings: Settings) -> int:
    deps = build_deps(settings)
    try:
        channels = configured_channels(settings)
        if not channels:
            from .channels.console import chat

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


def configured_channels(settings: Settings) -> list[str]:
    names = []
    if settings.telegram_bot_token:
        names.append("telegram")
    if settings.zalo_bot_token:
        names.append("zalo")
    return names


async def run_channels(deps, channels: list[str], stop: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
    """Start each channel, wait for a stop signal, stop them all (channel modules fill this in)."""
    raise SystemExit(f"Kênh {', '.join(channels)} chưa được hỗ trợ trong bản này.")
