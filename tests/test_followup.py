"""Follow-ups read with the previous answer (examples from the dev dialogues only), and multi-part questions: through the core for every
channel name, through the Telegram and Zalo adapters against their fakes, and the pure rules."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import compose
from bot.core import Deps
from knowledge import followup
from knowledge.calibration import FOLLOWUP_FEATURES
from knowledge.followup import (
    Context,
    Conversation,
    _own_words,
    bare,
    cues,
    is_followup,
    read,
    reads_with_topic,
    resolve,
    single_cue_answer,
    stands_alone,
    title_cues,
    title_cues_strict,
    wants_other,
)
from knowledge.matcher import Match, Matcher, Scored
from tests.channelkit import TelegramUser, ZaloUser, running, telegram_deps, telegram_running, zalo_deps
from tests.chat import Chat
from tests.teamkit import Clock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import faq_eval

CHANNELS = ["console", "telegram", "zalo"]


@pytest.fixture
def cdeps(settings, storage, shipped_kb) -> Deps:
    return compose(settings=settings, storage=storage, kb=shipped_kb, clock=Clock())


def answered(chat: Chat) -> str | None:
    """The entry the last replies answered (its 👍 button names it), or None."""
    for reply in chat.last:
        for choice in reply.choices:
            if choice.payload.startswith("fb:"):
                return choice.payload.split(":")[1]
    return None


async def play(chat: Chat, clock: Clock, dialogue) -> list[str | None]:  # type: ignore[no-untyped-def]
    """Say each turn; when the right entry is offered as a choice, tap it as a member would."""
    got = []
    for minutes, text, expected in dialogue:
        clock.advance(minutes=minutes)
        await chat.say(text)
        ident = answered(chat)
        got.append(ident)
        if ident is None and expected:
            titles = {chat.deps.kb.entries[e].title for e in faq_eval.accepted(expected) if e in chat.deps.kb.entries}
            if any(c.label in titles for r in chat.last for c in r.choices):
                await chat.pick(next(c.label for r in chat.last for c in r.choices if c.label in titles))
    return got


@pytest.mark.parametrize("channel", CHANNELS)
async def test_dev_dialogues_through_the_core_match_the_evaluation(cdeps, channel):
    """Each dev dialogue through `respond` gives, turn by turn, what the evaluation scored."""
    matcher = cdeps.kb.matcher
    right = 0
    dialogues = faq_eval.read_dialogues("dev")
    for n, dialogue in enumerate(dialogues):
        chat = Chat(cdeps, user=f"d{n}", channel=channel)
        got = await play(chat, cdeps.clock, dialogue)
        conv, now = Conversation(matcher), dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
        expected_by_eval = []
        for minutes, text, expected in dialogue:
            now += dt.timedelta(minutes=minutes)
            m = conv.ask(text, now)
            ident = m.best.entry.id if m.status == "answer" and m.best else None
            if ident is not None and cdeps.kb.entries[ident].topic == "smalltalk":
                ident = None  # small talk has no 👍 button
            expected_by_eval.append(ident)
            hit = [s.entry.id for s in m.choices if s.entry.id in faq_eval.accepted(expected)]
            if ident is None and hit:
                conv.pick(m, hit[0], now)
        assert got == expected_by_eval, dialogue
        right += all((g in faq_eval.accepted(e)) if e else g is None for g, (_, _, e) in zip(got, dialogue, strict=True))
    assert right / len(dialogues) >= 0.7


@pytest.mark.parametrize("channel", CHANNELS)
async def test_short_follow_up_is_read_with_the_previous_answer(cdeps, channel):
    chat = Chat(cdeps, channel=channel)
    await chat.say("dang ky muc 2 can mang gi")
    assert answered(chat) == "vneid-dang-ky-muc-2"
    cdeps.clock.advance(minutes=2)
    await chat.say("mất bao lâu thì có")
    assert answered(chat) == "vneid-thoi-gian-duyet"


@pytest.mark.parametrize("channel", CHANNELS)
async def test_other_topic_in_a_follow_up(cdeps, channel):
    chat = Chat(cdeps, channel=channel)
    await chat.say("tich hop the bhyt vao vneid")
    assert answered(chat) == "vneid-bhyt"
    await chat.say("còn bằng lái thì sao")
    assert answered(chat) == "vneid-giay-phep-lai-xe"


async def test_follow_up_after_ten_minutes_is_not_read_with_the_old_topic(cdeps):
    chat = Chat(cdeps)
    await chat.say("dang ky muc 2 can mang gi")
    cdeps.clock.advance(minutes=11)
    await chat.say("mất bao lâu")
    assert answered(chat) is None  # no topic to read it with: choices or an honest "not yet", never a guess


async def test_two_questions_answer_the_first_and_offer_the_second(cdeps):
    chat = Chat(cdeps)
    await chat.say("Quên mật khẩu VNeID thì làm sao? Còn quên passcode thì sao?")
    assert answered(chat) == "vneid-quen-mat-khau"
    labels = [c.label for c in chat.last[0].choices]
    other = cdeps.kb.entries["vneid-quen-passcode"].title
    related = [cdeps.kb.entries[r].title for r in cdeps.kb.entries["vneid-quen-mat-khau"].related]
    assert labels.count(other) == 1
    assert labels.index(other) <= min(labels.index(t) for t in related if t in labels and t != other)
    await chat.say("cái kia")
    assert answered(chat) == "vneid-quen-passcode"


async def test_a_picked_choice_becomes_the_topic(cdeps):
    chat = Chat(cdeps)
    await chat.press("faq:vneid-dang-ky-muc-2")
    await chat.say("mất bao lâu thì có")
    assert answered(chat) == "vneid-thoi-gian-duyet"


async def test_follow_up_survives_a_restart(cdeps, settings):
    from bot.storage import Storage

    chat = Chat(cdeps)
    await chat.say("dang ky muc 2 can mang gi")
    cdeps.storage.close()
    again = compose(settings=settings, storage=Storage(settings.database_path), kb=cdeps.kb, clock=cdeps.clock)
    chat2 = Chat(again)
    await chat2.say("mất bao lâu thì có")
    assert answered(chat2) == "vneid-thoi-gian-duyet"
    again.storage.close()


async def test_dialogue_through_telegram(tfake, settings, storage, shipped_kb):
    deps = telegram_deps(compose(settings=settings, storage=storage, kb=shipped_kb, clock=Clock()), tfake)
    async with telegram_running(deps):
        user = TelegramUser(tfake, 501)
        await user.say("dang ky thuong tru online")
        assert shipped_kb.entries["dichvucong-thuong-tru-nha-nguoi-than"].title in user.text
        await user.say("le phi bao nhieu")
        assert shipped_kb.entries["dichvucong-le-phi-cu-tru"].title in user.text


async def test_dialogue_through_zalo(zfake, settings, storage, shipped_kb):
    deps = zalo_deps(compose(settings=settings, storage=storage, kb=shipped_kb, clock=Clock()), zfake)
    async with running(deps):
        user = ZaloUser(zfake, "zu-1")
        await user.say("dang ky muc 2 can mang gi")
        assert shipped_kb.entries["vneid-dang-ky-muc-2"].title in user.text
        await user.say("mất bao lâu thì có")
        assert shipped_kb.entries["vneid-thoi-gian-duyet"].title in user.text


@pytest.mark.parametrize("text", ["làm ở đâu", "mất bao lâu", "có mất tiền không", "còn người già thì sao", "cái kia"])
def test_follow_up_wording(text):
    assert is_followup(text)


@pytest.mark.parametrize("text", ["kich hoat vneid ko dc", "Quên mật khẩu VNeID thì phải làm những bước nào "
                                  "khi điện thoại cũ đã bị mất và số điện thoại cũng không còn dùng nữa"])
def test_full_questions_are_not_follow_ups(text):
    assert not is_followup(text)


def test_context_window_and_state_round_trip():
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    ctx = Context("vneid-kich-hoat", at, ("vneid-quen-mat-khau",))
    assert Context.from_state(ctx.to_state()) == ctx
    assert ctx.fresh(at + dt.timedelta(minutes=10)) and not ctx.fresh(at + dt.timedelta(minutes=10, seconds=1))
    assert Context.from_state({"id": "x"}) is None and Context.from_state(None) is None
    assert wants_other("cai kia") and not wants_other("kich hoat")


@pytest.mark.parametrize(("text", "asked"), [
    ("mat bao lau", {"duration"}), ("làm ở đâu", {"place"}), ("có mất tiền không", {"fee"}),
    ("le phi bao nhieu", {"fee"}), ("can giay to gi", {"papers"}), ("goi so nao", {"contact"}),
    ("khi nao phai lam", {"when"}), ("con tien nuoc thi sao", set()), ("kich hoat vneid", set()),
    ("bi mat tien roi thi lam gi", set()), ("mất tiền rồi thì làm gì", set()),  # money lost is not a fee
])
def test_cues_a_follow_up_asks(text, asked):
    assert cues(text) == asked


@pytest.mark.parametrize(("title", "answered"), [
    ("Làm thẻ căn cước bao lâu thì có, chờ lâu chưa nhận được", {"duration"}),
    ("Làm thẻ căn cước ở đâu, ở nơi tạm trú có làm được không", {"place"}),
    ("Lệ phí đăng ký thường trú, tạm trú, tách hộ", {"fee"}),
    ("Tổng đài hỗ trợ VNeID 1900 0368", {"contact"}),
    ("Đăng ký chữ ký số trên VNeID (thí điểm từ 22/5/2025)", {"place"}),  # "ở đâu": in the app
    ("Đăng ký mức 2 tại công an cần mang gì", {"place", "papers"}),
    ("Hạn mức giao dịch Mobile Money từ 1/1/2026", set()),  # "hạn mức" is a limit, not a deadline
    ("Tài khoản VNeID bị khóa, mở khóa", set()),  # "tài" is not "tại"
])
def test_cues_a_title_answers(title, answered):
    assert title_cues(title) == answered


def test_question_words_alone_never_stand_alone():
    assert bare("co mat tien ko") and bare("goi so nao") and not bare("tong dai ho tro vneid so may")
    assert not bare("bi mat tien roi thi lam gi")  # being robbed names a topic of its own


@pytest.mark.parametrize(("text", "own"), [
    ("còn passcode thì sao", "passcode"), ("the con tre em", "tre em"), ("neu mat dien thoai thi sao", "mat dien thoai"),
    ("thi sao", "sao"), ("kich hoat vneid", "kich hoat vneid"),
])
def test_own_words_drop_the_frame_of_a_follow_up(text, own):
    assert _own_words(text) == own


def test_short_unclear_message_is_read_with_the_topic_inside_the_window():
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    ctx = Context("vneid-khong-nhan-otp", at)
    unclear, sure = Match("choices", (), (), 0.3), Match("answer", (), (), 0.95)
    text = "sim dung ten con trai thi co sao ko"  # no follow-up wording, unclear on its own
    assert not is_followup(text)
    assert reads_with_topic(unclear, text, ctx, at + dt.timedelta(minutes=1))
    assert not reads_with_topic(sure, text, ctx, at + dt.timedelta(minutes=1))  # answered on its own words
    assert not reads_with_topic(unclear, text, ctx, at + dt.timedelta(minutes=11))  # the topic has expired
    assert not reads_with_topic(unclear, text, None, at)
    long = "Quên mật khẩu VNeID thì phải làm những bước nào khi điện thoại cũ đã bị mất và số cũng không còn"
    assert not reads_with_topic(unclear, long, ctx, at + dt.timedelta(minutes=1))


def test_one_entry_near_the_topic_answering_the_cue_is_answered(shipped_kb):
    matcher = shipped_kb.matcher
    reading = read(matcher, "mất bao lâu", matcher.index["vneid-dang-ky-muc-2"])
    assert reading is not None
    assert [matcher.entries[i].id for i in reading.cued] == ["vneid-thoi-gian-duyet"]
    assert single_cue_answer(reading, "mất bao lâu", reading.order[0]) == matcher.index["vneid-thoi-gian-duyet"]
    # words of its own that rank another entry first: the cue alone does not decide
    other = next(i for i in reading.order if i not in reading.cued)
    assert single_cue_answer(reading, "mất bao lâu thì được cấp thẻ căn cước", other) is None
    # no entry near a criminal-record request says how long it takes: nothing to answer from the cue
    none = read(matcher, "mat bao lau", matcher.index["vneid-ly-lich-tu-phap"])
    assert none is not None and single_cue_answer(none, "mat bao lau", none.order[0]) is None


def test_of_several_titles_near_the_cue_the_one_saying_it_in_so_many_words_is_answered(shipped_kb):
    """"làm ở đâu" after a lost ID card: several card titles say "trên VNeID", one asks "ở đâu" (dev h01-style)."""
    assert title_cues("Làm thẻ căn cước cho con trên VNeID") == {"place"}
    assert title_cues_strict("Làm thẻ căn cước cho con trên VNeID") == set()  # where, only loosely
    assert title_cues_strict("Làm thẻ căn cước ở đâu, ở nơi tạm trú có làm được không") == {"place"}
    assert title_cues_strict("Lệ phí đăng ký thường trú, tạm trú, tách hộ") == {"fee"}  # other cues unchanged
    matcher = shipped_kb.matcher
    reading = read(matcher, "lam o dau", matcher.index["vneid-cap-lai-the-can-cuoc"])
    assert reading is not None and len(reading.cued) > 1
    place = matcher.index["vneid-noi-lam-the-can-cuoc"]
    assert reading.strict == (place,)
    assert single_cue_answer(reading, "lam o dau", reading.order[0]) == place
    # two titles that both say it: no single answer
    two = replace(reading, strict=(place, matcher.index["vneid-doi-the-theo-tuoi"]))
    assert single_cue_answer(two, "lam o dau", reading.order[0]) is None


@pytest.mark.parametrize(("text", "prev", "first", "second"), [
    # the same words, two topics: the entry sharing the previous title's concept ("ngân hàng") first
    ("neu mat dien thoai thi sao", "thanhtoan-ekyc-cac-buoc", "thanhtoan-mat-dien-thoai-ngan-hang", "vneid-mat-dien-thoai"),
    ("neu mat dien thoai thi sao", "vneid-kich-hoat", "vneid-mat-dien-thoai", "thanhtoan-mat-dien-thoai-ngan-hang"),
])
def test_reading_prefers_the_previous_entrys_concept(shipped_kb, text, prev, first, second):
    matcher = shipped_kb.matcher
    reading = read(matcher, text, matcher.index[prev])
    assert reading is not None
    ids = [matcher.entries[i].id for i in reading.order]
    assert ids.index(first) < ids.index(second)


def test_reading_leans_to_the_previous_entrys_concept(shipped_kb, monkeypatch):
    """After a banking answer, the banking entry about a lost phone gains on VNeID's (dev g19)."""
    matcher = shipped_kb.matcher
    text, prev = "neu mat dien thoai thi sao", matcher.index["thanhtoan-ekyc-cac-buoc"]

    def lead() -> float:
        reading = read(matcher, text, prev)
        assert reading is not None
        ids = [matcher.entries[i].id for i in reading.order]
        fused = reading.x[:, FOLLOWUP_FEATURES.index("fused")]
        return float(fused[ids.index("thanhtoan-mat-dien-thoai-ngan-hang")] - fused[ids.index("vneid-mat-dien-thoai")])

    with_concept = lead()
    assert with_concept > 0
    monkeypatch.setattr(followup, "CONCEPT_BONUS", 0.0)
    assert with_concept > lead() + 0.01


