"""L1 odd webhook bodies get 400 (not 500), L2 Zalo events without an id are answered once,
M5 a Zalo flood from one person is bounded, M8 a read-only database still answers through Zalo."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels import telegram as tg
from bot.channels import zalo
from bot.runner import build_web_app
from tests.channelkit import free_port, running, telegram_deps, zalo_deps
from tests.waiting import until

SECRET = "zalo-secret-4567"
TG_SECRET = "tg-Secret_123"
USER = "6ede9afa66b88fe6d6a9"


async def test_telegram_webhook_refuses_odd_update_ids(small_deps, tfake):
    port = free_port()
    deps = telegram_deps(small_deps, tfake, telegram_webhook_url=f"http://127.0.0.1:{port}/telegram",
                         telegram_webhook_secret=TG_SECRET)
    web_app = web.Application()
    channel = await tg.start(deps, web_app, poll_timeout=1, max_rate=None)
    server = TestServer(web_app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        for update_id in ("abc", None, 1.5, True, [1]):
            assert await tfake.post_webhook({"update_id": update_id, **tfake.message(5, "hi")}, TG_SECRET) == 400
        deep = '{"update_id": 1, "x": ' + '{"x": ' * 100_000 + "1" + "}" * 100_001
        async with aiohttp.ClientSession() as session, session.post(
                f"http://127.0.0.1:{port}/telegram", data=deep.encode(),
                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}) as resp:
            assert resp.status == 400
        assert await tfake.post_webhook({"update_id": 5, **tfake.message(5, "/start")}, TG_SECRET) == 200
        [answer] = await tfake.wait_sent(chat_id=5)
        assert answer["text"].startswith("Xin chào")
    finally:
        await channel.stop()
        await server.close()


async def test_zalo_odd_bodies_and_events_without_id(small_deps, zfake):
    deps = zalo_deps(small_deps, zfake, zalo_webhook_url="https://bot.example.vn/zalo", zalo_webhook_secret=SECRET)
    web_app = build_web_app(deps)
    channel = await zalo.start(deps, web_app)
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/zalo"))
    try:
        deep = "[" * 100_000 + "]" * 100_000
        assert await zfake.post_webhook(url, deep, secret=SECRET) == 400
        event = zfake.event("/start", user=USER)
        del event["message"]["message_id"]
        for _ in range(3):  # Zalo redelivers the same event
            assert await zfake.post_webhook(url, event, secret=SECRET) == 200
        await zfake.wait_texts(1, USER)
        # Each acknowledged delivery was queued before its 200: once none is left, all were handled.
        await until(lambda: not channel.queue_depth(), "the deliveries to be handled")
        assert len(zfake.texts(USER)) == 1
    finally:
        await channel.stop()
        await server.close()


async def test_one_zalo_users_flood_is_bounded(small_deps, zfake):
    async with running(zalo_deps(small_deps, zfake)) as (channel, _):
        for i in range(200):
            zfake.push(f"câu hỏi số {i}", user="flooder")
        zfake.push("/start", user=USER)
        [hello] = await zfake.wait_texts(1, USER)
        assert hello.startswith("Xin chào")
        # The last event pushed is answered, so every flood event before it was taken and queued.
        await until(lambda: not channel.queue_depth(), "the flood to be handled", timeout=120)
    assert channel.dropped > 0
    assert len(zfake.texts("flooder")) <= 200 - channel.dropped
