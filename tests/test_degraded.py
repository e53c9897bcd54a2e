"""M8: a read-only or full database still answers questions, and says clearly what cannot be saved;
M6: /chuatraloi clusters off the event loop, with bounded work; L9: one person cannot fill the inbox."""

from __future__ import annotations

import secrets
import sqlite3
import threading
from contextlib import contextmanager

import pytest

from bot import inbox
from bot.core import STORAGE_DOWN
from bot.storage import Storage
from handlers import unanswered
from tests.chat import Chat
from tests.teamkit import make_team


def read_only(storage: Storage) -> None:
    storage.db.execute("PRAGMA query_only = ON")  # writes fail like a mode-444 file: "readonly database"


def full(storage: Storage) -> None:
    """Every write fails as SQLite fails on a full disk (SQLITE_FULL), reads still work."""

    @contextmanager
    def no_space():
        raise sqlite3.OperationalError("database or disk is full")
        yield  # pragma: no cover

    storage.transaction = no_space  # type: ignore[method-assign]


@pytest.mark.parametrize("breakage", [read_only, full])
async def test_broken_storage_gets_answers_and_a_clear_message(tdeps, breakage):
    _, _, [member] = await make_team(tdeps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; vneid2")
    records = tdeps.storage.db["records"].count
    breakage(tdeps.storage)
    stranger = Chat(tdeps, "someone")
    start = await stranger.say("/start")
    assert "Xin lỗi" not in start[0].text and "Xin chào" in start[0].text
    answer = await stranger.say("kich hoat vneid ko dc")
    assert "Xin lỗi" not in answer[0].text and answer[0].text.strip()
    saved = await member.pick("Lưu")
    assert [r.text for r in saved] == [STORAGE_DOWN]
    assert tdeps.storage.db["records"].count == records


async def test_inbox_clusters_off_the_event_loop_with_a_cap(tdeps, monkeypatch):
    admin, _, _ = await make_team(tdeps)
    with tdeps.storage.transaction() as conn:
        conn.executemany(
            "INSERT INTO unanswered (asked_at, channel, user_key, question, norm) VALUES ('2026-11-18', 'c', ?, ?, ?)",
            [(f"u{i}", f"câu hỏi lạ số {i} về chuyện {i * 7919 % 5000}", f"cau hoi la {i} chuyen {i * 7919 % 5000}")
             for i in range(5000)])
    seen = {}
    real = unanswered.group

    def spy(rows):
        seen["thread"] = threading.current_thread() is threading.main_thread()
        seen["rows"] = len(rows)
        return real(rows)

    monkeypatch.setattr(unanswered, "group", spy)
    replies = await admin.say("/chuatraloi")
    assert "Câu hỏi chưa có câu trả lời" in replies[0].text
    assert seen == {"thread": False, "rows": inbox.MAX_ROWS}
    # Distinct questions: fuzzy comparisons stop growing once MAX_GROUPS groups exist.
    calls = []
    extract = inbox.process.extractOne
    monkeypatch.setattr(inbox.process, "extractOne", lambda q, reps, **kw: calls.append(len(reps)) or extract(
        q, reps, **kw))
    rows = [(i, f"q{i}", " ".join(secrets.token_hex(3) for _ in range(4))) for i in range(2000)]
    assert len(real(rows)) == 2000
    assert len(calls) < inbox.MAX_GROUPS and max(calls) < inbox.MAX_GROUPS


async def test_one_person_cannot_fill_the_inbox(tdeps):
    stranger = Chat(tdeps, "flooder")
    for i in range(80):
        await stranger.say(f"câu hỏi không ai trả lời được về sao Hỏa số {i}")
    assert tdeps.storage.db["unanswered"].count == tdeps.storage.MAX_OPEN_PER_USER
    await Chat(tdeps, "other").say("câu hỏi không ai trả lời được về sao Kim")
    assert tdeps.storage.db["unanswered"].count == tdeps.storage.MAX_OPEN_PER_USER + 1


async def test_old_sessions_and_invites_are_pruned(tdeps, clock):
    """L9: tables that used to grow forever shrink."""
    _, leader, _ = await make_team(tdeps)
    storage = tdeps.storage
    with storage.transaction() as conn:
        conn.executemany("INSERT INTO sessions (key, state, updated_at) VALUES (?, '{}', '2025-01-01T00:00:00+00:00')",
                         [(f"console:old{i}",) for i in range(500)])
    before = storage.db["sessions"].count
    storage.PRUNE_EVERY = 5
    for i in range(5):
        await Chat(tdeps, f"new{i}").say("/start")
    assert storage.db["sessions"].count <= before - 500 + 5
    await leader.say("/moi")
    assert storage.db["invites"].count >= 1
    clock.advance(days=60)
    await leader.say("/moi")  # making a new invite forgets the long-expired ones
    assert storage.db["invites"].count == 1
