"""The flow engine alone (bot/flows.py), on a two-step toy flow registered beside the real ones."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import Chat

import handlers
from bot import flows
from bot.core import Reply


@dataclasses.dataclass
class Order:
    dish: str = ""
    count: int = 0


def ask_dish(t):
    return [Reply("Món gì?", (t.choice("Phở", "d:pho"), t.choice("Bún", "d:bun")))]


def ask_count(t):
    return [Reply(f"Mấy bát {t.draft.dish}?")]


def pick_dish(t, arg):
    t.draft.dish = arg
    return t.go("count")


def type_count(t, text):
    if not text.isdigit():
        return None
    return t.end(Reply(f"Đã đặt {text} bát {t.draft.dish}."))


TOY = flows.Flow("toy", Order, {
    "dish": flows.Step(ask_dish, {"d": pick_dish}, view=True),
    "count": flows.Step(ask_count, {}, type_count, expects="Bạn gõ số bát, ví dụ 2."),
}, cancelled=lambda d: f"Đã hủy đơn {d.dish or 'chưa chọn món'}.", dropped=lambda d: "Đơn cũ đã bỏ.")


@pytest.fixture
def chat(small_deps, monkeypatch):
    async def start(incoming, deps, session):
        return flows.begin(TOY, "dish", Order(), incoming, deps, session, handlers.FLOWS)

    monkeypatch.setitem(handlers.COMMANDS, "/dat", start)
    monkeypatch.setitem(handlers.FLOWS, "toy", TOY)
    return Chat(small_deps)


async def test_steps_move_and_the_draft_is_typed(chat):
    await chat.say("/dat")
    await chat.pick("Phở")
    assert chat.text == "Mấy bát pho?"
    await chat.say("2")
    assert chat.text == "Đã đặt 2 bát pho."


async def test_a_stale_press_is_caught_and_the_current_step_asked_again(chat):
    await chat.say("/dat")
    old = chat.last
    await chat.pick("Phở")
    chat.last = old
    await chat.pick("Bún")
    assert "đã cũ" in chat.last[0].text and chat.last[-1].text == "Mấy bát pho?"


async def test_unknown_input_names_what_is_expected_and_non_text_reprompts(chat):
    await chat.say("/dat")
    await chat.pick("Bún")
    await chat.say("nhiều")
    assert [r.text for r in chat.last] == ["Bạn gõ số bát, ví dụ 2.", "Mấy bát bun?"]
    await chat.say(kind="photo")
    assert "ảnh" in chat.last[0].text and chat.last[-1].text == "Mấy bát bun?"


async def test_free_text_leaves_a_view_and_a_question_mid_entry_offers_resume(chat):
    await chat.say("/dat")
    menu = chat.last
    await chat.say("kich hoat vneid ko dc")
    assert "Kích hoạt tài khoản VNeID" in chat.text
    chat.last = menu
    assert "đã cũ" in (await chat.pick("Phở"))[0].text  # the view was left
    await chat.say("/dat")
    await chat.pick("Phở")
    await chat.say("quen mat khau vneid thi sao?")
    assert "Quên mật khẩu VNeID" in chat.text and "Mấy bát pho?" in chat.text
    await chat.pick("Tiếp tục")
    assert chat.text == "Mấy bát pho?"


async def test_huy_a_new_flow_and_the_timeout_say_what_was_dropped(chat, small_deps):
    await chat.say("/dat")
    await chat.pick("Bún")
    assert (await chat.say("/huy"))[0].text == "Đã hủy đơn bun."
    await chat.say("/dat")
    await chat.pick("Phở")
    assert (await chat.say("/dat"))[0].text == "Đơn cũ đã bỏ."
    import datetime as dt

    later = dt.datetime.now(dt.UTC) + flows.TIMEOUT + dt.timedelta(minutes=1)
    small_deps.clock = lambda: later
    assert "Đơn cũ đã bỏ." in (await chat.say("xin chao"))[0].text
