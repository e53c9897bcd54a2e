"""Dev dialogues through the real channel adapters: Telegram and Zalo against their loopback fakes, and the
console chat (`bot.channels.console.chat`, fed one line at a time so the clock can move between turns).

Every turn must give the entry that the evaluation (`knowledge.followup.Conversation`, scored by
`benchmarks/faq_eval.py`) gives; when the expected entry is offered among choices, the member taps it
(Telegram button, Zalo or console number) as the evaluation assumes. A restart mid-dialogue keeps the
topic: a follow-up after the restart is still read with the previous answer.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from telegram.constants import FloodLimit

from bot.app import compose
from bot.channels import console
from bot.channels import telegram as tg
from bot.core import Deps
from bot.storage import Storage
from knowledge.followup import Conversation
from tests.channelkit import (
    TelegramUser,
    ZaloUser,
    buttons,
    running,
    telegram_deps,
    telegram_running,
    zalo_deps,
)
from tests.teamkit import Clock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import faq_eval

# Every fourth dev dialogue from the fourth: 33 dialogues of two and three turns on each channel, four of
# them with a choice the member taps (from the first, none is left to tap since long questions improved).
DIALOGUES = faq_eval.read_dialogues("dev")[3::4]
GAP = dt.timedelta(minutes=30)  # between two dialogues of one console user: the old topic has expired
_ANSWER_TITLE = re.compile(r"^📌 (.+)$", re.MULTILINE)


def test_enough_dialogues_with_follow_ups():
    assert len(DIALOGUES) >= 20
    assert sum(len(d) - 1 for d in DIALOGUES) >= 25  # follow-up turns


def by_evaluation(deps: Deps, dialogue: list[Any]) -> tuple[list[str | None], list[str | None]]:
    """Turn by turn: the entry the evaluation answers (None for choices, nothing or small talk), and
    the entry the member then taps among the offered choices (None when the right one is not offered)."""
    conv, now = Conversation(deps.kb.matcher), deps.clock()
    answers: list[str | None] = []
    taps: list[str | None] = []
    for minutes, text, expected in dialogue:
        now += dt.timedelta(minutes=minutes)
        m = conv.ask(text, now)
        ident = m.best.entry.id if m.status == "answer" and m.best else None
        if ident is not None and deps.kb.entries[ident].topic == "smalltalk":
            ident = None
        answers.append(ident)
        hit = [s.entry.id for s in m.choices if s.entry.id in faq_eval.accepted(expected)]
        tap = hit[0] if ident is None and hit else None
        if tap is not None:
            conv.pick(m, tap, now)
        taps.append(tap)
    return answers, taps


def answered_in(deps: Deps, text: str) -> str | None:
    """The entry a reply answers, by its "📌 title" line (small talk has none)."""
    found = _ANSWER_TITLE.search(text)
    if found is None:
        return None
    ids = [e.id for e in deps.kb.entries.values() if e.title == found.group(1).strip()]
    assert len(ids) == 1, found.group(1)
    return ids[0]


class Seen:
    """What one channel's run went through: dialogues, follow-ups answered right, choices tapped."""

    def __init__(self) -> None:
        self.dialogues = self.followups_right = self.taps = 0

    def add(self, dialogue: list[Any], got: list[str | None], taps: list[str | None]) -> None:
        self.dialogues += 1
        self.taps += sum(t is not None for t in taps)
        self.followups_right += sum(g is not None and g in faq_eval.accepted(e)
                                    for g, (_, _, e) in list(zip(got, dialogue, strict=True))[1:])

    def check(self) -> None:
        assert self.dialogues >= 20 and self.followups_right >= 15 and self.taps >= 1, vars(self)


async def play(deps: Deps, clock: Clock, seen: Seen, dialogue: list[Any],
               say: Callable[[str], Awaitable[str]], tap: Callable[[str, str], Awaitable[str]]) -> None:
    """One dialogue through a channel, turn by turn: `say(text)` sends a turn and returns the reply's text;
    `tap(title, reply)` picks the offered choice with that title and returns what comes back. Each turn must
    answer what the evaluation answers, and a tapped choice must answer its entry."""
    answers, taps = by_evaluation(deps, dialogue)
    got = []
    for (minutes, text, _), entry in zip(dialogue, taps, strict=True):
        clock.advance(minutes=minutes)
        shown = await say(text)
        got.append(answered_in(deps, shown))
        if entry is not None:
            assert answered_in(deps, await tap(deps.kb.entries[entry].title, shown)) == entry, text
    assert got == answers, dialogue
    seen.add(dialogue, got, taps)


def base_deps(settings, storage, kb, clock: Clock) -> Deps:  # type: ignore[no-untyped-def]
    return compose(settings=settings, storage=storage, kb=kb, clock=clock)


# --- Telegram --------------------------------------------------------------------------------------

def telegram_button(message_list: list[dict[str, Any]], title: str) -> dict[str, Any] | None:
    for message in reversed(message_list):
        if any(b["text"] == title for b in buttons(message)):
            return message
    return None


async def test_dev_dialogues_through_telegram(tfake, settings, storage, shipped_kb):
    clock, seen = Clock(), Seen()
    deps = telegram_deps(base_deps(settings, storage, shipped_kb, clock), tfake)
    async with telegram_running(deps, max_rate=FloodLimit.MESSAGES_PER_SECOND):
        for n, dialogue in enumerate(DIALOGUES):
            user = TelegramUser(tfake, 7000 + n)

            async def say(text: str, user: TelegramUser = user) -> str:
                await user.say(text)
                return user.text

            async def tap(title: str, shown: str, user: TelegramUser = user) -> str:
                message = telegram_button(user.last, title)
                assert message is not None, (shown, title)
                await user.press(title, message=message)
                return user.text

            await play(deps, clock, seen, dialogue, say, tap)
            clock.advance(minutes=1)
    seen.check()