def test_a_sure_question_stands_alone_but_question_words_never_do():
    sure = Match("answer", (), (), 1.0)
    assert not stands_alone(sure, "co mat tien ko")  # needs the topic, however sure its own match is
    assert stands_alone(sure, "otp la gi")


def test_reading_gives_each_candidate_its_follow_up_evidence(shipped_kb):
    matcher = shipped_kb.matcher
    reading = read(matcher, "le phi bao nhieu", matcher.index["dichvucong-tam-tru-vneid"])
    assert reading is not None and reading.x.shape == (len(reading.order), len(FOLLOWUP_FEATURES))
    ids = [matcher.entries[i].id for i in reading.order]
    row = dict(zip(FOLLOWUP_FEATURES, reading.x[ids.index("dichvucong-le-phi-cu-tru")], strict=True))
    assert row["related"] == 1 and row["cue_match"] == 1 and row["cue_miss"] == 0
    assert any(r[FOLLOWUP_FEATURES.index("cue_miss")] == 1 for r in reading.x)  # some candidate answers no fee
    # an entry near the previous one that answers the cue is a candidate even when the words alone miss it
    far = read(matcher, "co mat tien ko", matcher.index["dichvucong-tach-ho"])
    assert far is not None and "dichvucong-le-phi-cu-tru" in [matcher.entries[i].id for i in far.order]


