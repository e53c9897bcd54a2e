"""Shared fixtures: an in-memory database, a small fixture knowledge base, deps and a `say` helper."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core import Deps, Incoming, Reply, respond
from bot.storage import Storage
from knowledge.kb import KnowledgeBase
from knowledge.loader import load

FIXTURE_KB = Path(__file__).parent / "fixtures" / "kb"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Port 0: the bot's web server (which runs whenever a channel does) takes any free port, so tests never
    # fight over 8080.
    return Settings(database_path=tmp_path / "bot.db", export_dir=tmp_path / "exports",
                    admin_ids=frozenset({"console:admin", "telegram:1"}), webhook_listen=("127.0.0.1", 0))


@pytest.fixture
def small_kb() -> KnowledgeBase:
    return KnowledgeBase(load(shipped_dir=FIXTURE_KB))


@pytest.fixture(scope="session")
def shipped_kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture
def storage(settings: Settings):
    store = Storage(settings.database_path)
    yield store
    store.close()


@pytest.fixture
def deps(settings: Settings, storage: Storage, shipped_kb: KnowledgeBase) -> Deps:
    return Deps(settings=settings, storage=storage, kb=shipped_kb,
                clock=lambda: dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))))


@pytest.fixture
def clock():
    """A controllable clock (tests/teamkit.py); modules that need another start time override it."""
    from teamkit import Clock

    return Clock()


@pytest.fixture
def tdeps(settings: Settings, storage: Storage, small_kb: KnowledgeBase, clock) -> Deps:
    """Deps on the fixture knowledge base with the controllable clock, for team and logging tests."""
    return Deps(settings=settings, storage=storage, kb=small_kb, clock=clock)


@pytest.fixture
def small_deps(settings: Settings, storage: Storage, small_kb: KnowledgeBase) -> Deps:
    return Deps(settings=settings, storage=storage, kb=small_kb)


class Chat:
    """Talk to the core as one user: `await chat.say("...")` returns the replies."""

    def __init__(self, deps: Deps, user: str = "u1", channel: str = "console", name: str = "Lan") -> None:
        self.deps, self.user, self.channel, self.name = deps, user, channel, name
        self.last: list[Reply] = []

    async def say(self, text: str = "", kind: str = "text") -> list[Reply]:
        self.last = await respond(Incoming(self.channel, self.user, self.user, text=text, kind=kind,
                                           display_name=self.name), self.deps)
        return self.last

    async def press(self, payload: str) -> list[Reply]:
        self.last = await respond(Incoming(self.channel, self.user, self.user, payload=payload,
                                           display_name=self.name), self.deps)
        return self.last

    async def pick(self, label_part: str) -> list[Reply]:
        """Press the choice whose label contains `label_part` among the last replies."""
        for reply in reversed(self.last):
            for choice in reply.choices:
                if label_part in choice.label:
                    return await self.press(choice.payload)
        raise AssertionError(f"no choice containing {label_part!r} in {[r.choices for r in self.last]}")

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)


@pytest.fixture
async def tfake():
    """A loopback fake of the Telegram Bot API."""
    from tests.fake_telegram import FakeTelegram

    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def zfake():
    """A loopback fake of the Zalo Bot API."""
    from tests.fake_zalo import FakeZalo

    server = await FakeZalo().start()
    yield server
    await server.close()


@pytest.fixture(autouse=True)
def fast_zalo_backoff(monkeypatch):
    """Retry waits in milliseconds, so recovery tests stay fast."""
    from bot.channels import zalo

    monkeypatch.setattr(zalo, "BACKOFF_BASE", 0.01)


@pytest.fixture
def chat(small_deps: Deps) -> Chat:
    return Chat(small_deps)
