"""/chuatraloi and /gopy: grouping, adding a phrasing that is answered at once, skipping, access."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import knowledge.kb
from bot.app import build_deps, compose
from bot.config import Settings
from bot.core import Deps
from handlers.unanswered import group
from knowledge.kb import KnowledgeBase
from knowledge.loader import PHRASINGS_FILE, load
from knowledge.normalize import key
from tests import fixtures_data as fx
from tests.chat import FIXTURE_KB, Chat

ROOT = Path(__file__).resolve().parent.parent
LOST = "khong vao duoc app vneid"
CARD = "muon lam the ngan hang"


@pytest.fixture
def local_dir(tmp_path: Path, monkeypatch) -> Path:
    """A commune folder holding the fixture entries; the shipped knowledge base is left out in-process."""
    folder = tmp_path / "local"
    folder.mkdir()
    shutil.copy(FIXTURE_KB / "small.yaml", folder / "small.yaml")
    monkeypatch.setattr(knowledge.kb, "load", functools.partial(load, shipped_dir=tmp_path / "no-shipped"))
    return folder


@pytest.fixture
def ideps(settings: Settings, storage, local_dir: Path) -> Deps:
    s = Settings(**{**settings.__dict__, "knowledge_local_dir": local_dir})
    deps = compose(settings=s, storage=storage, kb=KnowledgeBase.load(local_dir), clock=fx.clock())
    return deps


def ask(question: str, data: fx.Data, team: str | None = "Tổ CNS xã Xuân Thượng", deps: Deps = None) -> None:
    deps.storage.add_unanswered("telegram", "telegram:9", question, key(question), deps.clock(),
                                data.teams[team] if team else None)


@pytest.fixture
def data(ideps: Deps) -> fx.Data:
    d = fx.build(ideps.storage)
    for q in (LOST, LOST, "Không vào được app VNeID", "app vneid khong vao duoc", "khong vao dc app vneid nua",
              CARD, "Muốn làm thẻ ngân hàng", "gia vang hom nay"):
        ask(q, d, deps=ideps)
    ask("cau hoi rieng cua to yen binh", d, "Tổ CNS xã Yên Bình", deps=ideps)
    ask("cau hoi cua nguoi ngoai to", d, None, deps=ideps)
    return d


def test_grouping_is_by_similarity_most_frequent_first():
    rows = [(i, q, key(q)) for i, q in enumerate(
        ["gia vang", LOST, CARD, LOST, "app vneid khong vao duoc", "Muốn làm thẻ ngân hàng", "khong vao dc app vneid"],
        start=1)][::-1]
    groups = group(rows)
    assert [len(g.ids) for g in groups] == [4, 2, 1]
    assert groups[0].norm == key(LOST) and sorted(groups[0].ids) == [2, 4, 5, 7]
    assert groups[1].question == "Muốn làm thẻ ngân hàng"  # the latest wording of the key
    assert group([]) == []


async def test_inbox_lists_own_team_grouped(ideps, data):
    chat = Chat(ideps, user="hoa")
    reply = (await chat.say("/chuatraloi"))[0]
    assert "8 câu, 3 nhóm" in reply.text
    lines = reply.text.splitlines()
    assert lines[1].startswith("Nhóm 1: ") and "(5 lần)" in lines[1] and "vneid" in lines[1].lower()
    assert any("(2 lần)" in line for line in lines) and any("gia vang hom nay\" (1 lần)" in line for line in lines)
    assert "yen binh" not in reply.text and "nguoi ngoai" not in reply.text
    assert [c.label for c in reply.choices][:2] == ["Nhóm 1: thêm làm cách hỏi của mục…", "Nhóm 1: bỏ qua"]


async def test_admin_sees_every_question(ideps, data):
    text = (await Chat(ideps, user="admin").say("/chuatraloi"))[0].text
    assert "10 câu, 5 nhóm" in text and "yen binh" in text and "nguoi ngoai" in text


async def test_members_are_refused(ideps, data):
    for user, channel in (("200", "telegram"), ("nobody", "console")):
        reply = (await Chat(ideps, user=user, channel=channel).say("/chuatraloi"))[0]
        assert "dành cho tổ trưởng" in reply.text and not reply.choices
        assert "dành cho tổ trưởng" in (await Chat(ideps, user=user, channel=channel).say("/gopy"))[0].text


async def test_add_as_phrasing_is_answered_at_once(ideps, data, local_dir):
    assert ideps.kb.match(LOST).status == "none"
    chat = Chat(ideps, user="hoa")
    await chat.say("/chuatraloi")
    pick = (await chat.pick("Nhóm 1: thêm"))[0]
    labels = [c.label for c in pick.choices]
    assert "Quên mật khẩu VNeID" in labels[:5] and labels[-1] == "Quay lại danh sách"
    done = (await chat.pick("Quên mật khẩu VNeID"))[0]
    assert "Đã thêm" in done.text and "5 câu hỏi đã xử lý" in done.text
    assert "3 câu, 2 nhóm" in done.text  # the refreshed inbox
    result = ideps.kb.match(LOST)
    assert result.status == "answer" and result.best.entry.id == "vneid-quen-mat-khau"
    assert "Quên mật khẩu VNeID" in (await Chat(ideps, user="someone").say(LOST))[0].text
    rows = ideps.storage.db.execute("SELECT status, entry_id, count(*) FROM unanswered "
                                    "WHERE status != 'open' GROUP BY 1, 2").fetchall()
    assert rows == [("added", "vneid-quen-mat-khau", 5)]
    assert (local_dir / PHRASINGS_FILE).is_file()
    # The command line reads the same folder (with the real shipped knowledge base as well).
    env = {**os.environ, "KNOWLEDGE_LOCAL_DIR": str(local_dir), "DATABASE_PATH": str(local_dir / "x.db")}
    out = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", LOST], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    answer = json.loads(out.stdout.splitlines()[0])
    assert answer["status"] == "answer" and answer["entry"]["id"] == "vneid-quen-mat-khau"


async def test_skip_and_stale_buttons(ideps, data):
    chat = Chat(ideps, user="hoa")
    await chat.say("/chuatraloi")
    choices = chat.last[0].choices
    skipped = (await chat.pick("Nhóm 2: bỏ qua"))[0]
    assert "Đã bỏ qua 2 câu hỏi" in skipped.text and "6 câu, 2 nhóm" in skipped.text
    again = await chat.press(choices[3].payload)  # the same button from the old list
    assert "đã cũ" in again[0].text
    assert ideps.storage.db.execute("SELECT count(*) FROM unanswered WHERE status = 'ignored'").fetchone() == (2,)


async def test_free_text_in_the_inbox_goes_to_the_faq(ideps, data):
    chat = Chat(ideps, user="hoa")
    await chat.say("/chuatraloi")
    reply = (await chat.say("quen mk vneid"))[0]
    assert "Quên mật khẩu VNeID" in reply.text
    sticker = (await chat.say("", kind="sticker"))[0]
    assert "chưa xem được" in sticker.text  # the flow has ended; nothing odd happens


async def test_sticker_inside_the_inbox_reprompts(ideps, data):
    chat = Chat(ideps, user="hoa")
    await chat.say("/chuatraloi")
    await chat.pick("Nhóm 1: thêm")
    reply = (await chat.say("", kind="photo"))[-1]
    assert "làm cách hỏi của mục nào" in reply.text


async def test_no_close_entry(ideps, data):
    chat = Chat(ideps, user="hoa")
    await chat.say("/chuatraloi")
    reply = (await chat.pick("Nhóm 3: thêm"))[0]
    assert "Không có mục nào gần" in reply.text
    assert "3 nhóm" in (await chat.pick("Quay lại"))[0].text


async def test_default_local_folder_when_unset(tmp_path, monkeypatch):
    """KNOWLEDGE_LOCAL_DIR empty: additions go next to the database and are read back at start."""
    monkeypatch.setattr(knowledge.kb, "load", functools.partial(load, shipped_dir=tmp_path / "no-shipped"))
    settings = Settings(database_path=tmp_path / "db" / "bot.db", admin_ids=frozenset({"console:admin"}))
    default = tmp_path / "db" / "knowledge_local"
    default.mkdir(parents=True)
    shutil.copy(FIXTURE_KB / "small.yaml", default / "small.yaml")
    deps = build_deps(settings)
    try:
        assert deps.kb.local_dir == default
        deps.kb = KnowledgeBase(deps.kb.entries.values())  # a knowledge base built without a folder
        deps.storage.add_unanswered("console", "console:x", CARD, key(CARD), deps.clock())
        chat = Chat(deps, user="admin")
        await chat.say("/chuatraloi")
        await chat.pick("Nhóm 1: thêm")
        await chat.pick("Mở tài khoản ngân hàng")
        assert deps.kb.local_dir == default and (default / PHRASINGS_FILE).is_file()
        assert deps.kb.match(CARD).best.entry.id == "thanhtoan-mo-tai-khoan"
        assert build_deps(settings, storage=deps.storage).kb.match(CARD).status == "answer"  # after a restart
    finally:
        deps.storage.close()


async def test_feedback_per_entry(ideps, data):
    s = ideps.storage
    a, b = data.teams["Tổ CNS xã Xuân Thượng"], data.teams["Tổ CNS xã Yên Bình"]
    s.add_feedback("telegram:1", "vneid-kich-hoat", False, ideps.clock(), a)
    s.add_feedback("telegram:2", "vneid-kich-hoat", False, ideps.clock(), a)
    s.add_feedback("telegram:3", "vneid-kich-hoat", True, ideps.clock(), a)
    s.add_feedback("telegram:4", "vneid-quen-mat-khau", True, ideps.clock(), a)
    s.add_feedback("telegram:5", "thanhtoan-mo-tai-khoan", False, ideps.clock(), b)
    text = (await Chat(ideps, user="hoa").say("/gopy"))[0].text
    assert "2 👍, 2 👎" in text and "- Kích hoạt tài khoản VNeID: 2 👎, 1 👍" in text
    assert "Mở tài khoản ngân hàng" not in text
    text = (await Chat(ideps, user="admin").say("/gopy"))[0].text
    assert "2 👍, 3 👎" in text and "Mở tài khoản ngân hàng trên điện thoại: 1 👎, 0 👍" in text
    assert not s.add_feedback("telegram:1", "vneid-kich-hoat", True, ideps.clock(), a)  # once per user and entry
    text = (await Chat(ideps, user="bich").say("/gopy"))[0].text
    assert "dành cho tổ trưởng" in text