def test_follow_up_model_orders_and_decides(shipped_kb):
    """The model's P(right) re-orders the candidates and answers only from its threshold."""
    matcher = shipped_kb.matcher
    k = len(FOLLOWUP_FEATURES)
    cue_only = [0.0] * k
    cue_only[FOLLOWUP_FEATURES.index("cue_match")] = 6.0
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    ctx = Context("dichvucong-tach-ho", at)
    saved = matcher.calibration
    try:
        matcher.calibration = replace(saved, followup_weights=cue_only, followup_bias=-3.0, followup_mean=[0.0] * k,
                                      followup_scale=[1.0] * k, followup_p_min=0.9)
        m = resolve(matcher, "co mat tien ko", ctx)
        assert m.status == "answer" and "fee" in title_cues(m.ranked[0].entry.title)
        matcher.calibration = replace(matcher.calibration, followup_p_min=1.01)
        m = resolve(matcher, "con nguoi gia thi sao", ctx)
        assert m.status == "choices"  # below the model's threshold: offered, never guessed
        # ... unless one entry near the topic answers what is asked: the household-split fee
        m = resolve(matcher, "co mat tien ko", ctx)
        assert m.status == "answer" and m.ranked[0].entry.id == "dichvucong-le-phi-cu-tru"
    finally:
        matcher.calibration = saved


async def test_bare_fee_question_is_read_with_the_topic_not_alone(cdeps):
    """After the household-split answer, "có mất tiền không" is about that fee, not VNeID's (dev e03)."""
    chat = Chat(cdeps)
    await chat.say("tach ho can giay to gi")
    assert answered(chat) == "dichvucong-tach-ho"
    await chat.say("co mat tien ko")
    assert answered(chat) != "vneid-mien-phi"
    fee = cdeps.kb.entries["dichvucong-le-phi-cu-tru"].title
    assert answered(chat) == "dichvucong-le-phi-cu-tru" or fee in [c.label for r in chat.last for c in r.choices]


