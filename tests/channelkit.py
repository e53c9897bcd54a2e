"""Helpers for tests through the real channel adapters against the loopback fakes.

`TelegramUser` and `ZaloUser` talk to the bot as one person on one app: they push what the person
types or presses into the fake server and wait for the bot's answers to reach that chat. They wait until
the bot has FINISHED answering, not just for the first `count` messages, and then require exactly `count`:
a step that sends one message more than the test expects fails every time, instead of leaking its last
message into the next step's answer whenever the machine is slow (the flaky tests of 2026-11-30).
"""

from __future__ import annotations

import asyncio
import re
import socket
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import compose
from bot.channels import telegram as tg
from bot.channels import zalo
from bot.core import Deps
from bot.runner import build_web_app, run_channels
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo


def free_port() -> int:
    """A port on 127.0.0.1 for a server a test starts later (its URL often goes into settings first).

    Binding port 0 and closing it left a race: until the server bound the port, the kernel could hand it
    to anyone, another test's free_port() or any outgoing connection (the machine runs several test runs
    at once). Here one connection is made to the port and closed from the listening side first, so that
    side's end waits in TIME_WAIT for a minute: meanwhile the kernel gives the port to no bind(0) and no
    connect(), while a server that sets SO_REUSEADDR (asyncio's and aiohttp's default on Linux) binds it."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port: int = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            accepted, _ = listener.accept()
            accepted.close()  # closed first: this end goes to TIME_WAIT, holding the port
    return port


# --- Telegram ------------------------------------------------------------------------------------

def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def button(message: dict[str, Any], label_part: str) -> dict[str, Any]:
    return next(b for b in buttons(message) if label_part in b["text"])


def telegram_deps(base: Deps, fake: FakeTelegram, **settings: Any) -> Deps:
    settings.setdefault("telegram_bot_token", fake.token)
    settings.setdefault("telegram_base_url", fake.base_url)
    return replace(base, settings=replace(base.settings, **settings))


@asynccontextmanager
async def telegram_running(deps: Deps, **options: Any) -> AsyncIterator[tg.TelegramChannel]:
    """The real Telegram adapter polling the fake Bot API (1 s long polls, no send throttling unless
    `options` say otherwise); stopped on the way out."""
    options = {"poll_timeout": 1, "max_rate": None} | options
    channel = await tg.start(deps, web.Application(), **options)
    try:
        yield channel
    finally:
        await channel.stop()


class TelegramUser:
    """One person in a private chat with the bot on Telegram."""

    def __init__(self, fake: FakeTelegram, user_id: int, name: str = "Lan") -> None:
        self.fake, self.user_id, self.name = fake, user_id, name
        self.last: list[dict[str, Any]] = []

    async def _await(self, push: Any, count: int) -> list[dict[str, Any]]:
        after = len(self.fake.sent)
        await push
        await self.fake.wait_sent(count, after=after, chat_id=self.user_id)
        # Done once the poller confirmed every update (it moves the offset past an update only once it was
        # processed, replies sent). A webhook has no such signal: there, the first `count` messages.
        await self.fake.wait_for(lambda: not self.fake.pending or self.fake.webhook["url"])
        self.last = [m for m in self.fake.sent[after:] if m["chat"]["id"] == self.user_id]
        if len(self.last) != count:
            raise AssertionError(f"the bot sent {len(self.last)} messages, the test expected {count}: "
                                 f"{[m.get('text') or m.get('caption') for m in self.last]}")
        return self.last

    async def say(self, text: str, count: int = 1) -> list[dict[str, Any]]:
        """Type `text`; wait for `count` messages back."""
        return await self._await(self.fake.push_text(text, user_id=self.user_id, name=self.name), count)

    async def send(self, count: int = 1, **content: Any) -> list[dict[str, Any]]:
        """Send something other than text, e.g. sticker={...}; wait for `count` messages back."""
        update = self.fake.message(self.user_id, name=self.name, **content)
        return await self._await(self.fake.push(update), count)

    def message_with(self, label_part: str) -> dict[str, Any]:
        """The latest message from the bot with a button whose label contains `label_part`."""
        for message in reversed(self.last):
            if any(label_part in b["text"] for b in buttons(message)):
                return message
        raise AssertionError(f"no button with {label_part!r} in {[buttons(m) for m in self.last]}")

    async def press(self, label_part: str, count: int = 1,
                    message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Press the button containing `label_part` (under `message`, default the latest one)."""
        message = message or self.message_with(label_part)
        data = button(message, label_part)["callback_data"]
        return await self._await(self.fake.push_callback(message, data, user_id=self.user_id, name=self.name),
                                 count)

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or m.get("caption") or "" for m in self.last)


