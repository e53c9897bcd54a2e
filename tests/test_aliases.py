"""Merged entries: an old id (knowledge/aliases.yaml) keeps resolving wherever ids are stored."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from bot.app import compose
from knowledge import followup
from knowledge.check import alias_errors
from knowledge.followup import Context
from knowledge.kb import KnowledgeBase
from knowledge.loader import ALIASES_FILE, DATA_DIR, KnowledgeError, load, load_aliases, resolve
from tests.chat import FIXTURE_KB, Chat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import faq_eval

OLD = "vneid-quen-mk-cu"  # a made-up id "merged" into the fixture's vneid-quen-mat-khau
NEW = "vneid-quen-mat-khau"


@pytest.fixture
def merged_kb() -> KnowledgeBase:
    return KnowledgeBase(load(shipped_dir=FIXTURE_KB), aliases={OLD: NEW})


def test_resolve_follows_chains_and_refuses_loops():
    assert resolve("a", {"a": "b", "b": "c"}) == "c"
    assert resolve("x", {"a": "b"}) == "x"
    with pytest.raises(KnowledgeError):
        resolve("a", {"a": "b", "b": "a"})


def test_old_id_finds_the_merged_entry_but_is_not_listed(merged_kb):
    assert merged_kb.entries[OLD].id == NEW
    assert merged_kb.entries.get(OLD).id == NEW
    assert OLD in merged_kb.entries and "khong-co" not in merged_kb.entries
    assert merged_kb.entries.get("khong-co") is None
    assert OLD not in list(merged_kb.entries) and len(merged_kb.entries) == len(set(merged_kb.entries.values()))
    assert merged_kb.resolve(OLD) == NEW and merged_kb.resolve(NEW) == NEW


def test_a_topic_stored_under_the_old_id_reads_as_the_merged_entry(merged_kb, monkeypatch):
    seen = []
    monkeypatch.setattr(followup, "answer", lambda matcher, q, ctx, now: seen.append(ctx))
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    merged_kb.answer("làm ở đâu", Context(OLD, now, (OLD, "vneid-kich-hoat", NEW)), now)
    assert seen == [Context(NEW, now, (NEW, "vneid-kich-hoat"))]


def test_local_phrasings_filed_under_an_old_id_go_to_the_merged_entry(tmp_path: Path):
    (tmp_path / "_phrasings.yaml").write_text(f"{OLD}:\n  - mk dinh danh quen mat roi\n", encoding="utf-8")
    entries = {e.id: e for e in load(tmp_path, shipped_dir=FIXTURE_KB, aliases={OLD: NEW})}
    assert "mk dinh danh quen mat roi" in entries[NEW].questions and OLD not in entries
    with pytest.raises(KnowledgeError):  # without the alias the old id is an error, as before
        load(tmp_path, shipped_dir=FIXTURE_KB, aliases={})


def test_related_links_to_an_old_id_point_to_the_merged_entry(tmp_path: Path):
    text = (FIXTURE_KB / "small.yaml").read_text(encoding="utf-8")
    assert "related: [vneid-quen-mat-khau]" in text
    (tmp_path / "small.yaml").write_text(text.replace("related: [vneid-quen-mat-khau]",
                                                      f"related: [{OLD}, vneid-quen-mat-khau]"), encoding="utf-8")
    entries = {e.id: e for e in load(shipped_dir=tmp_path, aliases={OLD: NEW})}
    assert entries["vneid-kich-hoat"].related == (NEW,)
    with pytest.raises(KnowledgeError):  # without the alias: a dangling link, as before
        load(shipped_dir=tmp_path, aliases={})


def test_eval_expected_cells_read_an_old_id_as_the_merged_entry(monkeypatch):
    monkeypatch.setattr(faq_eval, "ALIASES", {OLD: NEW})
    assert faq_eval._expected(f"{OLD}|{NEW}|vneid-kich-hoat") == (NEW, "vneid-kich-hoat")
    assert faq_eval._expected("none") == ()


async def test_old_buttons_open_the_merged_entry_and_feedback_is_stored_under_the_new_id(
        settings, storage, merged_kb):
    chat = Chat(compose(settings=settings, storage=storage, kb=merged_kb))
    replies = await chat.press(f"faq:{OLD}")
    assert "Quên mật khẩu VNeID" in replies[0].text
    replies = await chat.press(f"full:{OLD}")
    assert "Quên mật khẩu VNeID" in replies[0].text
    await chat.press(f"fb:{OLD}:1")
    assert [r["entry_id"] for r in storage.db["feedback"].rows] == [NEW]
    replies = await chat.press(f"fb:{NEW}:1")  # the same entry: counted once
    assert "rồi" in replies[0].text and storage.db["feedback"].count == 1


def test_kb_check_flags_a_live_or_dangling_old_id():
    ids = {"a", "b"}
    assert alias_errors({"c": "a"}, ids) == []
    assert any("'a'" in e for e in alias_errors({"a": "b"}, ids))  # the old id is live again
    assert any("'c'" in e for e in alias_errors({"c": "zzz"}, ids))  # points to nothing
    assert any("vòng lặp" in e for e in alias_errors({"c": "d", "d": "c"}, ids))


def test_shipped_aliases_point_to_live_entries():
    aliases = load_aliases()
    assert ALIASES_FILE.is_file() and aliases
    assert not alias_errors(aliases, {e.id for e in load(shipped_dir=DATA_DIR)})