def turned_by_rule(matcher: Matcher, switch_off: Callable[[], None]) -> list[tuple[Match, set[str]]]:
    """Every dev dialogue's follow-up turn (within the 10-minute window) played with a follow-up rule on,
    then again after `switch_off()`, earlier turns as expected (as the evaluation does): the turns the
    rule answered where, without it, they were only offered or left, each with its accepted entry ids."""
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    turns = [(d, i) for d in faq_eval.read_dialogues("dev") for i in range(1, len(d)) if d[i][0] <= 10]

    def play(dialogue: list[tuple[float, str, tuple[str, ...]]], last: int) -> Match:
        conv, now = Conversation(matcher), at
        for k, (minutes, text, expected) in enumerate(dialogue[:last + 1]):
            now += dt.timedelta(minutes=minutes)
            m = conv.ask(text, now)
            hit = [s.entry.id for s in m.choices if s.entry.id in faq_eval.accepted(expected)]
            if k < last and hit:
                conv.pick(m, hit[0], now)
        return m

    with_rule = [play(d, i) for d, i in turns]
    switch_off()
    without = [play(d, i) for d, i in turns]
    return [(w, faq_eval.accepted(d[i][2])) for w, o, (d, i) in zip(with_rule, without, turns, strict=True)
            if w.status == "answer" and o.status != "answer"]


async def expect_answers(user, kb, turns: list[tuple[str, str | None]]) -> None:
    """Say each message in turn through a channel's fake user; where an entry id is named, the reply is that
    entry's answer (its first 60 characters are in it): answered, not offered as a choice."""
    for text, expected in turns:
        await user.say(text)
        if expected is not None:
            assert kb.entries[expected].brief[:60] in user.text, (text, expected)


async def answered_through_telegram(tfake, settings, storage, kb, user_id: int,
                                    turns: list[tuple[str, str | None]]) -> None:
    """`expect_answers` for one user of the bot running on the Telegram adapter against the fake Bot API."""
    deps = telegram_deps(compose(settings=settings, storage=storage, kb=kb, clock=Clock()), tfake)
    async with telegram_running(deps):
        await expect_answers(TelegramUser(tfake, user_id), kb, turns)


async def answered_through_zalo(zfake, settings, storage, kb, user_id: str,
                                turns: list[tuple[str, str | None]]) -> None:
    """`expect_answers` for one user of the bot running on the Zalo adapter against the fake Zalo API."""
    deps = zalo_deps(compose(settings=settings, storage=storage, kb=kb, clock=Clock()), zfake)
    async with running(deps):
        await expect_answers(ZaloUser(zfake, user_id), kb, turns)


def test_own_words_on_the_topic_answer_what_the_topic_reading_offers(shipped_kb, monkeypatch):
    """A follow-up with words of its own ("nếu mất điện thoại thì sao" after a banking answer) is
    answered when those words, among the previous entry's topic, put first the entry the topic reading
    puts first. Checked over every dev dialogue's follow-up turns, with the earlier turns as expected
    (not one pinned example, which any ranking change can move off the rule): the rule turns some
    offered follow-ups into right answers and never into wrong ones."""
    turned = turned_by_rule(shipped_kb.matcher, lambda: monkeypatch.setattr(
        followup, "on_topic_first", lambda _a, _p: None))
    assert len(turned) >= 3, "the rule answered fewer than three offered follow-ups"
    assert all(w.best is not None and w.best.entry.id in expected for w, expected in turned)


def test_on_topic_first_skips_other_topics_and_the_previous_entry(shipped_kb):
    kb = shipped_kb.entries
    prev = kb["thanhtoan-ekyc-cac-buoc"]
    alone = Match("choices", (Scored(kb["vneid-mat-dien-thoai"], 60.0), Scored(prev, 50.0),
                              Scored(kb["thanhtoan-mat-dien-thoai-ngan-hang"], 40.0)), (), 0.5)
    assert followup.on_topic_first(alone, prev) == "thanhtoan-mat-dien-thoai-ngan-hang"
    assert followup.on_topic_first(Match("choices", alone.ranked[:2], (), 0.5), prev) is None


def test_money_already_lost_is_not_read_as_the_fee_question(shipped_kb, monkeypatch):
    """After a fake-SMS answer, "bị mất tiền rồi thì làm gì" is about the loss, not VNeID's fee (dev g29)."""
    matcher = shipped_kb.matcher

    def first(text: str, prev: str) -> str:
        reading = read(matcher, text, matcher.index[prev])
        assert reading is not None
        return matcher.entries[reading.order[0]].id

    assert first("bi mat tien roi thi lam gi", "luadao-bts-gia-tin-nhan") == "luadao-bi-lua-lam-gi"
    assert first("co mat tien ko", "dichvucong-tach-ho") == "dichvucong-le-phi-cu-tru"  # the fee cue is untouched
    monkeypatch.setattr(followup, "LOSS_DAMP", 1.0)
    assert first("bi mat tien roi thi lam gi", "luadao-bts-gia-tin-nhan") == "vneid-mien-phi"


def test_con_x_thi_sao_with_a_middling_match_stays_with_the_topic(shipped_kb, monkeypatch):
    """X's own words only half sure, on an entry far from the previous one: offered, never answered."""
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    matcher = shipped_kb.matcher
    named = matcher.match("tien internet")
    assert named.status != "answer" and named.best is not None
    assert named.best.entry.topic == "diaphuong"  # a local story: no entry answers internet bills
    conv = Conversation(matcher)
    conv.ask("dong tien dien tren app ngan hang", at)
    m = conv.ask("con tien internet thi sao", at + dt.timedelta(minutes=1))
    assert m.status != "answer" or m.best is None or m.best.entry.topic != "diaphuong"


def test_money_already_lost_never_stands_alone_on_a_fee_title(shipped_kb):
    """Its own words answer "mất tiền rồi thì làm gì" with VNeID's fee entry, surely (dev d29, g29): inside
    the window it is read with the topic instead. A fee question keeps standing alone."""
    kb = shipped_kb.entries
    fee = Match("answer", (Scored(kb["vneid-mien-phi"], 100.0),), (), 1.0)
    scam = Match("answer", (Scored(kb["luadao-bi-lua-lam-gi"], 100.0),), (), 1.0)
    assert followup.lost_not_fee("mất tiền rồi thì làm gì", kb["vneid-mien-phi"].title)
    assert not stands_alone(fee, "mất tiền rồi thì làm gì")
    assert not stands_alone(fee, "bi mat tien roi thi lam gi")
    assert stands_alone(scam, "bi mat tien roi thi lam gi")  # a loss answered by a loss entry
    assert stands_alone(fee, "lam vneid co mat phi khong")  # asks the fee: not a loss


