"""One error policy (bot/core.respond): a handler that raises is logged under a reference, the person
gets the same friendly sorry on every channel, console included, and the bot goes on answering."""

from __future__ import annotations

import io
import logging
import re

import pytest
from aiohttp import web

import handlers
from bot.app import compose
from bot.channels import console
from bot.channels import telegram as tg
from bot.core import SORRY, Deps
from bot.safety import install_log_redaction
from tests.channelkit import TelegramUser, ZaloUser, running, telegram_deps, zalo_deps
from tests.teamkit import Clock

SORRY_START = SORRY.split("{ref}")[0]


@pytest.fixture
def masked_logs(settings):
    """The log redaction, as setup_logging installs it, on the root handlers for this test only (its flood
    limit would otherwise go on counting, and dropping, later tests' records)."""
    root = logging.getLogger()
    before = {handler: list(handler.filters) for handler in root.handlers}
    install_log_redaction(settings.secrets)
    yield
    for handler, filters in before.items():
        handler.filters = filters


@pytest.fixture
def base(settings, storage, small_kb, monkeypatch, masked_logs) -> Deps:
    async def broken(incoming, deps, session):
        raise RuntimeError("handler bug 0912345678")

    monkeypatch.setitem(handlers.COMMANDS, "/hong", broken)
    return compose(settings=settings, storage=storage, kb=small_kb, clock=Clock())


def reference(text: str, caplog: pytest.LogCaptureFixture) -> str:
    """The reference quoted to the person, which must also name the logged traceback."""
    assert text.startswith(SORRY_START)
    [ref] = re.findall(r"mã lỗi ([0-9a-f]{6})\.", text)
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert record.levelno == logging.ERROR and "RuntimeError: handler bug" in record.getMessage()  # the traceback
    assert "0912345678" not in caplog.text  # the log filter masks the phone number in the error
    return ref


async def test_console_says_sorry_and_keeps_going(base, caplog):
    out = io.StringIO()
    await console.chat(base, stdin=io.StringIO("/hong\nkich hoat vneid ko dc\n"), stdout=out)
    sorry, answer = out.getvalue().split("\n\n")[:2]
    reference(sorry, caplog)
    assert "VNeID" in answer


async def test_telegram_says_the_same_sorry_and_keeps_going(base, tfake, caplog):
    channel = await tg.start(telegram_deps(base, tfake), web.Application(), poll_timeout=1, max_rate=None)
    try:
        user = TelegramUser(tfake, 501)
        [sorry] = await user.say("/hong")
        reference(sorry["text"], caplog)
        [answer] = await user.say("kich hoat vneid ko dc")
        assert "VNeID" in answer["text"]
    finally:
        await channel.stop()


async def test_zalo_says_the_same_sorry_and_keeps_going(base, zfake, caplog):
    async with running(zalo_deps(base, zfake)):
        user = ZaloUser(zfake, "z501")
        [sorry] = await user.say("/hong")
        reference(sorry, caplog)
        [answer] = await user.say("kich hoat vneid ko dc")
        assert "VNeID" in answer
