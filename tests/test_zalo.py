"""The Zalo adapter end to end against a loopback fake of the Zalo Bot API (tests/fake_zalo.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

import handlers
from bot import flows
from bot.channels import zalo
from bot.channels.render import split_text, utf16_len
from bot.core import Deps, Reply
from bot.runner import StartupError, build_web_app, run_channels
from tests.channelkit import free_port, running, zalo_deps

USER = "6ede9afa66b88fe6d6a9"
SECRET = "webhook-secret-1234"


def our_logs(caplog) -> str:
    """The bot's log lines (the fake's and the test server's access logs show the URL, as Zalo's would)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp"))


def db_dump(deps: Deps) -> str:
    db = deps.storage.db
    return "\n".join(str(row) for table in db.table_names() for row in db[table].rows)


# --- polling ---------------------------------------------------------------------------------------


async def test_question_without_diacritics_is_answered_by_polling(small_deps, zfake):
    deps = zalo_deps(small_deps, zfake)
    async with running(deps) as (channel, _):
        assert not channel.needs_server
        zfake.push("kich hoat vneid ko dc", user=USER)
        [text] = await zfake.wait_texts(1, USER)
    assert "Kích hoạt tài khoản VNeID" in text
    assert "\n1. 👍 Có\n2. 👎 Chưa\n3. Quên mật khẩu VNeID\nGõ 1, 2 hoặc 3 để chọn." in text
    methods = [m for m, _ in zfake.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    assert methods.index("sendChatAction") < methods.index("sendMessage")
    assert zfake.sent(USER, "sendChatAction") == [{"chat_id": USER, "action": "typing"}]
    assert zfake.sent(method="getUpdates")[0] == {"timeout": 30}  # the call that got the update


async def test_typed_number_picks_the_choice(small_deps, zfake):
    async with running(zalo_deps(small_deps, zfake)):
        zfake.push("kich hoat vneid ko dc", user=USER)
        await zfake.wait_texts(1, USER)
        zfake.push("3", user=USER)  # the related entry: 👍/👎 are always 1 and 2
        texts = await zfake.wait_texts(2, USER)
        zfake.push("2", user=USER)  # 👎 under the second answer
        texts = await zfake.wait_texts(3, USER)
    assert texts[1].startswith("📌 Quên mật khẩu VNeID")
    assert "góp ý" in texts[2]
    assert small_deps.storage.db["feedback"].count == 1


async def test_idle_polls_are_not_errors(small_deps, zfake, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    async with running(zalo_deps(small_deps, zfake)):
        await zfake.wait_for(lambda: zfake.requests.count("getUpdates") >= 3)
        # getUpdates answered 408 every time (nothing queued): no warning, and the loop keeps asking.
        await zfake.wait_for(lambda: zfake.requests.count("getUpdates") >= 5)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")]


async def test_first_name_and_group_events(small_deps, zfake, monkeypatch):
    seen = []
    real = zalo.respond

    async def spy(incoming, deps):
        seen.append(incoming)
        return await real(incoming, deps)

    monkeypatch.setattr(zalo, "respond", spy)
    async with running(zalo_deps(small_deps, zfake)):
        zfake.push("xin chao", user="a1b2", name="Hoa", first_name=True, chat_type="GROUP")
        await zfake.wait_texts(1, "a1b2")
    [incoming] = seen
    assert (incoming.channel, incoming.user_id, incoming.chat_id) == ("zalo", "a1b2", "a1b2")
    assert incoming.display_name == "Hoa" and incoming.is_group and incoming.kind == "text"


async def test_stickers_photos_voice_get_a_friendly_reply_and_nothing_is_stored(small_deps, zfake):
    async with running(zalo_deps(small_deps, zfake)):
        for kind in ("sticker", "image", "voice", "unsupported"):
            zfake.push(kind=kind, user=USER)
        zfake.push(raw={"event_name": "message.reaction.received", "message": {"from": {"id": USER}}})
        zfake.push(raw={"unexpected": True})
        zfake.push("xin chao", user=USER)
        texts = await zfake.wait_texts(5, USER)
    assert "nhãn dán" in texts[0] and "ảnh" in texts[1] and "thoại" in texts[2]
    assert all("chỉ hiểu tin nhắn chữ" in t for t in texts[:4])
    assert texts[4].startswith("Xin chào") and "Tôi trả lời các câu hỏi về" in texts[4]  # a call: the /start greeting
    assert len(zfake.texts(USER)) == 5  # unknown and malformed events got no answer
    dump = db_dump(small_deps)
    assert "photo.zalo.example" not in dump and "voice.zalo.example" not in dump


async def test_rate_limit_and_network_errors_are_recovered(small_deps, zfake):
    zfake.fail("getUpdates", "drop")
    zfake.fail("getUpdates", "502")
    zfake.fail("sendMessage", "429")
    zfake.fail("sendMessage", "drop")
    zfake.fail("sendMessage", "502")
    async with running(zalo_deps(small_deps, zfake)):
        zfake.push("quen mk vneid", user=USER)
        [text] = await zfake.wait_texts(1, USER)
    assert text.startswith("📌 Quên mật khẩu VNeID")
    assert [kind for _, kind in zfake.failed] == ["drop", "502", "429", "drop", "502"]


async def test_a_refused_message_is_not_retried_forever(small_deps, zfake, caplog):
    deps = zalo_deps(small_deps, zfake)
    async with running(deps) as (channel, _):
        with pytest.raises(zalo.SendError):
            await channel.send("", [Reply("Không có người nhận")])  # the fake answers 400 for an empty chat_id
        for _ in range(zalo.SEND_ATTEMPTS):
            zfake.fail("sendMessage", "429")
        with pytest.raises(zalo.SendError):
            await channel.send(USER, [Reply("Quá tải")])
    assert zfake.texts(USER) == []


async def test_long_text_is_split_under_the_limit(small_deps, zfake):
    sentence = "Bà con nhớ cập nhật ứng dụng VNeID 🇻🇳 thường xuyên để dùng được các tính năng mới nhất. "
    paragraph = sentence * 12 + "\n\n"
    long_text = (paragraph * 6).strip()
    assert utf16_len(long_text) > 3 * zalo.TEXT_LIMIT
    async with running(zalo_deps(small_deps, zfake)) as (channel, _):
        await channel.send(USER, [Reply(long_text)])
    pieces = zfake.texts(USER)
    assert len(pieces) >= 4
    assert all(utf16_len(p) <= zalo.TEXT_LIMIT for p in pieces)
    assert all(p.endswith("mới nhất.") for p in pieces)  # cut at a sentence or paragraph end
    assert " ".join(pieces).split() == long_text.split()


def test_split_text_never_tears_a_character_apart():
    family = "👨\u200d👩\u200d👧"  # one emoji made of three joined ones
    text = "x" + family * 500
    pieces = split_text(text, 2000)
    assert "".join(pieces) == text
    assert all(utf16_len(p) <= 2000 and not p.startswith("\u200d") for p in pieces)
    nfd = "Việt Nam".replace("ệ", "e\u0323\u0302") * 400  # decomposed accents
    assert all(not p[0].isspace() for p in split_text(nfd, 500))
    assert split_text("", 2000) == [] and split_text("ngắn", 2000) == ["ngắn"]


async def test_numbered_choices_work_in_a_flow(small_deps, zfake, monkeypatch):
    """Any flow's choices can be picked by typing their number on Zalo."""

    @dataclasses.dataclass
    class Pick:
        village: str = ""

    def ask(turn):
        return [Reply("Bạn chọn thôn nào? Bạn gõ 1 hoặc 2 nhé.", (turn.choice("Thôn Đông", "v:dong"),
                                                                 turn.choice("Thôn Tây", "v:tay")))]

    thu = flows.Flow("thu", Pick, {"ask": flows.Step(ask, {"v": lambda t, arg: t.end(Reply(f"Đã chọn {arg}"))},
                                                     view=True)})

    async def begin(incoming, deps, session):
        return flows.begin(thu, "ask", Pick(), incoming, deps, session, handlers.FLOWS)

    monkeypatch.setitem(handlers.COMMANDS, "/thu", begin)
    monkeypatch.setitem(handlers.FLOWS, "thu", thu)
    async with running(zalo_deps(small_deps, zfake)):
        zfake.push("/thu", user=USER)
        await zfake.wait_texts(1, USER)
        zfake.push(kind="sticker", user=USER)
        await zfake.wait_texts(3, USER)
        zfake.push("2", user=USER)
        texts = await zfake.wait_texts(4, USER)
    assert texts[0].endswith("1. Thôn Đông\n2. Thôn Tây\nGõ 1 hoặc 2 để chọn.")
    assert "nhãn dán" in texts[1] and "Bạn gõ 1 hoặc 2" in texts[2]
    assert texts[3] == "Đã chọn tay"


# --- start-up and shutdown -----------------------------------------------------------------------


async def test_bad_token_is_a_clear_startup_error(small_deps, zfake, caplog):
    caplog.set_level(logging.DEBUG)
    deps = zalo_deps(small_deps, zfake, zalo_bot_token="999:wrong-token")
    with pytest.raises(StartupError, match="ZALO_BOT_TOKEN") as info:
        await zalo.start(deps, build_web_app(deps))
    assert "wrong-token" not in str(info.value) and "wrong-token" not in our_logs(caplog)
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_unreachable_server_is_a_clear_startup_error(small_deps, zfake):
    deps = zalo_deps(small_deps, zfake, zalo_base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StartupError, match="Không kết nối được"):
        await zalo.start(deps, build_web_app(deps))


async def test_webhook_settings_are_checked(small_deps, zfake):
    for url, secret, words in [("http://bot.example.vn/zalo", SECRET, "https"),
                               ("https://bot.example.vn/zalo", "short", "8 đến 256")]:
        deps = zalo_deps(small_deps, zfake, zalo_webhook_url=url, zalo_webhook_secret=secret)
        with pytest.raises(StartupError, match=words):
            await zalo.start(deps, build_web_app(deps))


async def test_stop_is_prompt_and_closes_everything(small_deps, zfake):
    zfake.poll_wait = 30  # the adapter is inside a long poll when asked to stop
    deps = zalo_deps(small_deps, zfake)
    channel = await zalo.start(deps, build_web_app(deps))
    await zfake.wait_for(lambda: "getUpdates" in zfake.requests)
    started = asyncio.get_running_loop().time()
    await channel.stop()
    assert asyncio.get_running_loop().time() - started < 10  # not the 30 s poll; generous for a loaded CI
    assert channel._session.closed and channel._poller is None


async def test_token_never_logged(small_deps, zfake, caplog):
    caplog.set_level(logging.DEBUG)
    zfake.fail("sendMessage", "drop")
    zfake.fail("getUpdates", "429")
    async with running(zalo_deps(small_deps, zfake)):
        zfake.push("quen mk vneid", user=USER)
        await zfake.wait_texts(1, USER)
    ours = our_logs(caplog)
    assert "Zalo sendMessage failed" in ours or "retry" in ours
    assert zfake.token not in ours and zfake.token.split(":")[1] not in ours


# --- webhook -------------------------------------------------------------------------------------


async def test_webhook_secret_bodies_and_duplicates(small_deps, zfake):
    deps = zalo_deps(small_deps, zfake, zalo_webhook_url="https://bot.example.vn/zalo",
                     zalo_webhook_secret=SECRET)
    async with running(deps) as (channel, base):
        url = f"{base}/zalo"
        assert channel.needs_server
        assert zfake.sent(method="setWebhook") == [{"url": "https://bot.example.vn/zalo", "secret_token": SECRET}]

        question = zfake.event("kich hoat vneid ko dc", user=USER)
        assert await zfake.post_webhook(url, question, secret="wrong-secret-123") == 403
        assert await zfake.post_webhook(url, question) == 403  # no header at all (refused before queueing)
        assert zfake.texts() == [] and small_deps.storage.db["seen_messages"].count == 0
        assert small_deps.storage.db["sessions"].count == 0  # nothing processed

        assert await zfake.post_webhook(url, question, secret=SECRET, wrapped=True) == 200
        await zfake.wait_texts(1, USER)
        assert await zfake.post_webhook(url, zfake.event("quen mk vneid", user=USER), secret=SECRET,
                                       wrapped=False) == 200
        texts = await zfake.wait_texts(2, USER)

        assert await zfake.post_webhook(url, question, secret=SECRET, wrapped=False) == 200  # redelivery
        for body in ["not json", "[1, 2]", '{"ok": true}', '{"ok": true, "result": "x"}',
                     '{"event_name": "message.text.received"}']:
            assert await zfake.post_webhook(url, body, secret=SECRET) == 400, body
        unknown = {"event_name": "user.follow", "message": {"from": {"id": USER}}}
        assert await zfake.post_webhook(url, unknown, secret=SECRET) == 200
        # A barrier: the same user's next message is answered after anything queued before it.
        assert await zfake.post_webhook(url, zfake.event("/start", user=USER), secret=SECRET) == 200
        barrier = (await zfake.wait_texts(3, USER))[2]
    assert "Kích hoạt tài khoản VNeID" in texts[0] and texts[1].startswith("📌 Quên mật khẩu VNeID")
    assert barrier.startswith("Xin chào")
    assert len(zfake.texts(USER)) == 3  # the refused, duplicate and unknown events were not answered
    assert "getUpdates" not in [m for m, _ in zfake.calls]


async def test_webhook_through_the_runner_next_to_healthz(small_deps, zfake):
    port = free_port()
    deps = zalo_deps(small_deps, zfake, zalo_webhook_url="https://bot.example.vn/hooks/zalo",
                     zalo_webhook_secret=SECRET, webhook_listen=("127.0.0.1", port))
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_channels(deps, ["zalo"], stop, ready))
    await asyncio.wait_for(ready.wait(), 5)
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session, session.get(f"{base}/healthz") as resp:
            assert resp.status == 200
        assert await zfake.post_webhook(f"{base}/hooks/zalo", zfake.event("xin chao", user=USER),
                                       secret=SECRET) == 200
        [greeting] = await zfake.wait_texts(1, USER)
        assert greeting.startswith("Xin chào") and "Tôi trả lời các câu hỏi về" in greeting  # a call: /start's
        assert deps.services.senders["zalo"].__self__.name == "zalo"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


# --- files -----------------------------------------------------------------------------------------


async def test_files_become_download_links_that_expire(small_deps, zfake, tmp_path: Path):
    report = tmp_path / "Báo cáo tuần 47.xlsx"
    report.write_bytes(b"PK\x03\x04 fake excel bytes")
    chart = tmp_path / "bieu-do.png"
    chart.write_bytes(b"\x89PNG fake chart")
    now = [dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)]
    small_deps.clock = lambda: now[0]
    port = free_port()
    deps = zalo_deps(small_deps, zfake, public_base_url=f"http://127.0.0.1:{port}")
    async with running(deps, port=port) as (channel, base):
        await channel.send(USER, [Reply("Báo cáo tuần đây ạ.", file=report, image=chart, summary="12 lượt")])
        [text] = zfake.texts(USER)
        [photo] = zfake.sent(USER, "sendPhoto")
        assert text.startswith("Báo cáo tuần đây ạ.") and "24 giờ" in text and "12 lượt" not in text
        link = text.split()[-1]
        assert link.startswith(f"{base}/files/") and len(link.rsplit("/", 1)[1]) >= 32
        assert photo["photo"].startswith(f"{base}/files/") and photo["photo"] != link
        async with aiohttp.ClientSession() as session:
            async with session.get(link) as resp:
                assert resp.status == 200 and await resp.read() == report.read_bytes()
                disposition = resp.headers["Content-Disposition"]
                assert "attachment" in disposition and "B%C3%A1o%20c%C3%A1o" in disposition
            async with session.get(f"{base}/files/not-a-real-token") as resp:
                assert resp.status == 404
            now[0] += dt.timedelta(hours=24, seconds=1)
            async with session.get(link) as resp:
                assert resp.status == 404


