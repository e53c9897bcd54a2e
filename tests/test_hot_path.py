"""What makes an update cheap (issue 10, item 8) keeps doing exactly what the slower code did: Telegram
calls go as JSON with the same keyboards, replies are sent without parsing Telegram's echo, the privacy
guard's one-pass path agrees with the character-by-character one, the garbage collector is settled, and
plain private texts read without PTB's objects give the Incoming PTB's Update gives."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import gc
import json
import random
from pathlib import Path

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardMarkup, Message, Update

from bot import heap
from bot.channels import telegram as tg
from bot.core import Choice, Reply
from bot.safety import _NOT_SIMPLE, _normalise_clusters, normalise, redact
from knowledge.sources import Registry
from tests.fake_telegram import TOKEN

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def channel(small_deps, tfake):
    settings = dataclasses.replace(small_deps.settings, telegram_bot_token=TOKEN, telegram_base_url=tfake.base_url)
    ch = await tg.start(dataclasses.replace(small_deps, settings=settings), web.Application(), poll_timeout=1)
    yield ch
    await ch.stop()


@pytest.fixture
def bodies(tfake, monkeypatch):
    """(method, content type, raw body) of every call the fake gets."""
    seen: list[tuple[str, str, bytes]] = []
    original = tfake._params

    async def params(request: web.Request):  # type: ignore[no-untyped-def]
        seen.append((request.match_info["method"], request.content_type, await request.read()))
        return await original(request)

    monkeypatch.setattr(tfake, "_params", params)
    return seen


async def test_replies_go_as_json_with_the_keyboard_as_an_object(tfake, channel, bodies):
    await tfake.push_text("kich hoat vneid ko dc")
    [answer] = await tfake.wait_sent()
    [(content_type, raw)] = [(ct, raw) for method, ct, raw in bodies if method == "sendMessage"]
    assert content_type == "application/json"
    body = json.loads(raw)
    assert body["chat_id"] == 111 and body["text"] == answer["text"]
    assert body["reply_markup"]["inline_keyboard"][0] == [{"text": "👍 Có", "callback_data": body["reply_markup"][
        "inline_keyboard"][0][0]["callback_data"]}, {"text": "👎 Chưa", "callback_data": body["reply_markup"][
        "inline_keyboard"][0][1]["callback_data"]}]
    assert "Kích hoạt".encode() in raw  # UTF-8, not \u escapes: a third of the bytes
    polls = [(ct, json.loads(raw)) for method, ct, raw in bodies if method == "getUpdates"]
    assert polls and all(ct == "application/json" for ct, _ in polls)
    assert polls[-1][1]["allowed_updates"] == ["message", "callback_query"]


async def test_a_reply_is_sent_without_parsing_telegrams_echo(tfake, channel, monkeypatch):
    parsed: list[object] = []
    original = Message.de_json.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Message, "de_json", classmethod(lambda cls, data, bot=None: parsed.append(data)
                                                        or original(cls, data, bot)))
    await channel.send("111", [Reply("Chào bạn", (Choice("👍 Có", "fb:x:1"), Choice("Mở", url="https://dichvucong.gov.vn")))])
    [sent] = await tfake.wait_sent()
    assert sent["text"] == "Chào bạn" and sent["reply_markup"]["inline_keyboard"][1] == [
        {"text": "Mở", "url": "https://dichvucong.gov.vn"}]
    assert parsed == []


def test_keyboards_are_exactly_what_ptb_would_send():
    """The JSON keyboard round-trips through PTB's InlineKeyboardMarkup unchanged, for every kind of button."""
    bot = Bot(TOKEN)
    rng = random.Random(10)
    labels = ["👍 Có", "👎 Chưa", "📖 Xem đầy đủ", "Quên mật khẩu VNeID", "", "Một nhãn rất dài " * 12, "✅ Xong"]
    for _ in range(300):
        choices = []
        for _ in range(rng.randint(1, 8)):
            label = rng.choice(labels)
            if rng.random() < 0.15:
                choices.append(Choice(label, url="https://dichvucong.gov.vn/p", web_app=rng.random() < 0.5))
            else:
                choices.append(Choice(label, rng.choice(["fb:a:1", "faq:" + "x" * rng.randint(1, 80), "f:ab:Đã xong"])))
        long_payloads: dict[str, str] = {}
        keys = tg.keyboard(tuple(choices), long_payloads)
        assert InlineKeyboardMarkup.de_json(keys, bot).to_dict() == keys
        for row in keys["inline_keyboard"]:
            assert 1 <= len(row) <= 2
            for button in row:
                assert button["text"] and len(button.get("callback_data", "").encode()) <= tg.MAX_CALLBACK_DATA
        assert all(tg.short_payload(p) == s for s, p in long_payloads.items())