# --- Zalo ----------------------------------------------------------------------------------------

def zalo_deps(base: Deps, fake: FakeZalo, **settings: Any) -> Deps:
    settings.setdefault("zalo_bot_token", fake.token)
    settings.setdefault("zalo_base_url", fake.base_url)
    return compose(settings=replace(base.settings, **settings), storage=base.storage, kb=base.kb,
                clock=base.clock, services=base.services)


@asynccontextmanager
async def running(deps: Deps, port: int | None = None) -> AsyncIterator[tuple[zalo.ZaloChannel, str]]:
    """The real Zalo adapter on the shared web app, served on 127.0.0.1; yields (channel, server URL)."""
    web_app = build_web_app(deps)
    channel = await zalo.start(deps, web_app)
    server = TestServer(web_app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield channel, str(server.make_url("")).rstrip("/")
    finally:
        await channel.stop()
        await server.close()


# Every Zalo adapter created in this process (tests/conftest.py registers them): a ZaloUser waits until the
# ones polling its fake have no message left to answer. Zalo's wire format has no "processed" signal.
zalo_channels: weakref.WeakSet[zalo.ZaloChannel] = weakref.WeakSet()


def zalo_answering(fake: FakeZalo) -> bool:
    """Whether the fake still holds an update, or a bot polling it is still answering one."""
    return not fake.updates.empty() or any(
        channel.queue_depth() for channel in list(zalo_channels)
        if channel.deps.settings.zalo_base_url.rstrip("/") == fake.base_url)


class ZaloUser:
    """One person chatting with the bot on Zalo, where choices are numbered lines."""

    def __init__(self, fake: FakeZalo, user_id: str, name: str = "Lan") -> None:
        self.fake, self.user_id, self.name = fake, user_id, name
        self.last: list[str] = []

    async def say(self, text: str, count: int = 1, **event: Any) -> list[str]:
        """Send `text` (or another kind of message, e.g. kind="sticker"); wait for `count` texts back."""
        before = len(self.fake.texts(self.user_id))
        self.fake.push(text, user=self.user_id, name=self.name, **event)
        await self.fake.wait_for(lambda: len(self.fake.texts(self.user_id)) >= before + count
                                 and not zalo_answering(self.fake))
        self.last = self.fake.texts(self.user_id)[before:]
        if len(self.last) != count:
            raise AssertionError(f"the bot sent {len(self.last)} messages, the test expected {count}: {self.last}")
        return self.last

    def number_of(self, label_part: str) -> int:
        """The number in front of the choice containing `label_part` in the latest numbered list."""
        for text in reversed(self.last):
            for number, label in re.findall(r"^(\d+)\. (.+)$", text, flags=re.MULTILINE):
                if label_part in label:
                    return int(number)
        raise AssertionError(f"no numbered choice with {label_part!r} in {self.last}")

    async def pick(self, label_part: str, count: int = 1) -> list[str]:
        """Type the number of the choice containing `label_part`."""
        return await self.say(str(self.number_of(label_part)), count)

    @property
    def text(self) -> str:
        return "\n".join(self.last)


@asynccontextmanager
async def serving(deps: Deps, channels: tuple[str, ...] = ("telegram", "zalo")) -> AsyncIterator[asyncio.Task[None]]:
    """`run_channels` (shared server, every channel) until the block ends; stopping must be clean."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_channels(deps, list(channels), stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert task.exception() is None
