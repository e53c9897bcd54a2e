"""Being called rather than asked: "bot ơi", "alo alo", "ê có ai không", "có ai trực không", "ad ơi".

A bare call is greeted with what the bot does and the topics (the /start greeting), never logged as an
unanswered question; a call before (or after) a question is dropped, and the question gets the same reply it
gets without it. Through the core, and end to end through the Telegram and Zalo adapters against their fakes.
"""

from __future__ import annotations

import pytest

from bot.app import compose
from bot.core import Incoming, Reply, respond
from handlers.help import GREETING
from knowledge.kb import KnowledgeBase
from knowledge.question import is_call, split_question
from tests.channelkit import (
    TelegramUser,
    ZaloUser,
    buttons,
    running,
    telegram_deps,
    telegram_running,
    zalo_deps,
)
from tests.chat import Chat

CAN_DO = GREETING.split("\n")[1][:40]  # "Tôi trả lời các câu hỏi về VNeID, dịch vụ công…"
CALLS = ["bot ơi", "bot oi", "ê có ai không", "có ai trực không", "alo", "alo alo", "ad ơi", "admin ơi", "chào bot",
         "hi", "hello", "ơi", "Bot ơi!!", "e co ai ko", "co ai truc ko", "ai trực đấy không", "ê bot", "anh chị ơi",
         "alo alo có ai không ạ", "có ai ở đó không", "admin oi co o do ko", "hi bot oi", "Xin chào", "ê ad ơi",
         "bot còn ở đó không", "Alo, bot ơi?", "bot"]
NOT_CALLS = ["có ai biết kích hoạt vneid không", "cơ bản", "e mất thẻ atm", "chào mừng", "bot lừa đảo",
             "ai trực ở ủy ban xã", "ban đêm có ai trực bộ phận một cửa không", "hi vọng", "oi bức quá",
             "con tôi mất cccd", "có ai bị lừa chưa", "mất cccd làm lại ở đâu"]
# (a call, then the question): the question's reply must be the same as without the call.
CALLED_QUESTIONS = [
    ("bot ơi cho hỏi ", "kích hoạt vneid ko dc"),
    ("alo, ", "mất cccd làm lại ở đâu"),
    ("alo alo ", "quen mat khau vneid"),
    ("hi bot, ", "cach nop ho so dich vu cong"),
    ("ê bot ơi, ", "mất cccd làm lại ở đâu"),
    ("Ơi, ", "tài khoản ngân hàng bị khóa thì làm sao"),
    ("Có ai không, ", "quên mật khẩu VNeID"),
    ("hello ", "cach nap tien dien thoai qua app ngan hang"),
    ("ad ơi ", "bị lừa chuyển tiền thì báo ai"),
]
CALLED_AFTER = [("mất cccd làm lại ở đâu", " bot ơi"), ("quên mật khẩu vneid", ", ad ơi ạ"),
                ("kich hoat vneid muc 2 the nao vay", " bot oi")]


@pytest.mark.parametrize("text", CALLS)
def test_a_call_is_recognised(text):
    assert is_call(text), text


@pytest.mark.parametrize("text", NOT_CALLS)
def test_a_question_or_a_word_with_a_call_in_it_is_not_a_call(text):
    assert not is_call(text), text


@pytest.mark.parametrize("call, question", CALLED_QUESTIONS)
def test_the_cutter_drops_a_call_before_the_question(call, question):
    assert split_question(call + question) == split_question(question)


@pytest.mark.parametrize("question, call", CALLED_AFTER)
def test_the_cutter_drops_a_call_after_the_question(question, call):
    assert split_question(question + call) == split_question(question)


def test_a_question_that_merely_opens_like_a_call_keeps_its_words():
    """'có ai biết …' asks; 'e mất …' is 'em mất …'; 'hi vọng' is a word: nothing is cut without a call word."""
    for text in ("có ai biết kích hoạt vneid không", "e mất thẻ atm rồi làm sao", "bot lừa đảo qua điện thoại"):
        assert split_question(text) == [text]


def greeted(replies: list[Reply]) -> bool:
    return len(replies) == 1 and CAN_DO in replies[0].text and any(c.payload.startswith("topic:")
                                                                    for c in replies[0].choices)


@pytest.mark.parametrize("text", CALLS)
async def test_a_call_is_greeted_with_what_the_bot_does(deps, storage, text):
    replies = await Chat(deps).say(text)
    assert greeted(replies), (text, [r.text for r in replies])
    assert not storage.db.conn.execute("select count(*) from unanswered").fetchone()[0]


def shown(replies: list[Reply]) -> list[tuple[str, tuple[str, ...]]]:
    return [(r.text, tuple(c.payload for c in r.choices)) for r in replies]


@pytest.mark.parametrize("call, question", CALLED_QUESTIONS)
async def test_a_question_after_a_call_gets_the_questions_own_reply(deps, call, question):
    alone = await Chat(deps, user="alone").say(question)
    called = await Chat(deps, user="called").say(call + question)
    assert shown(called) == shown(alone), (call, question)
    assert not greeted(called)


@pytest.mark.parametrize("question, call", CALLED_AFTER)
async def test_a_question_before_a_call_gets_the_questions_own_reply(deps, question, call):
    assert shown(await Chat(deps, user="b").say(question + call)) == shown(await Chat(deps, user="a").say(question))


async def test_a_call_in_a_group_is_greeted(deps):
    replies = await respond(Incoming("telegram", "7", "-100", text="bot ơi", is_group=True, display_name="Lan"), deps)
    assert greeted(replies), [r.text for r in replies]


async def test_calls_on_telegram(settings, storage, tfake):
    deps = telegram_deps(compose(settings=settings, storage=storage, kb=KnowledgeBase.load()), tfake)
    async with telegram_running(deps):
        user = TelegramUser(tfake, 501, "Bác Ba")
        await user.say("bot ơi")
        assert "Xin chào Bác Ba!" in user.text and CAN_DO in user.text, user.text
        assert any(b["text"].startswith("🪪") or "VNeID" in b["text"] for b in buttons(user.last[0])), user.last
        await user.say("mất cccd làm lại ở đâu")
        alone = user.text
        await user.say("alo, mất cccd làm lại ở đâu")
        assert user.text == alone and "Xin chào" not in user.text, user.text
        await user.say("có ai trực không")
        assert CAN_DO in user.text, user.text
    assert not storage.db.conn.execute("select count(*) from unanswered").fetchone()[0]


async def test_calls_on_zalo(settings, storage, zfake):
    deps = zalo_deps(compose(settings=settings, storage=storage, kb=KnowledgeBase.load()), zfake)
    async with running(deps):
        villager = ZaloUser(zfake, "c" * 20, "Bà Tư")
        await villager.say("ad oi")
        assert "Xin chào Bà Tư!" in villager.text and CAN_DO in villager.text, villager.text
        assert villager.number_of("VNeID") >= 1  # the topics, numbered
        await villager.say("kích hoạt vneid ko dc")
        alone = villager.text
        await villager.say("bot ơi cho hỏi kích hoạt vneid ko dc")
        assert villager.text == alone, villager.text
        await villager.say("ê có ai không")
        assert CAN_DO in villager.text, villager.text
    assert not storage.db.conn.execute("select count(*) from unanswered").fetchone()[0]
