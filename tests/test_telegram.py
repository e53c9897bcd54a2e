"""The Telegram channel end to end: the real python-telegram-bot Application against a loopback fake."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.channels import telegram as tg
from bot.core import Choice, Reply
from bot.runner import StartupError, run_channels
from bot.safety import install_log_redaction
from tests.channelkit import button, buttons, free_port
from tests.fake_telegram import BOT_USERNAME, TOKEN

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tg_deps(small_deps, tfake, caplog):
    settings = dataclasses.replace(small_deps.settings, telegram_bot_token=TOKEN,
                                   telegram_base_url=tfake.base_url)
    install_log_redaction(settings.secrets)  # as setup_logging does: secrets masked in every record
    caplog.set_level(logging.INFO)
    return dataclasses.replace(small_deps, settings=settings)


@pytest.fixture
async def channel(tg_deps):
    ch = await tg.start(tg_deps, web.Application(), poll_timeout=1)
    yield ch
    await ch.stop()


async def test_start_greets_with_topic_buttons(tfake, channel):
    await tfake.push_text("/start", name="Bà Tư")
    [msg] = await tfake.wait_sent()
    assert msg["text"].startswith("Xin chào Bà Tư!")
    assert "parse_mode" not in tfake.methods("sendMessage")[0]
    assert any("VNeID" in b["text"] for b in buttons(msg))
    assert all(b["callback_data"].startswith("topic:") for b in buttons(msg))


async def test_commands_registered_in_vietnamese(tfake, channel):
    names = {c["command"]: c["description"] for c in tfake.commands}
    assert {"start", "chude", "trogiup", "help", "huy"} <= names.keys()
    assert names["chude"] == "xem các chủ đề hỏi đáp"
    assert names["huy"] == "hủy thao tác đang làm"
    # Polling starts by deleting any webhook, and asks only for what the bot handles.
    assert tfake.methods("deleteWebhook")
    polls = await tfake.wait_for(lambda: tfake.methods("getUpdates"))
    assert polls[-1]["allowed_updates"] == ["message", "callback_query"]


async def test_question_without_diacritics_then_button_press(tfake, channel, tg_deps):
    await tfake.push_text("kich hoat vneid ko dc")
    [answer] = await tfake.wait_sent()
    assert answer["text"].startswith("📌 Kích hoạt tài khoản VNeID")
    assert "Câu trả lời có giúp ích không?" in answer["text"]
    labels = [b["text"] for b in buttons(answer)]
    assert labels == ["👍 Có", "👎 Chưa", "Quên mật khẩu VNeID"]  # feedback always first
    assert [len(row) for row in answer["reply_markup"]["inline_keyboard"]] == [2, 1]

    await tfake.push_callback(answer, button(answer, "Có")["callback_data"])
    [thanks] = await tfake.wait_sent(after=1)
    assert thanks["text"].startswith("Cảm ơn bạn!")
    assert len(tfake.answered) == 1  # the spinner stopped
    rows = tg_deps.storage.db.execute("SELECT user_key, entry_id, helpful FROM feedback").fetchall()
    assert rows == [("telegram:111", "vneid-kich-hoat", 1)]

    # The same button again: the core's polite reply, and the query is still answered.
    await tfake.push_callback(answer, button(answer, "Có")["callback_data"])
    [again] = await tfake.wait_sent(after=2)
    assert "đã góp ý" in again["text"]
    assert len(tfake.answered) == 2

    await tfake.push_callback(answer, button(answer, "Quên")["callback_data"])
    [related] = await tfake.wait_sent(after=3)
    assert related["text"].startswith("📌 Quên mật khẩu VNeID")


async def test_stale_button(tfake, channel):
    await tfake.push_text("/start")
    [msg] = await tfake.wait_sent()
    await tfake.push_callback(msg, "f:abc123:yes")  # a flow button from a conversation long gone
    [reply] = await tfake.wait_sent(after=1)
    assert "Nút này đã cũ" in reply["text"]
    assert len(tfake.answered) == 1


async def test_topic_browsing_by_buttons(tfake, channel):
    await tfake.push_text("/chude")
    [topics] = await tfake.wait_sent()
    await tfake.push_callback(topics, button(topics, "VNeID")["callback_data"])
    [entries] = await tfake.wait_sent(after=1)
    assert {b["text"] for b in buttons(entries)} == {"Kích hoạt tài khoản VNeID", "Quên mật khẩu VNeID"}


async def test_a_bare_topic_name_lists_the_topic(tfake, channel):
    await tfake.push_text("VNeID")  # a topic, not a question: its list, not a guess or "no answer yet"
    [entries] = await tfake.wait_sent()
    assert entries["text"].startswith("VNeID và định danh điện tử")
    assert {b["text"] for b in buttons(entries)} == {"Kích hoạt tài khoản VNeID", "Quên mật khẩu VNeID"}
    await tfake.push_callback(entries, button(entries, "Quên mật khẩu VNeID")["callback_data"])
    [answer] = await tfake.wait_sent(after=1)
    assert answer["text"].startswith("📌 Quên mật khẩu VNeID")


async def test_sticker_photo_contact_explained_never_kept(tfake, channel, tg_deps):
    sticker = {"file_id": "s1", "file_unique_id": "su1", "type": "regular", "width": 512, "height": 512,
               "is_animated": False, "is_video": False}
    await tfake.push(tfake.message(111, sticker=sticker))
    [reply] = await tfake.wait_sent()
    assert "nhãn dán (sticker)" in reply["text"]
    contact = {"phone_number": "0912345678", "first_name": "Hoa", "user_id": 222}
    await tfake.push(tfake.message(111, contact=contact))
    [reply] = await tfake.wait_sent(after=1)
    assert "danh bạ" in reply["text"]
    photo = [{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}]
    await tfake.push(tfake.message(111, photo=photo, caption="CCCD 012345678901"))
    warning, reply, *_ = await tfake.wait_sent(3, after=2)  # the caption is text: warned, hidden, then read
    assert "thông tin cần giữ kín" in warning["text"] and "ảnh" in reply["text"]
    dump = "\n".join(tg_deps.storage.conn.iterdump())
    assert "0912345678" not in dump and "012345678901" not in dump and "p1" not in dump
    assert not tfake.methods("getFile")  # nothing downloaded


async def test_very_long_message_is_answered(tfake, channel):
    await tfake.push_text("kich hoat vneid ko dc " + "a" * 5000)
    [reply] = await tfake.wait_sent()
    assert reply["text"]


async def test_long_reply_is_split_under_the_limit(tfake, channel, tg_deps):
    line = "Bước tiếp theo: mở ứng dụng VNeID, chọn mục cần làm rồi làm theo hướng dẫn trên màn hình. 🙂"
    text = "\n".join(f"{i}. {line}" for i in range(120))
    await channel.send("111", [Reply(text, (Choice("👍 Có", "fb:x:1"),))])
    parts = await tfake.wait_sent(count=3)
    assert all(len(p["text"].encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "".join(p["text"] for p in parts).replace("\n", "") == text.replace("\n", "")
    assert all(p["text"].split(". ", 1)[0].isdigit() for p in parts)  # cut at line boundaries
    assert [bool(buttons(p)) for p in parts] == [False] * (len(parts) - 1) + [True]


def test_split_text_cuts_at_sentences_and_counts_utf16():
    text = ("Câu một rất dài. " * 300).strip()
    parts = tg.split_text(text, 1000)
    assert all(tg.utf16_len(p) <= 1000 for p in parts)
    assert all(p.endswith(".") for p in parts)
    emoji = "😀" * 3000  # 6,000 UTF-16 units, no spaces at all
    parts = tg.split_text(emoji, 4000)
    assert [tg.utf16_len(p) for p in parts] == [4000, 2000]
    assert tg.split_text("   ", tg.MAX_MESSAGE) == []


async def test_long_payloads_are_mapped_through_short_ids(tfake, channel, tg_deps):
    long = "faq:" + "x" * 80
    await channel.send("111", [Reply("Chọn:", (Choice("Mục dài", long), Choice("Ngắn", "faq:-")))])
    [msg] = await tfake.wait_sent()
    data = [b["callback_data"] for b in buttons(msg)]
    assert data[1] == "faq:-" and data[0].startswith("~") and len(data[0].encode()) <= 64
    assert channel._expand(111, data[0]) == long
    await tfake.push_callback(msg, data[0])
    [reply] = await tfake.wait_sent(after=1)
    assert "Mục này không còn nữa" in reply["text"]  # the core got the full payload
    await tfake.push_callback(msg, "~unknownid")
    [reply] = await tfake.wait_sent(after=2)
    assert "Nút này đã cũ" in reply["text"]


async def test_group_only_answers_when_addressed(tfake, channel):
    group = -100123
    await tfake.push_text("kich hoat vneid ko dc", user_id=5, chat_id=group, chat_type="supergroup")
    await tfake.push_text("/start@other_bot", user_id=5, chat_id=group, chat_type="supergroup")
    await tfake.push_text(f"@{BOT_USERNAME} kich hoat vneid ko dc", user_id=5, chat_id=group,
                         chat_type="supergroup")
    [answer] = await tfake.wait_sent()
    assert answer["text"].startswith("📌 Kích hoạt tài khoản VNeID")
    assert answer["chat"]["id"] == group
    assert "reply_to_message_id" in answer  # quotes the asker's message in the group
    await tfake.push_text("/chude", user_id=6, chat_id=group, chat_type="supergroup")
    [topics] = await tfake.wait_sent(after=1)
    assert topics["text"].startswith("Bạn muốn tìm hiểu")
    await tfake.push_text("quen mk vneid", user_id=6, chat_id=group, chat_type="supergroup", reply_to=answer)
    [reply] = await tfake.wait_sent(after=2)
    assert reply["text"].startswith("📌 Quên mật khẩu VNeID")
    # One user's updates are handled in order, so user 5's answered message came after their two
    # unaddressed ones: those got nothing.
    assert len(tfake.sent) == 3


async def test_flood_limit_and_bad_gateway_are_survived(tfake, channel):
    tfake.fail("sendMessage", 429, retry_after=1)
    await tfake.push_text("/start")
    [msg] = await tfake.wait_sent()
    assert msg["text"].startswith("Xin chào")
    tfake.fail("sendMessage", 502)
    tfake.fail("answerCallbackQuery", 502)
    await tfake.push_callback(msg, button(msg, "VNeID")["callback_data"])
    [entries] = await tfake.wait_sent(after=1)
    assert buttons(entries)
    assert len(tfake.answered) == 1
    assert len(tfake.methods("sendMessage")) == 4  # 429 + retry, 502 + retry


async def test_polling_survives_a_bad_gateway(tfake, channel):
    polls = len(tfake.methods("getUpdates"))
    tfake.fail("getUpdates", 502)
    # The failing poll was served (polls + 1), and polling went on after it (polls + 2).
    await tfake.wait_for(lambda: len(tfake.methods("getUpdates")) >= polls + 2)
    assert not tfake.faults["getUpdates"]
    await tfake.push_text("/start")
    [msg] = await tfake.wait_sent()
    assert msg["text"].startswith("Xin chào")


async def test_slow_network_times_out_and_is_retried(tfake):
    from telegram import Bot
    from telegram.error import TimedOut

    from bot.channels.aiohttp_request import AiohttpRequest

    bot = Bot(TOKEN, base_url=tfake.base_url, request=AiohttpRequest(read_timeout=0.2))
    async with bot:
        tfake.delay("sendChatAction", 1)
        with pytest.raises(TimedOut):
            await bot.send_chat_action(111, "typing")
        tfake.delay("sendChatAction", 1)
        assert await tg.with_retries(lambda: bot.send_chat_action(111, "typing"), "sendChatAction")
    assert len(tfake.methods("sendChatAction")) == 3


async def test_error_is_logged_masked_and_user_told(tfake, channel, monkeypatch, caplog):
    async def broken(incoming, deps):
        raise RuntimeError(f"boom with {TOKEN} and 0912345678")

    monkeypatch.setattr(tg, "respond", broken)
    await tfake.push_text("xin chao")
    [msg] = await tfake.wait_sent()
    assert msg["text"].startswith("Xin lỗi, đã có lỗi")
    assert "boom" in caplog.text
    assert TOKEN not in caplog.text and "0912345678" not in caplog.text


async def test_bad_token_is_a_clear_startup_error(tfake, tg_deps):
    deps = dataclasses.replace(tg_deps, settings=dataclasses.replace(
        tg_deps.settings, telegram_bot_token="42:wrong"))
    with pytest.raises(StartupError, match="TELEGRAM_BOT_TOKEN"):
        await tg.start(deps, web.Application(), poll_timeout=1)


async def test_unreachable_server_is_a_clear_startup_error(tg_deps):
    port = free_port()  # nothing listens there
    deps = dataclasses.replace(tg_deps, settings=dataclasses.replace(
        tg_deps.settings, telegram_base_url=f"http://127.0.0.1:{port}/bot"))
    with pytest.raises(StartupError, match="Không kết nối được"):
        await tg.start(deps, web.Application(), poll_timeout=1)


async def test_proactive_send_with_file_and_image(tfake, channel, tg_deps, tmp_path):
    sheet = tmp_path / "bao-cao.xlsx"
    sheet.write_bytes(b"PK\x03\x04 fake xlsx")
    chart = tmp_path / "bieu-do.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n fake png")
    await tg_deps.services.senders.setdefault("telegram", channel.send)(
        "111", [Reply("Báo cáo tuần", file=sheet), Reply("Biểu đồ " + "x" * 1100, image=chart)])
    sent = await tfake.wait_sent(count=3)
    assert sent[0]["document"]["file_name"] == "bao-cao.xlsx" and sent[0]["caption"] == "Báo cáo tuần"
    assert sent[1]["text"].startswith("Biểu đồ")  # too long for a caption: sent before the photo
    assert sent[2]["photo"] and "caption" not in sent[2]
    assert tfake.methods("sendChatAction")

    # Both an image and a file, with buttons: caption on the first, buttons on the last.
    await channel.send("111", [Reply("Kết quả", (Choice("👍 Có", "fb:x:1"),), file=sheet, image=chart)])
    photo, document = await tfake.wait_sent(count=2, after=3)
    assert photo["photo"] and photo["caption"] == "Kết quả" and not buttons(photo)
    assert document["document"]["file_name"] == "bao-cao.xlsx" and buttons(document)
    await channel.send("111", [Reply("Tệp đã bị xóa", file=tmp_path / "missing.xlsx")])
    [note] = await tfake.wait_sent(after=5)
    assert note["text"] == "Tệp đã bị xóa"


async def test_webhook_mode_checks_the_secret(tfake, tg_deps):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    settings = dataclasses.replace(tg_deps.settings, telegram_webhook_url=url,
                                   telegram_webhook_secret="s3cret-Value_1", webhook_listen=("127.0.0.1", port))
    deps = dataclasses.replace(tg_deps, settings=settings)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_channels(deps, ["telegram"], stop, ready))
    await asyncio.wait_for(ready.wait(), 5)
    try:
        assert tfake.webhook == {"url": url, "secret_token": "s3cret-Value_1",
                                "allowed_updates": ["message", "callback_query"]}
        assert not tfake.methods("getUpdates")
        await tfake.push_text("/start")  # delivered by POST with the right secret
        [msg] = await tfake.wait_sent()
        assert msg["text"].startswith("Xin chào")

        update = {"update_id": 1, **tfake.message(111, "/chude")}
        assert await tfake.post_webhook(update, "wrong") == 403
        assert await tfake.post_webhook(update, None) == 403  # refused before anything is queued
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200
        # Telegram redelivers an update it thinks we missed: answered once only.
        assert await tfake.post_webhook(update, "s3cret-Value_1") == 200
        assert await tfake.post_webhook(update, "s3cret-Value_1") == 200
        await tfake.wait_sent(after=1)
        # A barrier: the same user's next update is handled after the redelivery, which got nothing.
        assert await tfake.post_webhook({"update_id": 2, **tfake.message(111, "/start")}, "s3cret-Value_1") == 200
        [barrier] = await tfake.wait_sent(after=2)
        assert barrier["text"].startswith("Xin chào") and len(tfake.sent) == 3
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_webhook_without_secret_is_refused(tfake, tg_deps):
    settings = dataclasses.replace(tg_deps.settings, telegram_webhook_url="https://bot.example.vn/telegram")
    with pytest.raises(StartupError, match="TELEGRAM_WEBHOOK_SECRET"):
        await tg.start(dataclasses.replace(tg_deps, settings=settings), web.Application())
    settings = dataclasses.replace(settings, telegram_webhook_secret="mật khẩu")
    with pytest.raises(StartupError, match="chữ cái không dấu"):
        await tg.start(dataclasses.replace(tg_deps, settings=settings), web.Application())
    assert not tfake.calls  # refused before talking to Telegram


async def test_updates_pushed_before_stop_are_all_answered(tfake, tg_deps):
    ch = await tg.start(tg_deps, web.Application(), poll_timeout=1)
    for user in range(20):
        await tfake.push_text("/start", user_id=1000 + user)
    await tfake.wait_sent(count=20)
    await ch.stop()
    assert not tfake.pending  # every update confirmed with an offset: none fetched again


async def test_a_burst_is_fetched_about_once(tfake, tg_deps, monkeypatch):
    """The offset waits for unfinished updates, but polling must not fetch the whole batch again and again.
    The batch gets more time here than in production (0.5 s) so that a busy test machine, where 60 answers
    can take longer than that, does not make the count depend on the machine's load."""
    monkeypatch.setattr(tg.Poller, "BATCH_WAIT", 10.0)
    ch = await tg.start(tg_deps, web.Application(), poll_timeout=1)
    try:
        for user in range(60):
            await tfake.push_text("kich hoat vneid", user_id=2000 + user % 15)
        await tfake.wait_sent(count=60, timeout=20)
    finally:
        await ch.stop()
    assert 60 <= tfake.fetched < 90  # fetching from the oldest unfinished one each time gave about 3x


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_python_m_bot_run_with_a_token(tfake, tmp_path):
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": tfake.base_url,
           "DATABASE_PATH": str(tmp_path / "bot.db"), "PYTHONPATH": str(ROOT),
           "KNOWLEDGE_LOCAL_DIR": ""}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        # A new process imports everything and loads the knowledge base first: over 30 s on a loaded machine.
        await tfake.wait_for(lambda: tfake.methods("getUpdates"), timeout=180)
        await tfake.push_text("/start")
        [msg] = await tfake.wait_sent()
        assert msg["text"].startswith("Xin chào")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert TOKEN not in err.decode()

    env["TELEGRAM_BOT_TOKEN"] = "42:wrong"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 1
    assert "Không khởi động được" in out.decode() and "TELEGRAM_BOT_TOKEN" in out.decode()
    assert "Traceback" not in err.decode()
