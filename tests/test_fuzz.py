"""Fuzz (Hypothesis): random text, buttons and commands through `respond`, for every role.

Each example gets a fresh database with a team, then drives a random conversation as a stranger, a
member, a leader or an admin, in a private chat or a group, with ID-like numbers (9, 12 or 16 digits,
in random spacing, NFC or NFD, zero-width characters inside) mixed into what is typed. Checks: nothing
raises, every message gets an answer, and the SQLite files (database and WAL, free pages included)
never hold an injected number nor any run of 9 or more digits in a text column.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import compose
from bot.config import Settings
from bot.core import Deps, Incoming, respond
from bot.storage import Storage
from knowledge.kb import KnowledgeBase
from knowledge.loader import load
from tests.chat import FIXTURE_KB
from tests.teamkit import Clock, make_team

KB = KnowledgeBase(load(shipped_dir=FIXTURE_KB))
# Every kind the adapters produce (bot/channels/telegram.message_kind, zalo.KINDS).
KINDS = ("text", "photo", "sticker", "voice", "location", "contact", "document", "video", "other")
ROLES = {"stranger": "nobody", "member": "m0", "leader": "lead", "admin": "admin"}
COMMANDS = ["/start", "/trogiup", "/chude", "/huy", "/ghi", "/cuatoi", "/sua", "/xoa", "/xoadulieu", "/baocao",
            "/xuat", "/bieudo", "/sohodan", "/chuatraloi", "/gopy", "/moi", "/thanhvien", "/thamgia", "/lienket",
            "/huylienket", "/taoto", "/khongco"]
WORDS = ["kich hoat vneid", "quên mật khẩu", "Nguyễn Văn An", "Xuân Hạ", "vneid2", "mã OTP là", "số căn cước",
         "thẻ", "sđt", "tatca", "thang", "01/11/2026-15/11/2026", ";", "1", "2", "Lưu", "'; DROP TABLE records; --",
         "=HYPERLINK(\"x\")", "😀", "\x00", "\u202e", ""]
SEPARATORS = ["", " ", "  ", ".", "-", "/", "_", "\u200b", " - "]
TEXT_COLUMNS = {"unanswered": ["question", "norm"], "households": ["head_name", "head_key"],
                "records": ["note", "reason"], "members": ["display_name"], "sessions": ["state"],
                "audit": ["before", "after"], "teams": ["name", "commune"], "villages": ["name"]}


@st.composite
def secret_numbers(draw) -> tuple[str, str]:
    """(digits, as typed): an ID-like number split into groups by random separators."""
    length = draw(st.sampled_from([9, 12, 16]))
    digits = draw(st.text("0123456789", min_size=length, max_size=length))
    groups, rest = [], digits
    while rest:
        size = draw(st.integers(1, 5))
        groups.append(rest[:size])
        rest = rest[size:]
    typed = groups[0]
    for group in groups[1:]:
        typed += draw(st.sampled_from(SEPARATORS)) + group
    return digits, typed


@st.composite
def messages(draw, secrets: list[str]) -> str:
    parts = draw(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=20)), max_size=4))
    if draw(st.booleans()):
        digits, typed = draw(secret_numbers())
        secrets.append(digits)
        parts.insert(draw(st.integers(0, len(parts))), f" {typed} ")
    text = " ".join(parts)
    if draw(st.sampled_from(COMMANDS + [""] * 4)) and draw(st.booleans()):
        text = draw(st.sampled_from(COMMANDS)) + " " + text
    return unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), text)


_LONG_DIGITS = re.compile(r"(?<![0-9a-f])\d{9,}(?![0-9a-f])")


def deps_for(folder: Path) -> Deps:
    settings_ = Settings(database_path=folder / "bot.db", export_dir=folder / "exports",
                         admin_ids=frozenset({"console:admin"}))
    return compose(settings=settings_, storage=Storage(settings_.database_path), kb=KB, clock=Clock())


def raw_text(folder: Path) -> str:
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in folder.glob("bot.db*"))


_DROP = re.compile(r"[\s.\-/_,()\u200b]+")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), role=st.sampled_from(sorted(ROLES)), group=st.booleans())
def test_random_conversations_never_crash_nor_store_id_numbers(data, role, group):
    secrets: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        deps = deps_for(folder)
        try:
            asyncio.run(_conversation(deps, data, role, group, secrets))
        finally:
            deps.storage.close()
        dump = raw_text(folder)
        stripped = _DROP.sub("", unicodedata.normalize("NFKC", dump))
        for digits in secrets:
            assert digits not in stripped, digits
        db = Storage(folder / "bot.db")
        try:
            for table, columns in TEXT_COLUMNS.items():
                for column in columns:
                    for (value,) in db.db.execute(f"SELECT {column} FROM {table}").fetchall():
                        # a run of 9+ digits not inside a random hex id ("rid": "c959530798c1fcdf")
                        assert not _LONG_DIGITS.search(value or ""), (table, column, value)
        finally:
            db.close()


async def _conversation(deps: Deps, data, role: str, group: bool, secrets: list[str]) -> None:
    await make_team(deps)
    user = ROLES[role]
    offered: list[str] = []
    steps = data.draw(st.integers(1, 8), label="steps")
    for _ in range(steps):
        action = data.draw(st.sampled_from(["text", "text", "press", "kind"]), label="action")
        if action == "press" and offered and data.draw(st.booleans()):
            incoming = Incoming("console", user, user, payload=data.draw(st.sampled_from(offered)), is_group=group)
        elif action == "press":
            payload = data.draw(st.one_of(st.text(max_size=30), st.sampled_from(
                ["f:000000:save", "rp:xuat:1:tatca", "rp:bieudo:1:01/01/0001-31/12/9999", "faq:-", "fb:x:1",
                 "ghi:save:1", "topic:x", "~zzz"])), label="payload")
            incoming = Incoming("console", user, user, payload=payload, is_group=group)
        elif action == "kind":
            incoming = Incoming("console", user, user, kind=data.draw(st.sampled_from(KINDS)), is_group=group)
        else:
            text = data.draw(messages(secrets), label="text")
            name = data.draw(st.one_of(st.just("Lan"), messages(secrets)), label="name")
            incoming = Incoming("console", user, user, text=text, display_name=name, is_group=group)
        replies = await respond(incoming, deps)
        assert replies and all(isinstance(r.text, str) for r in replies)
        offered = [c.payload for r in replies for c in r.choices] or offered
        deps.clock.advance(minutes=data.draw(st.integers(0, 90), label="minutes"))
    assert isinstance(deps.clock(), dt.datetime)