def test_named_thing_on_the_topic_is_answered_when_offered(shipped_kb, monkeypatch):
    """"Còn X thì sao" naming a new thing: answered with X's own first entry of the previous topic when
    the topic reading offers it. Checked over every dev dialogue's follow-up turns, earlier turns as
    expected: the rule turns some offered follow-ups into right answers and none into wrong ones. (With
    `only_related_first` off in both runs: without this rule, that later one answers some of its turns.)"""
    monkeypatch.setattr(followup, "only_related_first", lambda *_a: False)
    turned = turned_by_rule(shipped_kb.matcher, lambda: monkeypatch.setattr(
        followup, "named_on_topic", lambda *_a: None))
    assert len(turned) >= 2, "the rule answered fewer than two offered follow-ups"
    assert all(w.best is not None and w.best.entry.id in expected for w, expected in turned)


def test_named_on_topic_needs_con_and_an_offered_entry(shipped_kb):
    kb = shipped_kb.entries
    prev = kb["luadao-so-du-nho-mua-online"]
    alone = Match("choices", (Scored(kb["luadao-khong-chia-se-otp"], 9.0), Scored(kb["luadao-otp-apple-pay"], 8.0)), (), 0.09)
    offered = (Scored(kb["luadao-otp-apple-pay"], 54.0), Scored(kb["luadao-khong-chia-se-otp"], 16.0))
    m = Match("choices", offered, offered, 0.54)
    named = followup.named_on_topic(alone, prev, "con otp co dc dua cho shipper ko", m)
    assert named is not None and named.entry.id == "luadao-khong-chia-se-otp"
    assert followup.named_on_topic(alone, prev, "otp co dc dua cho shipper ko", m) is None  # no "còn"
    assert followup.named_on_topic(alone, prev, "con o dau", m) is None  # question words only
    only_first = Match("choices", offered[:1], offered[:1], 0.54)
    assert followup.named_on_topic(alone, prev, "con otp co dc dua cho shipper ko", only_first) is None


async def test_lost_money_follow_up_through_telegram(tfake, settings, storage, shipped_kb):
    """Dev d29 through the Telegram adapter: the loss after an Apple Pay scam is never VNeID's fee."""
    deps = telegram_deps(compose(settings=settings, storage=storage, kb=shipped_kb, clock=Clock()), tfake)
    async with telegram_running(deps):
        user = TelegramUser(tfake, 502)
        await user.say("bi lo otp bi gan the vao apple pay")
        assert shipped_kb.entries["luadao-otp-apple-pay"].title in user.text
        await user.say("mất tiền rồi thì làm gì")
        assert shipped_kb.entries["vneid-mien-phi"].title not in user.text
        assert shipped_kb.entries["luadao-bi-lua-lam-gi"].brief[:60] in user.text  # answered, not offered


async def test_named_thing_follow_up_through_zalo(zfake, settings, storage, shipped_kb):
    """Dev m43 through the Zalo adapter: "còn otp…" after the online-shopping advice is the OTP entry."""
    deps = zalo_deps(compose(settings=settings, storage=storage, kb=shipped_kb, clock=Clock()), zfake)
    async with running(deps):
        user = ZaloUser(zfake, "zu-2")
        await user.say("tai khoan mua hang online nen de bao nhieu tien")
        assert shipped_kb.entries["luadao-so-du-nho-mua-online"].title in user.text
        await user.say("con otp co dc dua cho shipper ko")
        assert shipped_kb.entries["luadao-khong-chia-se-otp"].brief[:60] in user.text  # answered, not offered


def test_related_first_answers_a_longer_message_only_between_choices(shipped_kb):
    kb = shipped_kb.entries
    prev = kb["vneid-khong-co-nfc"]
    unlink = Scored(kb["vneid-huy-lien-ket-thiet-bi"], 80.0)
    other = Scored(kb["vneid-mat-dien-thoai"], 29.0)
    assert "vneid-huy-lien-ket-thiet-bi" in prev.related
    assert followup.related_first(Match("choices", (unlink, other), (unlink, other), 0.8), prev)
    assert not followup.related_first(Match("choices", (other, unlink), (other, unlink), 0.8), prev)  # unrelated first
    assert not followup.related_first(Match("none", (unlink, other), (), 0.1), prev)  # nothing offered
    assert not followup.related_first(Match("choices", (unlink,), (unlink,), 0.8), kb["vneid-huy-lien-ket-thiet-bi"])


async def test_longer_follow_up_related_to_the_answer_through_zalo(zfake, settings, storage, shipped_kb):
    """Dev g07 through the Zalo adapter: a longer third turn whose own words only offer choices is answered
    with the entry the previous answer lists as related."""
    await answered_through_zalo(zfake, settings, storage, shipped_kb, "zu-3", [
        ("doi may moi ma dang nhap vneid khong vao duoc", None),
        ("may moi ko co nfc thi sao", "vneid-khong-co-nfc"),
        ("con may cu da dang nhap roi cho nguoi khac muon thi lam gi", "vneid-huy-lien-ket-thiet-bi"),
    ])


def test_only_related_first_needs_the_first_offered_to_be_the_one_related(shipped_kb):
    kb = shipped_kb.entries
    prev = kb["vneid-la-gi"]
    install = Scored(kb["vneid-cai-dat-an-toan"], 60.0)  # listed by "VNeID là gì"
    safety = Scored(kb["vneid-an-toan-thong-tin"], 55.0)  # not related to it
    levels = Scored(kb["vneid-muc-1-muc-2"], 30.0)  # also listed by it
    assert install.entry.id in prev.related and safety.entry.id not in prev.related
    assert prev.id not in safety.entry.related
    assert followup.only_related_first(Match("choices", (install, safety), (install, safety), 0.6), prev)
    assert not followup.only_related_first(Match("choices", (safety, install), (safety, install), 0.6), prev)
    assert not followup.only_related_first(
        Match("choices", (install, safety, levels), (install, safety, levels), 0.6), prev)  # two related offered
    # related the other way round: the offered entry lists the previous one
    lost = kb["vneid-mat-dien-thoai"]
    new_phone = Scored(kb["vneid-dien-thoai-moi"], 50.0)
    assert lost.id in new_phone.entry.related or new_phone.entry.id in lost.related
    assert followup.only_related_first(Match("choices", (new_phone, safety), (new_phone, safety), 0.5), lost)


