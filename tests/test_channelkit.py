"""The chat helpers of tests/channelkit.py: a step that sends more messages than the test names fails every
time, however fast or slow the machine, instead of leaking into the next step's answer."""

from __future__ import annotations

import pytest

from tests.channelkit import TelegramUser, ZaloUser, running, telegram_deps, telegram_running, zalo_deps

PHOTO = [{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}]


async def test_a_zalo_step_with_a_message_more_than_expected_fails(small_deps, zfake):
    async with running(zalo_deps(small_deps, zfake)):
        villager = ZaloUser(zfake, "v" * 20, "Bà Tư")
        # A question typed under a photo: a note about the photo, then the answer.
        with pytest.raises(AssertionError, match="the bot sent 2 messages, the test expected 1"):
            await villager.say("quen mat khau vneid", kind="image")
        await villager.say("quen mat khau vneid")  # the next step gets its own answer only
        assert villager.last[0].startswith("📌 Quên mật khẩu VNeID")


async def test_a_telegram_step_with_a_message_more_than_expected_fails(small_deps, tfake):
    async with telegram_running(telegram_deps(small_deps, tfake)):
        villager = TelegramUser(tfake, 500, "Bà Tư")
        with pytest.raises(AssertionError, match="the bot sent 2 messages, the test expected 1"):
            await villager.send(photo=PHOTO, caption="quen mat khau vneid")
        await villager.say("quen mat khau vneid")
        assert villager.last[0]["text"].startswith("📌 Quên mật khẩu VNeID")
