"""Answers a stranger (r18) found wrong or poor when typing as a member, and variants of each kind written
after them (no diacritics, abbreviations, typos), run through the core with the shipped knowledge base.

An expired ID card leads to the card's renewal, not to the VNeID account's validity or the bank; a phone
number someone else registered gets the entry that says what to do; "is anyone there" is a greeting; and
a message with no word the knowledge base knows ("asdfgh", SQL, template strings) is told it was not
understood: no unrelated choices, nothing written to the leaders' list of unanswered questions.
"""

from __future__ import annotations

import pytest

from bot.app import compose
from bot.core import Reply
from handlers.faq import NOT_UNDERSTOOD
from knowledge.kb import KnowledgeBase
from tests.channelkit import ZaloUser, running, zalo_deps
from tests.chat import Chat

RENEWAL = "vneid-doi-the-theo-tuoi"
ONE_NUMBER = "vneid-mot-so-dien-thoai-mot-tai-khoan"
GREETING = "Tôi trả lời các câu hỏi về VNeID"  # the /start greeting (tests/test_calls.py: calls)


def first_entry(replies: list[Reply]) -> tuple[str, str | None]:
    """("answer", id) for an answer, ("choices", id of the first choice), or ("none", None)."""
    for reply in replies:
        for choice in reply.choices:
            if choice.payload.startswith("fb:"):
                return "answer", choice.payload.split(":")[1]
        if reply.text.startswith("Ý bạn là"):
            return "choices", reply.choices[0].payload.partition(":")[2]
    return "none", None


def unanswered(storage) -> list[str]:
    return [q for (q,) in storage.db.conn.execute("select question from unanswered")]


@pytest.mark.parametrize("question", [
    "cccd het han co lam lai dc ko",  # the stranger's: the VNeID account's validity led the choices
    "the can cuoc het han thi lam sao",  # the stranger's: the bank's entry led
    "cccd het han",
    "can cuoc qua han doi o dau",
    "cccd het han roi lam lai o dau",
    "cccd cua me toi het han r",
    "can cuoc het han lam lai mat bao lau",
    "Thẻ căn cước của tôi hết hạn rồi",
])
async def test_an_expired_id_card_leads_to_its_renewal(deps, question):
    status, ident = first_entry(await Chat(deps).say(question))
    assert status in {"answer", "choices"} and ident == RENEWAL, (question, status, ident)


@pytest.mark.parametrize("question", [
    "the can cuoc het han su dung thi phai lam gi", "the cccd qua han roi", "cccd cua ba toi qua han 2 thang roi"])
async def test_an_expired_card_in_the_bank_entrys_words_still_offers_the_renewal(deps, question):
    """"hết hạn sử dụng", "quá hạn" are the bank entry's wording too: the renewal is answered or offered.
    (A phrasing "cccd qua han roi thi lam sao" on the renewal was tried: the refit then offered "quen mat khau
    gmail" with P 0.52, above test_matcher's 0.5 for neighbouring matters, so it was dropped.)"""
    chat = Chat(deps)
    await chat.say(question)
    offered = [c.payload for r in chat.last for c in r.choices]
    assert f"faq:{RENEWAL}" in offered or f"fb:{RENEWAL}:1" in offered, (question, offered)


async def test_a_penalty_for_an_expired_card_is_the_penalty_entry(deps):
    status, ident = first_entry(await Chat(deps).say("the cc het han phat ko"))
    assert ident == "vneid-phat-cham-doi-the", (status, ident)


@pytest.mark.parametrize("question", [
    "sdt cua toi bi nguoi khac dung dang ky vneid",  # the stranger's
    "sdt bi ng khac dang ky vneid roi",
    "so dt cua minh bi ai do dang ky tai khoan vneid",
    "sdt da dc dang ky vneid cho nguoi khac",
    "so dien thoai bi trung tai khoan vneid nguoi khac",
    "so dien thoai cua me bi nguoi khac lay dang ky vneid",
])
async def test_a_phone_number_someone_else_registered_says_what_to_do(deps, question):
    chat = Chat(deps)
    status, ident = first_entry(await chat.say(question))
    assert ident == ONE_NUMBER, (question, status, ident)
    if status == "choices":  # (offered first: the member picks it)
        await chat.press(f"faq:{ONE_NUMBER}")
    # The short answer itself says what to do: ask the commune police to change the number, or the hotline.
    assert "Công an xã/phường xin đổi số" in chat.text and "1900 0368" in chat.text, chat.text


@pytest.mark.parametrize("question", ["co ai ko", "co ai o day ko", "alo alo co ai ko", "co ai ko a", "alo alo"])
async def test_is_anyone_there_is_a_greeting(deps, storage, question):
    chat = Chat(deps)
    await chat.say(question)
    assert chat.text.startswith("Xin chào") and GREETING in chat.text, (question, chat.text)
    assert not unanswered(storage)