async def test_telegram_restart_mid_dialogue_keeps_the_topic(tfake, settings, shipped_kb):
    clock = Clock()
    first = telegram_deps(base_deps(settings, Storage(settings.database_path), shipped_kb, clock), tfake)
    channel = await tg.start(first, web.Application(), poll_timeout=1)
    user = TelegramUser(tfake, 7900)
    try:
        await user.say("dang ky muc 2 can mang gi")
        assert answered_in(first, user.text) == "vneid-dang-ky-muc-2"
    finally:
        await channel.stop()
        first.storage.close()
    clock.advance(minutes=2)
    again = telegram_deps(base_deps(settings, Storage(settings.database_path), shipped_kb, clock), tfake)
    channel = await tg.start(again, web.Application(), poll_timeout=1)
    try:
        await user.say("mất bao lâu thì có")
        assert answered_in(again, user.text) == "vneid-thoi-gian-duyet"
        stranger = TelegramUser(tfake, 7901)  # without that topic the same words get no answer
        await stranger.say("mất bao lâu thì có")
        assert answered_in(again, stranger.text) is None
    finally:
        await channel.stop()
        again.storage.close()


# --- Zalo ------------------------------------------------------------------------------------------

async def test_dev_dialogues_through_zalo(zfake, settings, storage, shipped_kb):
    clock, seen = Clock(), Seen()
    deps = zalo_deps(base_deps(settings, storage, shipped_kb, clock), zfake)
    async with running(deps):
        for n, dialogue in enumerate(DIALOGUES):
            user = ZaloUser(zfake, f"zd-{n}")

            async def say(text: str, user: ZaloUser = user) -> str:
                await user.say(text)
                return user.text

            async def tap(title: str, shown: str, user: ZaloUser = user) -> str:
                await user.pick(title)
                return user.text

            await play(deps, clock, seen, dialogue, say, tap)
            clock.advance(minutes=1)
    seen.check()


async def test_zalo_restart_mid_dialogue_keeps_the_topic(zfake, settings, shipped_kb):
    clock = Clock()
    first = zalo_deps(base_deps(settings, Storage(settings.database_path), shipped_kb, clock), zfake)
    user = ZaloUser(zfake, "zd-restart")
    async with running(first):
        await user.say("dang ky tam tru tren vneid")
        assert answered_in(first, user.text) == "dichvucong-tam-tru-vneid"
    first.storage.close()
    clock.advance(minutes=1)
    again = zalo_deps(base_deps(settings, Storage(settings.database_path), shipped_kb, clock), zfake)
    try:
        async with running(again):
            await user.say("le phi bao nhieu")
            assert answered_in(again, user.text) == "dichvucong-le-phi-cu-tru"
            stranger = ZaloUser(zfake, "zd-stranger")  # without that topic the same words get no answer
            await stranger.say("le phi bao nhieu")
            assert answered_in(again, stranger.text) is None
    finally:
        again.storage.close()


# --- Console ---------------------------------------------------------------------------------------

async def console_say(deps: Deps, line: str) -> str:
    """One line through the console adapter (piped, as `python -m bot chat < file` runs it)."""
    out = io.StringIO()
    await console.chat(deps, stdin=io.StringIO(line + "\n"), stdout=out)
    return out.getvalue()


def console_number(text: str, title: str) -> int | None:
    for number, label in re.findall(r"^\s*(\d+)\. (.+)$", text, flags=re.MULTILINE):
        if label.strip() == title:
            return int(number)
    return None


async def test_dev_dialogues_through_the_console(settings, storage, shipped_kb):
    clock, seen = Clock(), Seen()
    deps = base_deps(settings, storage, shipped_kb, clock)

    async def say(text: str) -> str:
        return await console_say(deps, text)

    async def tap(title: str, shown: str) -> str:
        number = console_number(shown, title)
        assert number is not None, (title, shown)
        return await console_say(deps, str(number))

    for dialogue in DIALOGUES:
        clock.now += GAP  # the console has one user: each dialogue starts after the last topic expired
        await play(deps, clock, seen, dialogue, say, tap)
    seen.check()


async def test_console_restart_mid_dialogue_keeps_the_topic(settings, shipped_kb):
    clock = Clock()
    first = base_deps(settings, Storage(settings.database_path), shipped_kb, clock)
    assert answered_in(first, await console_say(first, "dang ky thuong tru online")) == "dichvucong-thuong-tru-nha-nguoi-than"
    first.storage.close()
    clock.advance(minutes=1)
    again = base_deps(settings, Storage(settings.database_path), shipped_kb, clock)
    try:
        assert answered_in(again, await console_say(again, "le phi bao nhieu")) == "dichvucong-le-phi-cu-tru"
        clock.advance(minutes=11)  # the topic has expired: the same words alone get no answer
        assert answered_in(again, await console_say(again, "le phi bao nhieu")) is None
    finally:
        again.storage.close()


@pytest.mark.parametrize("minutes", [11, 60])
async def test_console_after_the_window_does_not_guess_with_the_old_topic(settings, storage, shipped_kb, minutes):
    """Past ten minutes (a restart the next morning alike), a bare "mất bao lâu" is not read with the old
    topic: the member gets choices or an honest "not yet", never an answer guessed from nothing."""
    clock = Clock()
    deps = base_deps(settings, storage, shipped_kb, clock)
    assert answered_in(deps, await console_say(deps, "dang ky muc 2 can mang gi")) == "vneid-dang-ky-muc-2"
    clock.advance(minutes=minutes)
    assert answered_in(deps, await console_say(deps, "mất bao lâu")) is None
