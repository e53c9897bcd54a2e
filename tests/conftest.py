"""Shared fixtures: an in-memory database, a small fixture knowledge base, deps and a `say` helper."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.app import compose
from bot.channels import zalo
from bot.config import Settings
from bot.core import Deps
from bot.storage import Storage
from knowledge.kb import KnowledgeBase
from knowledge.loader import load
from tests import channelkit
from tests.chat import FIXTURE_KB, Chat
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.teamkit import Clock


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
    return compose(settings=settings, storage=storage, kb=shipped_kb,
                clock=lambda: dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))))


@pytest.fixture
def clock():
    """A controllable clock (tests/teamkit.py); modules that need another start time override it."""
    return Clock()


@pytest.fixture
def tdeps(settings: Settings, storage: Storage, small_kb: KnowledgeBase, clock) -> Deps:
    """Deps on the fixture knowledge base with the controllable clock, for team and logging tests."""
    return compose(settings=settings, storage=storage, kb=small_kb, clock=clock)


@pytest.fixture
def small_deps(settings: Settings, storage: Storage, small_kb: KnowledgeBase) -> Deps:
    return compose(settings=settings, storage=storage, kb=small_kb)


@pytest.fixture
async def tfake():
    """A loopback fake of the Telegram Bot API."""
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def zfake():
    """A loopback fake of the Zalo Bot API."""
    server = await FakeZalo().start()
    yield server
    await server.close()


@pytest.fixture(autouse=True)
def track_zalo_channels(monkeypatch):
    """Register every Zalo adapter a test creates (however it is started), so ZaloUser can wait until the bot
    has finished answering (tests/channelkit.py)."""
    created = zalo.ZaloChannel.__init__

    def tracked(self, *args, **kwargs):
        created(self, *args, **kwargs)
        channelkit.zalo_channels.add(self)

    monkeypatch.setattr(zalo.ZaloChannel, "__init__", tracked)


@pytest.fixture(autouse=True)
def fast_zalo_backoff(monkeypatch):
    """Retry waits in milliseconds, so recovery tests stay fast."""
    monkeypatch.setattr(zalo, "BACKOFF_BASE", 0.01)


@pytest.fixture
def chat(small_deps: Deps) -> Chat:
    return Chat(small_deps)
