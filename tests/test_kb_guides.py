"""Entries that explain the bot's own commands (kind: guide) cite the bot itself, and every command they name
exists: the bot is the source, so the bot is what they are checked against."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import handlers
from bot.core import Deps
from handlers.faq import GUIDE_SOURCE, render_answer
from knowledge.check import check_entry
from knowledge.loader import Source, load
from knowledge.sources import registry
from tests.chat import Chat

COMMAND = re.compile(r"(?<![\w/.])/[a-z]+")
GUIDES = [e for e in load() if e.kind == "guide"]


def test_the_bot_guides_are_there():
    assert len(GUIDES) >= 12
    assert {e.topic for e in GUIDES} == {"tocongnghe"}


def test_every_command_a_guide_names_exists():
    known = set(handlers.COMMANDS) | {"/huy"}  # /huy is routed first, before the command table
    named = {e.id: set(COMMAND.findall(f"{e.short}\n{e.answer}")) - known for e in GUIDES}
    assert {ident: sorted(wrong) for ident, wrong in named.items() if wrong} == {}
    assert set().union(*(COMMAND.findall(e.answer) for e in GUIDES)) >= {"/ghi", "/cuatoi", "/baocao", "/xuat"}


def test_a_guide_cites_the_bot_not_an_outside_page():
    entry = GUIDES[0]
    text = render_answer(entry, today=dt.date(2026, 11, 30))
    assert GUIDE_SOURCE in text and "gov.vn" not in text
    assert check_entry(entry, dt.date(2026, 11, 30), registry()) == ([], [])


def test_kb_check_refuses_a_guide_with_an_outside_source_and_an_info_entry_without_one():
    entry = GUIDES[0]
    sourced = dataclasses.replace(entry, sources=(Source(outlet="UBND xã Mẫu", title="Tin tức",
                                                         url="https://mau.gov.vn/tin-tuc"),))
    errors, _ = check_entry(sourced, dt.date(2026, 11, 30), registry())
    assert any("guide" in e for e in errors)
    bare_info = dataclasses.replace(entry, kind="info")
    errors, _ = check_entry(bare_info, dt.date(2026, 11, 30), registry())
    assert any("thiếu nguồn" in e for e in errors)


async def test_a_member_asking_how_to_log_gets_the_guide_with_the_bot_as_source(deps: Deps):
    chat = Chat(deps)
    await chat.say("lam sao de ghi ho dan")
    assert "/ghi" in chat.text
    assert "hướng dẫn sử dụng của chính trợ lý" in chat.text
    assert "phuhuu" not in chat.text and "Phú Hữu" not in chat.text

