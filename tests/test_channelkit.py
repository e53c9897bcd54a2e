"""The chat helpers of tests/channelkit.py: a step that sends more messages than the test names fails every
time, however fast or slow the machine, instead of leaking into the next step's answer."""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest

from tests.channelkit import (
    TelegramUser,
    ZaloUser,
    free_port,
    running,
    telegram_deps,
    telegram_running,
    zalo_deps,
)

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


async def test_free_port_is_held_until_a_server_binds_it():
    """The port stays taken for anyone binding without SO_REUSEADDR (the kernel's bind(0) and connect() pass
    it over too), while a server binds it as asyncio and aiohttp do; nothing answers there before."""
    port = free_port()
    with socket.socket() as other, pytest.raises(OSError) as taken:
        other.bind(("127.0.0.1", port))
    assert taken.value.errno == errno.EADDRINUSE
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", port)
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
