"""Long polling records answered updates in one transaction per turn of the poller, always before the
getUpdates call that confirms them to Telegram: nothing confirmed is unrecorded, and an update delivered
again after a restart is not answered twice."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp import web

from bot.channels import telegram as tg
from tests.fake_telegram import TOKEN

USERS = 10
WAVES = 3


@pytest.fixture
def tg_small(small_deps, tfake):
    settings = dataclasses.replace(small_deps.settings, telegram_bot_token=TOKEN, telegram_base_url=tfake.base_url)
    return dataclasses.replace(small_deps, settings=settings)


async def test_updates_are_recorded_in_groups_before_they_are_confirmed(tg_small, tfake, monkeypatch):
    storage = tg_small.storage
    pushed: list[int] = []
    unrecorded: list[int] = []  # confirmed to Telegram while not recorded as answered
    get_updates = tfake.api_getUpdates

    async def checked(params):  # type: ignore[no-untyped-def]
        offset = int(params.get("offset") or 0)
        unrecorded.extend(i for i in pushed if i < offset and not storage.seen("telegram", str(i)))
        return await get_updates(params)

    monkeypatch.setattr(tfake, "api_getUpdates", checked)
    groups: list[int] = []
    remember = storage.remember_delivered
    monkeypatch.setattr(storage, "remember_delivered",
                        lambda channel, ids, *a, **kw: groups.append(len(ids)) or remember(channel, ids, *a, **kw))
    channel = await tg.start(tg_small, web.Application(), poll_timeout=1, max_rate=None)
    try:
        for wave in range(WAVES):  # the poller turns between waves, confirming the one before
            for user in range(USERS):
                update = await tfake.push_text("kich hoat vneid ko dc", user_id=500 + user)
                pushed.append(update["update_id"])
            await tfake.wait_sent(count=USERS * (wave + 1), timeout=20)
    finally:
        await channel.stop()
    assert not unrecorded
    assert all(storage.seen("telegram", str(i)) for i in pushed)
    assert sum(groups) == USERS * WAVES
    assert len(groups) < USERS * WAVES  # grouped: fewer commits than updates
    assert not tfake.pending  # every answered update was confirmed on stop


async def test_a_redelivered_answered_update_is_not_answered_again(tg_small, tfake):
    channel = await tg.start(tg_small, web.Application(), poll_timeout=1, max_rate=None)
    try:
        update = await tfake.push_text("kich hoat vneid ko dc", user_id=77)
        await tfake.wait_sent(timeout=10)
    finally:
        await channel.stop()
    assert not tfake.pending
    tfake.pending.append(update)  # Telegram never got the confirmation: it comes again after the restart
    channel = await tg.start(tg_small, web.Application(), poll_timeout=1, max_rate=None)
    try:
        await tfake.wait_for(lambda: not tfake.pending, timeout=10)  # fetched and confirmed again
        await tfake.push_text("cảm ơn", user_id=78)
        await tfake.wait_sent(count=2, timeout=10)
    finally:
        await channel.stop()
    assert [m["chat"]["id"] for m in tfake.sent] == [77, 78]  # the first question was answered once