@pytest.mark.parametrize("question", [
    "asdfgh", "hjkl", "zzz", "hmm", "test", "null", "{{7*7}}", "%s%s%s%n", "' OR '1'='1", "admin'--",
    "select * from", "SELECT * FROM records WHERE village = 'x'", "union select id, name from teams",
    "DELETE FROM members WHERE 1=1", "<img src=x onerror=alert(1)>", "${jndi:ldap://evil/a}", "../../etc/passwd",
])
async def test_a_message_with_no_known_word_is_not_understood(deps, storage, question):
    chat = Chat(deps)
    await chat.say(question)
    assert chat.text == NOT_UNDERSTOOD, (question, chat.text)
    assert not any(c.payload.startswith(("faq:", "fb:")) for r in chat.last for c in r.choices)
    assert chat.last[0].choices, "the topics are offered"
    assert not unanswered(storage)


@pytest.mark.parametrize("question", ["'; DROP TABLE records; --", "1; DROP TABLE unanswered", "; ls -la"])
async def test_sql_with_semicolons_is_not_understood_either(deps, storage, question):
    """Text shaped like a command (looks_private) gets the same "not understood", with how to log a record."""
    chat = Chat(deps)
    await chat.say(question)
    assert "chưa hiểu tin nhắn này" in chat.text and "Ý bạn là" not in chat.text, chat.text
    assert not unanswered(storage)


async def test_real_questions_still_get_choices_or_are_logged(deps, storage):
    """Only messages with no known word are "not understood": an unclear real question still gets
    choices, and a real question the knowledge base does not cover is logged for the team."""
    chat = Chat(deps)
    await chat.say("cccd het han co dung vneid dc nua ko")
    assert chat.text.startswith("Ý bạn là"), chat.text
    await chat.say("gia lua hom nay bao nhieu")
    assert "chưa có câu trả lời" in chat.text and NOT_UNDERSTOOD not in chat.text, chat.text
    assert unanswered(storage) == ["gia lua hom nay bao nhieu"]


def test_has_content():
    matcher = KnowledgeBase.load().matcher
    for text in ("asdfgh", "{{7*7}}", "drop table records", "", "1 2 3", "null", "select * from users"):
        assert not matcher.has_content(text), text
        assert matcher.match(text).status == "none" and not matcher.match(text).ranked, text
    for text in ("cccd het han", "alo", "kich hoat vneid", "tk bi khoa", "ok"):
        assert matcher.has_content(text), text


def test_a_question_before_a_long_tail_of_unknown_words_is_still_matched():
    """The content check reads every ranked part, not only the whole message's last words: a question
    followed by more unknown words than a query key keeps is still ranked."""
    matcher = KnowledgeBase.load().matcher
    text = "Cách kích hoạt tài khoản VNeID? " + " ".join(["asdfgh qwerty zxcvb"] * 20)
    assert not matcher.has_content(text)  # the whole message's query key holds its last words only
    m = matcher.match(text)
    assert m.ranked and m.ranked[0].entry.id.startswith("vneid"), m


async def test_not_understood_on_zalo(settings, storage, zfake):
    deps = zalo_deps(compose(
        settings=settings, storage=storage, kb=KnowledgeBase.load()), zfake)
    async with running(deps):
        villager = ZaloUser(zfake, "d" * 20, "Bà Tư")
        await villager.say("{{7*7}}")
        assert NOT_UNDERSTOOD.split(".")[0] in villager.text, villager.text
        await villager.say("co ai o day ko")
        assert GREETING in villager.text, villager.text
    assert not unanswered(storage)


def test_says_something():
    """A question in Vietnamese the knowledge base has no word for is still a question (logged for the team)."""
    matcher = KnowledgeBase.load().matcher
    for text in ("asdfgh", "{{7*7}}", "DROP TABLE records", "null", "hmm", "' OR '1'='1"):
        assert not matcher.says_something(text), text
    for text in ("gia vang hom nay bao nhieu", "nguyen khuya quy yeu", "Giá vàng hôm nay?", "cccd het han"):
        assert matcher.says_something(text), text


INSTALL = "vneid-cai-dat-an-toan"


@pytest.mark.parametrize("question", [
    "lam sao cai vneid",  # r19-stranger3's: answered with the lost-phone entry, whose title says "có cài VNeID"
    "cach cai vneid",
    "cài vneid như thế nào",
    "huong dan cai dat vneid",
    "Tôi muốn hỏi cách cài ứng dụng VNeID",
    "chau oi cai vneid o dau",
])
async def test_installing_vneid_is_the_install_entry(deps, question):
    """Answered, or offered first: the lost-phone entry (its title said "có cài VNeID") is never answered."""
    status, ident = first_entry(await Chat(deps).say(question))
    assert status in {"answer", "choices"} and ident == INSTALL, (question, status, ident)


async def test_a_lost_phone_with_vneid_on_it_is_still_the_lost_phone_entry(deps):
    status, ident = first_entry(await Chat(deps).say("mat dt co cai vneid thi lam gi"))
    assert ident == "vneid-mat-dien-thoai", (status, ident)