def test_only_related_first_turns_offered_follow_ups_into_right_answers(shipped_kb, monkeypatch):
    """Checked over every dev dialogue's follow-up turns, earlier turns as expected: the rule answers
    some follow-ups the topic reading only offered, and none of them wrongly."""
    turned = turned_by_rule(shipped_kb.matcher, lambda: monkeypatch.setattr(
        followup, "only_related_first", lambda *_a: False))
    assert len(turned) >= 3, "the rule answered fewer than three offered follow-ups"
    assert all(w.best is not None and w.best.entry.id in expected for w, expected in turned)


async def test_related_follow_up_between_choices_through_telegram(tfake, settings, storage, shipped_kb):
    """Dev i35 through the Telegram adapter: "cài lại ở đâu cho an toàn" after the deleted-app answer is
    the official-install entry that answer lists, answered rather than offered beside the data-safety one."""
    await answered_through_telegram(tfake, settings, storage, shipped_kb, 503, [
        ("lo xoa app vneid", "vneid-xoa-ung-dung"),
        ("cai lai o dau cho an toan", "vneid-cai-dat-an-toan"),
    ])


async def test_related_follow_up_between_choices_through_zalo(zfake, settings, storage, shipped_kb):
    """Dev e12 through the Zalo adapter: "ở nơi tạm trú làm được không" after the level-2 answer is the
    level-2-elsewhere entry it lists, answered."""
    await answered_through_zalo(zfake, settings, storage, shipped_kb, "zu-4", [
        ("dang ky muc 2 can mang gi", "vneid-dang-ky-muc-2"),
        ("o noi tam tru lam dc ko", "vneid-dang-ky-muc-2-noi-khac"),
    ])


def test_an_entry_listing_the_previous_one_answers_its_cue(shipped_kb, monkeypatch):
    """"Làm VNeID có mất tiền không" lists the official-install entry as related (not the other way round):
    after that answer, "có mất phí không" is its cue (CUE_LISTED_BY)."""
    kb, matcher = shipped_kb.entries, shipped_kb.matcher
    prev, fee = kb["vneid-cai-dat-an-toan"], kb["vneid-mien-phi"]
    assert prev.id in fee.related and fee.id not in prev.related
    reading = read(matcher, "co mat phi ko", matcher.index[prev.id])
    assert reading is not None and matcher.index[fee.id] in reading.cued
    monkeypatch.setattr(followup, "CUE_LISTED_BY", False)
    reading = read(matcher, "co mat phi ko", matcher.index[prev.id])
    assert reading is not None and matcher.index[fee.id] not in reading.cued


async def test_three_turns_with_related_entries_through_telegram(tfake, settings, storage, shipped_kb):
    """Dev f07 through the Telegram adapter: "VNeID là gì", then "tải ở đâu cho an toàn" (the install entry it
    lists), then "có mất phí không" (the fee entry, which lists the install entry): both answered."""
    await answered_through_telegram(tfake, settings, storage, shipped_kb, 504, [
        ("vneid la gi", "vneid-la-gi"),
        ("tai o dau cho an toan", "vneid-cai-dat-an-toan"),
        ("co mat phi ko", "vneid-mien-phi"),
    ])


def test_related_over_stranger_needs_a_stranger_first_and_one_related_second(shipped_kb):
    kb = shipped_kb.entries
    prev = kb["thanhtoan-mo-tai-khoan-online"]
    chip = Scored(kb["vneid-quet-chip-nfc"], 50.0)  # another topic, unrelated to prev
    nfc = Scored(kb["thanhtoan-khong-co-nfc"], 40.0)  # prev's topic, listed by prev
    ekyc = Scored(kb["thanhtoan-ekyc-cac-buoc"], 30.0)  # prev's topic, listed by prev too
    unsure = Match("choices", (chip,), (), 0.3)  # the own words: not an answer
    m = Match("choices", (chip, nfc), (chip, nfc), 0.4)
    assert followup.related_over_stranger(unsure, m, prev) is nfc
    assert followup.related_over_stranger(unsure, Match("choices", (nfc, chip), (nfc, chip), 0.4), prev) is None
    two = Match("choices", (chip, nfc, ekyc), (chip, nfc, ekyc), 0.4)
    assert followup.related_over_stranger(unsure, two, prev) is None  # two related: no tie broken
    sure = Match("answer", (chip,), (), 0.99)  # the own words answer the stranger outright
    assert followup.related_over_stranger(sure, m, prev) is None


def test_own_words_agree_needs_an_answer_on_the_same_entry(shipped_kb):
    kb = shipped_kb.entries
    new_phone, other = Scored(kb["vneid-dien-thoai-moi"], 70.0), Scored(kb["thanhtoan-doi-dien-thoai-xac-thuc"], 60.0)
    m = Match("choices", (new_phone, other), (new_phone, other), 0.6)
    assert followup.own_words_agree(Match("answer", (new_phone,), (), 0.98), m)
    assert not followup.own_words_agree(Match("choices", (new_phone,), (new_phone,), 0.6), m)  # only offered
    assert not followup.own_words_agree(Match("answer", (other,), (), 0.98), m)  # another entry


@pytest.mark.parametrize("name", ["related_over_stranger", "own_words_agree", "parallel_title"])
def test_choices_rules_turn_offered_follow_ups_into_right_answers(shipped_kb, monkeypatch, name):
    """Checked over every dev dialogue's follow-up turns, earlier turns as expected: each rule answers some
    follow-ups the topic reading only offered, and none of them wrongly."""
    turned = turned_by_rule(shipped_kb.matcher, lambda: monkeypatch.setattr(
        followup, name, lambda *_a: False if name == "own_words_agree" else None))
    assert len(turned) >= 1, "the rule answered no offered follow-up"
    assert all(w.best is not None and w.best.entry.id in expected for w, expected in turned)


async def test_follow_up_staying_on_its_topic_through_zalo(zfake, settings, storage, shipped_kb):
    """Dev h05 through the Zalo adapter: "điện thoại cũ không có NFC thì sao" after opening a bank account
    online is the banking no-NFC entry that answer lists, not VNeID's. (Dev k15, "máy không đọc được chip
    thì sao", is only offered since "không" is kept as a negation: VNeID's "không đọc được chíp" leads.)"""
    await answered_through_zalo(zfake, settings, storage, shipped_kb, "zu-5", [
        ("mo tai khoan ngan hang online can chuan bi gi", "thanhtoan-mo-tai-khoan-online"),
        ("dien thoai cu ko co nfc thi sao", "thanhtoan-khong-co-nfc"),
    ])


