"""What every channel adapter shares with the runner (so adapters never import the runner)."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from ..core import Reply


class Channel(Protocol):
    name: str
    needs_server: bool  # True when it registered webhook routes

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        """Send replies to a chat without an incoming message (digests, reminders)."""

    async def stop(self) -> None:
        """Stop receiving and close connections."""

    async def register_webhook(self) -> None:
        """Tell the platform the webhook address (webhook mode only)."""


# Set on the shared web app by `run_channels`: channels add their webhook routes at start but tell
# the platform the webhook address only in `register_webhook()`, once the server is listening, so the
# first deliveries after a start are not refused.
DEFER_WEBHOOK = web.AppKey("defer_webhook", bool)


class StartupError(RuntimeError):
    """A channel could not start (bad token, unreachable server); the message says why, in Vietnamese."""
