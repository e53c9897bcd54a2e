"""`run_channels` with both channels on webhooks: one aiohttp server, both fakes, and the weekly digest
going out through the running channels' senders."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket

import aiohttp
import pytest

from bot import scheduler
from bot.app import compose
from bot.core import Deps
from bot.runner import StartupError, run_channels
from tests.channelkit import free_port, serving, telegram_deps, zalo_deps
from tests.chat import Chat
from tests.teamkit import VN, Clock, code_in, receipt

TG_SECRET = "tg-Secret_123"
ZALO_SECRET = "zalo-secret-4567"
ZALO_USER = "6ede9afa66b88fe6d6a9"


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 11, 12, 9, 0, tzinfo=VN))  # a Thursday


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def deps(settings, storage, small_kb, clock, tfake, zfake, port) -> Deps:
    base = compose(settings=settings, storage=storage, kb=small_kb, clock=clock)
    base = telegram_deps(base, tfake, telegram_webhook_url=f"http://127.0.0.1:{port}/telegram",
                         telegram_webhook_secret=TG_SECRET, webhook_listen=("127.0.0.1", port))
    return zalo_deps(base, zfake, zalo_webhook_url="https://bot.example.vn/hooks/zalo",
                     zalo_webhook_secret=ZALO_SECRET)


@pytest.fixture
async def served(deps):
    """Both channels running under `run_channels` until the test ends; stopping must be clean."""
    async with serving(deps) as task:
        yield task


async def test_webhooks_are_registered_once_the_server_listens(deps, port, monkeypatch):
    """Telegram and Zalo deliver as soon as setWebhook returns: the server must already answer."""
    from bot.channels.telegram import TelegramChannel
    from bot.channels.zalo import ZaloChannel

    seen: list[tuple[str, int]] = []
    for cls in (TelegramChannel, ZaloChannel):
        original = cls.register_webhook

        async def probe(self, original=original):  # type: ignore[no-untyped-def]
            async with aiohttp.ClientSession() as session, \
                    session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                seen.append((self.name, resp.status))
            await original(self)

        monkeypatch.setattr(cls, "register_webhook", probe)
    async with serving(deps):
        pass
    assert seen == [("telegram", 200), ("zalo", 200)]


async def test_both_webhooks_on_one_server(deps, served, tfake, zfake, port):
    base = f"http://127.0.0.1:{port}"
    assert tfake.webhook["url"] == f"{base}/telegram" and tfake.webhook["secret_token"] == TG_SECRET
    assert zfake.webhook["url"] == "https://bot.example.vn/hooks/zalo" and zfake.webhook["secret"] == ZALO_SECRET
    assert not tfake.methods("getUpdates") and "getUpdates" not in zfake.requests
    assert set(deps.services.senders) == {"telegram", "zalo"}
    assert deps.storage.checkpoints is not None and deps.storage.checkpoints.running  # not inside commits
    async with aiohttp.ClientSession() as session, session.get(f"{base}/healthz") as resp:
        health = await resp.json()
        assert resp.status == 200 and health["ok"] is True and health["database"]["ok"] is True
        assert {name: c["mode"] for name, c in health["channels"].items()} == {"telegram": "webhook",
                                                                               "zalo": "webhook"}

    await tfake.push_text("/start", user_id=111, name="Bà Tư")  # POSTed with the registered secret
    [answer] = await tfake.wait_sent(chat_id=111)
    assert answer["text"].startswith("Xin chào Bà Tư!")

    zalo_url = f"{base}/hooks/zalo"
    assert await zfake.post_webhook(zalo_url, zfake.event("kich hoat vneid ko dc", user=ZALO_USER),
                                    secret=ZALO_SECRET) == 200
    [text] = await zfake.wait_texts(1, ZALO_USER)
    assert "Kích hoạt tài khoản VNeID" in text and "Gõ 1, 2 hoặc 3 để chọn." in text

    # Wrong, missing and swapped secrets are refused on both paths, and nothing is answered.
    update = {"update_id": 77, **tfake.message(111, "/chude")}
    for secret in ("wrong", None, ZALO_SECRET):
        assert await tfake.post_webhook(update, secret) == 403
    event = zfake.event("/chude", user=ZALO_USER)
    for secret in ("wrong-secret-000", None, TG_SECRET):
        assert await zfake.post_webhook(zalo_url, event, secret=secret) == 403
    # Barriers: the same users' next accepted messages are answered after anything queued before them.
    assert await tfake.post_webhook({"update_id": 78, **tfake.message(111, "/start")}, TG_SECRET) == 200
    [barrier] = await tfake.wait_sent(after=1)
    assert barrier["text"].startswith("Xin chào") and len(tfake.sent) == 2
    assert await zfake.post_webhook(zalo_url, zfake.event("/start", user=ZALO_USER), secret=ZALO_SECRET) == 200
    texts = await zfake.wait_texts(2, ZALO_USER)
    assert texts[1].startswith("Xin chào") and len(zfake.texts()) == 2


async def test_stop_closes_the_server(deps, tfake, port):
    async with serving(deps):
        pass
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{port}/healthz")


async def test_weekly_digest_goes_out_through_the_running_channels(deps, served, tfake, zfake):
    admin = Chat(deps, "admin", name="Quản trị")
    await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ")
    await admin.say("/moi totruong")
    leader = Chat(deps, "200", channel="telegram", name="Hoa")
    await leader.say(f"/thamgia {code_in(admin.text)}")
    await leader.say("/moi")
    member = Chat(deps, ZALO_USER, channel="zalo", name="Lan")
    await member.say(f"/thamgia {code_in(leader.text)}")
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    await member.pick("Sửa")
    await member.pick("Xong")
    await member.pick("Hẹn lại")
    await member.say("14/11")
    await member.pick("Bỏ qua")
    await member.pick("Lưu")
    receipt(member.text)

    # Monday just before 07:00: last week's slot is over, this week's not yet come.
    assert await scheduler.run_due(deps, dt.datetime(2026, 11, 16, 6, 59, tzinfo=VN)) == 0
    assert await scheduler.run_due(deps, dt.datetime(2026, 11, 16, 7, 5, tzinfo=VN)) == 2
    [digest] = await tfake.wait_sent(chat_id=200)
    assert digest["text"].startswith("📅 Tin tổng hợp hằng tuần")
    assert "Lượt hỗ trợ: 1. Số hộ được hỗ trợ: 1." in digest["text"] and "- Lan: 1 / 1" in digest["text"]
    [reminder] = await zfake.wait_texts(1, ZALO_USER)
    assert reminder.startswith("📅 Nhắc việc tuần này") and "14/11/2026: Nguyễn Văn An (Xuân Hạ)" in reminder

    # Once a week only, even if the job runs again (a restart, a second tick).
    assert await scheduler.run_due(deps, dt.datetime(2026, 11, 16, 9, 0, tzinfo=VN)) == 0  # sends awaited
    assert len(tfake.sent) == 1 and len(zfake.texts(ZALO_USER)) == 1


async def test_a_busy_port_is_a_clear_startup_error(deps, port):
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # free_port() leaves the port in TIME_WAIT
        busy.bind(("127.0.0.1", port))
        busy.listen()
        with pytest.raises(StartupError, match="WEBHOOK_LISTEN"):
            await asyncio.wait_for(run_channels(deps, ["telegram", "zalo"], asyncio.Event()), 10)
    assert deps.services.senders["zalo"].__self__._session.closed  # the started channels were stopped
    assert not deps.services.senders["telegram"].__self__.application.running


async def test_one_channel_failing_stops_the_other(deps, zfake):
    deps = zalo_deps(deps, zfake, zalo_bot_token="999:wrong-token")
    with pytest.raises(StartupError, match="ZALO_BOT_TOKEN"):
        await asyncio.wait_for(run_channels(deps, ["telegram", "zalo"], asyncio.Event()), 10)
    assert not deps.services.senders["telegram"].__self__.application.running