async def test_follow_up_staying_on_its_topic_through_telegram(tfake, settings, storage, shipped_kb):
    """Dev e26 through the Telegram adapter: "còn đi vắng lâu ngày thì sao" after the guest notice is
    temporary absence, not a bank account unused for long."""
    await answered_through_telegram(tfake, settings, storage, shipped_kb, 505, [
        ("co khach den o nha phai bao luu tru ko", "dichvucong-thong-bao-luu-tru"),
        ("con di vang lau ngay thi sao", "dichvucong-khai-bao-tam-vang"),
    ])


async def test_own_words_agreeing_with_the_topic_through_zalo(zfake, settings, storage, shipped_kb):
    """Dev j45 through the Zalo adapter: a third turn naming VNeID after two banking answers, answered with
    the entry both its own words and the topic reading put first."""
    await answered_through_zalo(zfake, settings, storage, shipped_kb, "zu-6", [
        ("doi dien thoai moi app ngan hang doi quet mat lai", None),
        ("may ko co nfc thi sao", "thanhtoan-khong-co-nfc"),
        ("con vneid tren may moi thi sao", "vneid-dien-thoai-moi"),
    ])


def test_parallel_title_needs_the_most_shared_title_words_and_nothing_related(shipped_kb):
    kb, matcher = shipped_kb.entries, shipped_kb.matcher
    prev = kb["thanhtoan-quen-mat-khau-ngan-hang"]  # "Quên mật khẩu ứng dụng ngân hàng thì lấy lại thế nào"
    password = Scored(kb["vneid-quen-mat-khau"], 60.0)  # "Quên mật khẩu đăng nhập VNeID"
    passcode = Scored(kb["vneid-quen-passcode"], 55.0)  # "Quên passcode 6 số trong VNeID"
    m = Match("choices", (password, passcode), (password, passcode), 0.6)
    assert followup.parallel_title(matcher, m, prev, "con vneid thi sao") is password
    # wherever it is offered
    assert followup.parallel_title(matcher, Match("choices", (passcode, password), (passcode, password), 0.6),
                                   prev, "con vneid thi sao") is password
    # the message's own words must all be in the title: only "Quên mật khẩu đăng nhập VNeID" names "mật khẩu vneid"
    assert followup.parallel_title(matcher, m, prev, "con mat khau vneid thi sao") is password
    assert followup.parallel_title(matcher, m, prev, "con zalo thi sao") is None
    assert followup.parallel_title(matcher, m, prev, "mat bao lau") is None  # question words alone name nothing
    related = Scored(kb["thanhtoan-atm-nuot-the"], 50.0)  # lists the previous entry: that rule's business
    assert prev.id in related.entry.related
    assert followup.parallel_title(matcher, Match("choices", (password, related), (password, related), 0.6),
                                   prev, "con vneid thi sao") is None


def test_parallel_title_passes_over_a_title_that_does_not_name_the_new_thing(shipped_kb):
    """Dev e07: "còn tiền nước thì sao" after "Đóng tiền điện online (ngân hàng, ví, ứng dụng điện lực)". The
    local story about paying without cash shares the most of the previous title ("ngân hàng", "ứng dụng") but
    does not name "tiền nước"; of the two that do, "Đóng tiền nước online" shares more than "Tìm mã khách hàng
    tiền điện, tiền nước", so it is answered though offered second. Two titles naming it and sharing as much
    (a tie) are left offered."""
    kb, matcher = shipped_kb.entries, shipped_kb.matcher
    prev = kb["dichvucong-thanh-toan-tien-dien"]
    code, water = Scored(kb["thanhtoan-ma-khach-hang"], 60.0), Scored(kb["thanhtoan-tien-nuoc"], 55.0)
    local = Scored(kb["diaphuong-hoang-hoa-hoanghoas"], 50.0)
    offered = (code, water, local)
    assert followup.parallel_title(matcher, Match("choices", offered, offered, 0.4), prev, "con tien nuoc thi sao") \
        is water
    assert followup.parallel_title(matcher, Match("choices", (code, local), (code, local), 0.4), prev,
                                   "con tien nuoc thi sao") is code
    assert followup.parallel_title(matcher, Match("choices", (water, water), (water, water), 0.4), prev,
                                   "con tien nuoc thi sao") is None


async def test_parallel_follow_up_through_telegram(tfake, settings, storage, shipped_kb):
    """Dev m19 through the Telegram adapter: "còn vneid thì sao" after the bank-password answer is VNeID's
    forgotten password, answered, not offered beside the forgotten passcode."""
    await answered_through_telegram(tfake, settings, storage, shipped_kb, 506, [
        ("quen mat khau app ngan hang", "thanhtoan-quen-mat-khau-ngan-hang"),
        ("con vneid thi sao", "vneid-quen-mat-khau"),
    ])


async def test_parallel_follow_up_offered_second_through_zalo(zfake, settings, storage, shipped_kb):
    """Dev e07 through the Zalo adapter: "còn tiền nước thì sao" after paying the electricity bill online is
    answered with paying the water bill online, not offered behind finding the customer code."""
    await answered_through_zalo(zfake, settings, storage, shipped_kb, "zu-12", [
        ("dong tien dien online", "dichvucong-thanh-toan-tien-dien"),
        ("con tien nuoc thi sao", "thanhtoan-tien-nuoc"),
    ])


def test_the_own_words_floor_never_stops_a_right_answer(shipped_kb, monkeypatch):
    """The own-words rules (`on_topic_first`, `named_on_topic`) answer only when the own words know what they
    rank (the fitted `own_min`). Checked over every dev dialogue's follow-up turns, earlier turns as
    expected: every turn the shipped floor stops (answered with no floor, not with it) was answered wrong
    without it. (The floor is fitted on the same dialogues; this holds it to that.) When the refit leaves
    the floor at 0, 0.1 (what the fit took while g33 needed it) is held to the same."""
    matcher = shipped_kb.matcher
    shipped = matcher.calibration
    floored = replace(shipped, followup_rules={**shipped.followup_rules,
                                               "own_min": shipped.followup_rules.get("own_min") or 0.1})
    monkeypatch.setattr(matcher, "calibration", replace(shipped, followup_rules={**shipped.followup_rules, "own_min": 0.0}))
    stopped = turned_by_rule(matcher, lambda: monkeypatch.setattr(matcher, "calibration", floored))
    assert all(w.best is None or w.best.entry.id not in expected for w, expected in stopped)


