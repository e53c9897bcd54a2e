"""A commune's own indicators.yaml that cannot be read: the bot starts without reading it, so the commands
that need it say so plainly (not the generic "sorry"), the chart still works, nothing is half-saved, and a
fixed file is picked up without a restart. Data: the demo (bot/demo.py)."""

from __future__ import annotations

from bot import demo
from bot.assist import catalogue
from bot.core import SORRY, Deps
from handlers.units import NO_INDICATORS
from knowledge.indicators import load_indicators
from tests import fixtures_data as fx
from tests.chat import Chat


def _break_indicators(deps: Deps) -> None:
    local = deps.settings.local_knowledge_dir
    local.mkdir(parents=True, exist_ok=True)
    (local / "indicators.yaml").write_text("indicators: [: chưa đúng", encoding="utf-8")


def _own_record(deps: Deps, key: str) -> int:
    return deps.storage.db.execute(
        "SELECT r.id FROM records r JOIN identities i ON i.member_id = r.member_id WHERE i.key = ? "
        "AND r.deleted = 0 ORDER BY r.id DESC LIMIT 1", [key]).fetchone()[0]


async def test_unreadable_indicators_get_a_plain_answer(small_deps: Deps):
    small_deps.clock = fx.clock()
    demo.seed(small_deps.storage, catalogue(), load_indicators(), fx.TODAY)
    _break_indicators(small_deps)
    official, leader = Chat(small_deps, "xa1"), Chat(small_deps, "to1")

    for said in ("/baocao", "/xuat", "/baocao to Tổ CNS thôn Đông tatca"):
        replies = await official.say(said)
        if said.startswith("/baocao to"):  # a team's report needs no indicators: unchanged
            assert "Lượt hỗ trợ" in replies[0].text
            continue
        assert [r.text for r in replies] == [NO_INDICATORS] and replies[0].file is None
    chart = (await official.say("/bieudo"))[0]
    assert chart.image is not None and chart.text != SORRY

    for said in ("/hoatdong", "/hoatdong tuyen truyen; hôm nay; Thôn Đông; 30"):
        assert [r.text for r in await leader.say(said)] == [NO_INDICATORS]
    assert small_deps.storage.db.execute("SELECT count(*) FROM activities WHERE attendees = 30").fetchone()[0] == 0

    rid = _own_record(small_deps, "console:to1")
    before = small_deps.storage.db.execute("SELECT achieved FROM records WHERE id = ?", [rid]).fetchone()[0]
    replies = await leader.press(f"kq:{rid}:p:2")  # the people count needs no indicators: saved
    assert replies[0].text == f"Đã lưu phiếu số {rid}. {NO_INDICATORS}"
    assert small_deps.storage.db.execute("SELECT people FROM records WHERE id = ?", [rid]).fetchone()[0] == 2
    assert [r.text for r in await leader.press(f"kq:{rid}:a:0:1")] == [NO_INDICATORS]
    assert small_deps.storage.db.execute("SELECT achieved FROM records WHERE id = ?", [rid]).fetchone()[0] == before

    (small_deps.settings.local_knowledge_dir / "indicators.yaml").unlink()  # fixed: the shipped file again
    assert "Lượt hỗ trợ" in (await official.say("/baocao"))[0].text
    assert "Các loại" in (await leader.say("/hoatdong"))[0].text