def _questions() -> list[str]:
    texts = []
    for path in sorted((ROOT / "benchmarks" / "eval").glob("*.tsv")):
        with path.open(encoding="utf-8") as f:
            texts += [row["question"] for row in csv.DictReader(f, delimiter="\t")]
    return texts


def test_one_pass_normalisation_agrees_with_the_cluster_walk():
    rng = random.Random(13)
    alphabet = list("abcdđeêghiklmnoôơpqrstuưvxyáàảãạăắằẳẵặâấầẩẫậéèẻẽẹĐÁÔƯ0123456789.-/_,():=@#") + [
        " ", " ", "mk ", "otp ", " la ", "ma ", "pin ", "mat khau ", "Mã OTP ", "cccd "]
    texts = _questions() + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50))) for _ in range(3000)]
    fast = 0
    for text in texts:
        assert normalise(text) == _normalise_clusters(text), text
        fast += not _NOT_SIMPLE.search(text) and "  " not in text
    assert fast > 1000  # the comparison did exercise the one-pass path


@pytest.mark.parametrize("text, secret", [
    ("so cccd cua toi la 079203004567", "079203004567"),
    ("Mã OTP là 482913", "482913"),
    ("mk: Abc@1234", "Abc@1234"),
    ("482913", "482913"),
    ("tài khoản 0912345678 bị khóa", "0912345678"),
])
def test_plain_text_is_still_masked(text, secret):
    guarded = redact(text)
    assert secret not in guarded.text and "[đã ẩn]" in guarded.text


def test_sources_are_classified_once_per_url_with_the_same_verdicts():
    registry = Registry({"official": {"gov.vn": "Cổng chính phủ", "dichvucong.gov.vn": "Cổng DVC"},
                         "press": {"vnexpress.net": "VnExpress"}, "disallowed": {"bad.gov.vn": "giả mạo"}})
    for url, category, name in [("https://dichvucong.gov.vn/p", "official", "Cổng DVC"),
                                ("https://www.x.gov.vn/a", "official", "Cổng chính phủ"),
                                ("https://bad.gov.vn/", "disallowed", "giả mạo"),
                                ("https://vnexpress.net/a", "press", "VnExpress"),
                                ("file.pdf", "unknown", "")]:
        first, again = registry.classify(url), registry.classify(url)
        assert (first.category, first.name) == (category, name) and again == first


def test_settle_freezes_the_start_up_heap_and_raises_the_young_threshold():
    threshold = gc.get_threshold()
    try:
        heap.settle()
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def test_an_update_fetched_again_while_in_flight_is_parsed_once(tfake, channel, monkeypatch):
    """The poller asks from the oldest unfinished update, so Telegram repeats it; it is read only once."""
    parsed: list[int] = []
    original = tg.read_update
    monkeypatch.setattr(tg, "read_update", lambda raw, bot: parsed.append(raw["update_id"]) or original(raw, bot))
    tfake.delay("sendMessage", 1.5)  # the answer takes longer than the poller's wait for its batch
    pushed = await tfake.push_text("kich hoat vneid ko dc")
    await tfake.wait_sent(timeout=10)
    assert tfake.fetched >= 2  # handed out again while it was being answered
    assert parsed.count(pushed["update_id"]) == 1


