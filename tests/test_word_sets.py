"""The word sets that were kept twice, now defined once (r19-greet): the record's yes-words and "duyệt hết".

Each merge is behaviour-preserving; these tests hold the replies the sets give through the core.
"""

from __future__ import annotations

import pytest

from bot.core import SAVE_WORDS, WORD_PICKS
from handlers.assist import ACK_WORDS, PENDING_YES
from handlers.review import ALL_WORDS
from handlers.words import REVIEW_ALL, as_command
from tests.teamkit import make_team, receipt


def test_the_yes_sets_are_built_on_the_save_words():
    assert SAVE_WORDS <= PENDING_YES and SAVE_WORDS <= ACK_WORDS
    assert all(WORD_PICKS[w] == "✅ Lưu" for w in SAVE_WORDS)
    assert REVIEW_ALL < ALL_WORDS and ALL_WORDS - REVIEW_ALL == {"all", "tat"}


# "dung roi luu" and "ok luu" joined PENDING_YES with the merge: they pressed "✅ Lưu phiếu đang ghi dở" in the core
# before (WORD_PICKS), and still do; the words only PENDING_YES has are read by its step.
@pytest.mark.parametrize("said", ["dung roi luu", "ok luu", "Đúng rồi", "ok", "có lưu", "lưu phiếu cũ", "vâng"])
async def test_a_yes_under_the_unsaved_record_question_saves_the_record_on_screen(deps, storage, said):
    _, _, (member,) = await make_team(deps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; cài vneid")
    await member.say("/ghi Lê Văn Ba; Xuân Thượng; kích hoạt vneid")
    assert "Lưu hồ sơ đang ghi dở không?" in member.text
    await member.say(said)
    assert receipt(member.text) == 1 and "Lê Văn Ba" in member.text, (said, member.text)


@pytest.mark.parametrize("said", ["dung roi luu", "ok luu", "okie", "chuan roi", "Dạ vâng ạ"])
async def test_a_yes_just_after_saving_is_told_it_is_saved(deps, storage, said):
    _, _, (member,) = await make_team(deps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; cài vneid")
    await member.say("Lưu")
    assert receipt(member.text) == 1
    await member.say(said)
    assert "Đã lưu rồi ạ, phiếu số 1" in member.text, (said, member.text)
    assert storage.db["records"].count == 1


def test_duyet_with_a_word_for_every_record_is_the_command_but_all_and_tat_stay_text():
    for word in REVIEW_ALL:
        assert as_command(f"duyệt {word}") == f"/duyet {word}", word
    for word in ("all", "tat", "tất"):
        assert as_command(f"duyệt {word}") is None, word


@pytest.mark.parametrize("word", sorted(ALL_WORDS))
async def test_a_word_for_every_record_after_duyet_approves_nothing_unseen(deps, word):
    _, leader, (member,) = await make_team(deps)
    await member.say("/ghi Nguyễn Văn An; Xuân Hạ; cài vneid")
    await member.say("Lưu")
    await leader.say(f"/duyet {word}")
    assert "bấm \"Duyệt cả … phiếu trên\"" in leader.text and "Đã duyệt" not in leader.text, leader.text
    assert "1 mới, 0 đã duyệt" in leader.text, leader.text