async def test_without_public_url_files_become_a_summary_and_a_hint(small_deps, zfake, tmp_path: Path):
    report = tmp_path / "bao-cao.xlsx"
    report.write_bytes(b"x")
    async with running(zalo_deps(small_deps, zfake)) as (channel, _):
        await channel.send(USER, [Reply("Tệp Excel đây ạ.", file=report, summary="Tuần này: 12 lượt hỗ trợ.")])
    [text] = zfake.texts(USER)
    assert text.startswith("Tuần này: 12 lượt hỗ trợ.") and "Telegram" in text and "/files/" not in text
    assert small_deps.storage.db["downloads"].count == 0


async def test_webhook_after_stop_is_refused_not_lost(small_deps, zfake):
    deps = zalo_deps(small_deps, zfake, zalo_webhook_url="https://bot.example.vn/zalo", zalo_webhook_secret=SECRET)
    web_app = build_web_app(deps)
    channel = await zalo.start(deps, web_app)
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    try:
        await channel.stop()  # the runner stops channels before the web server
        status = await zfake.post_webhook(str(server.make_url("/zalo")), zfake.event("xin chao"), secret=SECRET)
    finally:
        await server.close()
    assert status == 503 and small_deps.storage.db["seen_messages"].count == 0


async def test_a_chart_zalo_will_not_take_goes_out_as_a_link(small_deps, zfake, tmp_path: Path):
    chart = tmp_path / "bieu-do.png"
    chart.write_bytes(b"\x89PNG fake chart")
    for _ in range(zalo.SEND_ATTEMPTS):
        zfake.fail("sendPhoto", "429")
    deps = zalo_deps(small_deps, zfake, public_base_url="https://bot.example.vn")
    async with running(deps) as (channel, _):
        await channel.send(USER, [Reply("Biểu đồ tuần này:", image=chart)])
    texts = zfake.texts(USER)
    assert texts[0] == "Biểu đồ tuần này:" and zfake.sent(USER, "sendPhoto") == []
    assert "bieu-do.png" in texts[1] and "https://bot.example.vn/files/" in texts[1]