PENSION = "Bố tôi nhận lương hưu tiền mặt, muốn chuyển sang nhận qua tài khoản ngân hàng thì làm thế nào?"
PENSION_ID = "thanhtoan-luong-huu-qua-tai-khoan"


def test_own_words_that_know_nothing_leave_the_topic_reading_offering(shipped_kb, monkeypatch):
    """Dev g33: "chưa có tài khoản thì mở thế nào" after the pension-via-bank answer. When the floor was
    written its own words knew next to nothing (P 0.01): their first entry of the banking topic was the
    social-welfare conditions, which the topic reading also puts first, so with no floor the own-words rule
    answered it wrongly. Since "chưa" is kept as a negation (r16-neg2) the own words put the online account
    first, the rule no longer fires, and the refit leaves the floor at 0. Either way the follow-up is offered,
    never answered with the social-welfare conditions; and a floor above the own match's confidence still
    turns the rule off."""
    matcher = shipped_kb.matcher
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    text = "chưa có tài khoản thì mở thế nào"
    own = matcher.match(text).confidence
    shipped = matcher.calibration

    def second(own_min: float) -> Match:
        monkeypatch.setattr(matcher, "calibration",
                            replace(shipped, followup_rules={**shipped.followup_rules, "own_min": own_min}))
        conv = Conversation(matcher)
        first = conv.ask(PENSION, at)
        assert first.best is not None and first.best.entry.id == "thanhtoan-luong-huu-qua-tai-khoan"
        return conv.ask(text, at + dt.timedelta(minutes=1))

    own_first = followup.on_topic_first(matcher.match(text), matcher.entries[matcher.index[PENSION_ID]])
    assert own_first == "thanhtoan-mo-tai-khoan-online"  # "chưa có tài khoản": no account yet, open one
    for floor in (0.0, shipped.followup_rules.get("own_min", 0.0), own + 0.001):
        offered = second(floor)
        assert offered.status == "choices" and offered.best is not None
        assert offered.best.entry.id == "thanhtoan-an-sinh-dieu-kien"  # the topic reading's first, offered


async def test_own_words_knowing_nothing_are_offered_through_telegram(tfake, settings, storage, shipped_kb):
    """Dev g33 through the Telegram adapter: the follow-up is offered choices, not answered with the
    social-welfare conditions."""
    deps = telegram_deps(compose(settings=settings, storage=storage, kb=shipped_kb, clock=Clock()), tfake)
    welfare = shipped_kb.entries["thanhtoan-an-sinh-dieu-kien"]
    async with telegram_running(deps):
        user = TelegramUser(tfake, 507)
        await user.say(PENSION)
        assert shipped_kb.entries["thanhtoan-luong-huu-qua-tai-khoan"].brief[:60] in user.text
        await user.say("chưa có tài khoản thì mở thế nào")
        assert welfare.brief[:60] not in user.text  # not answered
        user.message_with(welfare.title[:20])  # but offered, a button among the choices


async def test_own_words_knowing_nothing_are_offered_through_zalo(zfake, settings, storage, shipped_kb):
    """Dev g33 through the Zalo adapter, unaccented as members type it."""
    deps = zalo_deps(compose(settings=settings, storage=storage, kb=shipped_kb, clock=Clock()), zfake)
    welfare = shipped_kb.entries["thanhtoan-an-sinh-dieu-kien"]
    async with running(deps):
        user = ZaloUser(zfake, "zu-7")
        await user.say(PENSION)
        assert shipped_kb.entries["thanhtoan-luong-huu-qua-tai-khoan"].brief[:60] in user.text
        await user.say("chua co tai khoan thi mo the nao")
        assert welfare.brief[:60] not in user.text
        assert user.number_of(welfare.title[:20]) >= 1  # offered, a numbered choice


def test_a_cue_the_previous_topic_answers_is_not_a_new_question(shipped_kb):
    """Dev q27 (r17-dlg10): "bao giờ thì hết hạn" after "Khi nào phải đăng ký tạm trú" is answered surely on
    its own words with VNeID's account expiry, another topic; "Gia hạn tạm trú khi sắp hết hạn…", which lists
    the previous answer, answers the same cue in its title, so the message is read with the topic."""
    kb, matcher = shipped_kb.entries, shipped_kb.matcher
    prev = kb["dichvucong-tam-tru-khi-nao"]
    text = "bao gio thi het han"
    alone = matcher.match(text)
    assert alone.status == "answer" and alone.best is not None and alone.best.entry.id == "vneid-thoi-han-tai-khoan"
    assert followup.cue_stays(matcher, alone, text, prev)
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    ctx = Context(prev.id, at)
    assert not followup.reads_with_topic(alone, text, ctx, at + dt.timedelta(minutes=1))  # without the KB
    assert followup.reads_with_topic(alone, text, ctx, at + dt.timedelta(minutes=1), matcher=matcher)
    m = followup.answer(matcher, text, ctx, at + dt.timedelta(minutes=1))
    assert m.status in ("answer", "choices") and m.best is not None and m.best.entry.id == "dichvucong-gia-han-tam-tru"
    # no cue: a new question of its own stands ("vietqr la gi" after paying by QR)
    vietqr = matcher.match("vietqr la gi")
    assert not followup.cue_stays(matcher, vietqr, "vietqr la gi", kb["thanhtoan-quet-qr-tra-tien"])
    # the sure answer is related to the previous one: nothing to keep
    assert not followup.cue_stays(matcher, Match("answer", (Scored(kb["dichvucong-gia-han-tam-tru"], 99.0),), (), 0.99),
                                  text, prev)


async def test_cue_staying_on_its_topic_through_telegram(tfake, settings, storage, shipped_kb):
    """Dev q27 through the Telegram adapter."""
    await answered_through_telegram(tfake, settings, storage, shipped_kb, 507, [
        ("khi nao phai dang ky tam tru", "dichvucong-tam-tru-khi-nao"),
        ("bao gio thi het han", "dichvucong-gia-han-tam-tru"),
    ])