def _raw_updates(tfake) -> list[dict]:  # type: ignore[no-untyped-def]
    """Updates of every shape the bot meets, and near misses of the plain private text message."""
    def with_id(update: dict) -> dict:
        return {"update_id": random.randrange(1, 10**9), **update}

    plain = [tfake.message(5, "kich hoat vneid ko dc"), tfake.message(6, "/start"), tfake.message(7, "/chude@tcns_bot"),
             tfake.message(8, "gọi 0912345678 hỏi @tcns_bot nhé", name="Bà Tư"), tfake.message(9, ""),
             tfake.message(10, "Kích hoạt tài khoản định danh điện tử 👍🏽", name="")]
    updates = [with_id(u) for u in plain]
    base = updates[0]
    others = [
        tfake.message(5, "hỏi @tcns_bot kich hoat vneid", chat_id=-100, chat_type="supergroup"),
        tfake.message(5, "kich hoat vneid", chat_id=-100, chat_type="group"),
        tfake.message(5, None, sticker={"file_id": "x", "file_unique_id": "y", "type": "regular", "width": 1,
                                        "height": 1, "is_animated": False, "is_video": False}),
        tfake.message(5, None, caption="vneid bị lỗi", photo=[{"file_id": "p", "file_unique_id": "q", "width": 1,
                                                               "height": 1}]),
        tfake.message(5, "trả lời", reply_to={"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}}),
        {"edited_message": base["message"]},
        {"channel_post": {**base["message"], "chat": {"id": -5, "type": "channel", "title": "Kênh"}}},
    ]
    updates += [with_id(u) for u in others]
    message = base["message"]
    near = [
        {**message, "from": {**message["from"], "is_bot": True}},
        {**message, "from": {k: v for k, v in message["from"].items() if k != "is_bot"}},
        {**message, "from": {k: v for k, v in message["from"].items() if k != "first_name"}},
        {**message, "from": {**message["from"], "id": "5"}},
        {**message, "chat": {**message["chat"], "type": "channel"}},
        {**message, "chat": {"id": 5}},
        {**message, "text": 42},
        {**message, "date": "yesterday"},
        {k: v for k, v in message.items() if k != "date"},
        {k: v for k, v in message.items() if k != "from"},
        {**message, "entities": [{"type": "text_link", "offset": 0, "length": 4, "url": "https://x.vn"}]},
        {**message, "entities": [{"type": "bold", "offset": "0", "length": 4}]},
        {**message, "entities": "bold"},
        {**message, "sender_chat": {"id": -9, "type": "channel"}},
        {**message, "via_bot": {"id": 1, "is_bot": True, "first_name": "b"}},
    ]
    updates += [with_id({"message": m}) for m in near]
    updates.append({**updates[0], "callback_query": {"id": "1"}})
    updates.append({"update_id": "7", "message": message})
    return updates


async def test_plain_private_texts_are_read_as_ptb_reads_them(tfake, channel):
    """The fast reader takes only the shapes it checks, and gives exactly the Incoming PTB's Update gives."""
    bot = channel.bot
    taken = 0
    for raw in _raw_updates(tfake):
        plain = tg.plain_text(raw)
        if plain is None:
            continue
        taken += 1
        update = Update.de_json(raw, bot)
        assert channel.to_incoming(update) == (plain.incoming, None), raw
        assert plain.update_id == update.update_id
        assert tg.read_update(raw, bot) == plain
    assert taken == 6  # the six plain messages, none of the others


async def test_a_plain_text_and_an_update_of_one_user_share_a_turn():
    """A user's fast-read texts and their other updates (a button press) still run one at a time, in order."""
    processor = tg.PerUserProcessor(4)
    raw = {"update_id": 1, "message": {"message_id": 1, "date": 1, "text": "a", "chat": {"id": 5, "type": "private"},
                                       "from": {"id": 5, "is_bot": False, "first_name": "Lan"}}}
    plain = tg.plain_text(raw)
    update = Update.de_json({"update_id": 2, "callback_query": {
        "id": "q", "chat_instance": "1", "data": "x", "from": {"id": 5, "is_bot": False, "first_name": "Lan"}}}, None)
    order: list[str] = []

    async def work(name: str, pause: float) -> None:
        order.append(f"{name} start")
        await asyncio.sleep(pause)
        order.append(f"{name} end")

    await asyncio.gather(processor.do_process_update(plain, work("text", 0.05)),
                         processor.do_process_update(update, work("press", 0)))
    assert order == ["text start", "text end", "press start", "press end"]


@pytest.mark.parametrize("text", ["", "kich hoat vneid ko dc", "Kích hoạt tài khoản định danh điện tử 👍🏽",
                                  "👨‍👩‍👧 gia đình ✅", "a\ud83db", "\U0001f600" * 5000])
def test_utf16_length_counts_as_before(text):
    from bot.channels.render import utf16_len

    assert utf16_len(text) == len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


async def test_a_fast_read_text_that_fails_still_gets_the_sorry(tfake, channel, monkeypatch):
    """PTB's error handler answers a PlainText's chat as it answers an Update's."""
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("rendering broke")

    monkeypatch.setattr(channel, "deliver", broken)
    await tfake.push_text("kich hoat vneid ko dc", user_id=777)
    [sorry] = await tfake.wait_sent(timeout=10)
    assert sorry["chat"]["id"] == 777 and sorry["text"].startswith("Xin lỗi, đã có lỗi")
