"""The core through `respond`: answers, choices, numbers, cancel, bad input, the safety guard."""

from __future__ import annotations

import logging

from bot.core import Incoming, respond
from bot.safety import MASK


async def test_question_without_diacritics_is_answered(chat):
    replies = await chat.say("kich hoat vneid ko dc")
    assert "Kích hoạt tài khoản VNeID" in replies[0].text
    labels = [c.label for c in replies[0].choices]
    assert "Quên mật khẩu VNeID" in labels  # related entry offered
    assert any("👍" in label for label in labels)


async def test_typed_number_picks_a_choice(chat):
    await chat.say("kich hoat vneid ko dc")
    replies = await chat.say("3")  # 1 and 2 are always 👍/👎; the related entry comes next
    assert "Quên mật khẩu VNeID" in replies[0].text


async def test_short_form_first_then_full_answer_by_typed_number(chat):
    replies = await chat.say("nop ho so dvc")
    text = replies[0].text
    assert 'chọn thủ tục, điền tờ khai rồi bấm "Nộp hồ sơ".' in text  # the short form
    assert "ghi lại mã hồ sơ" not in text  # the rest waits for "Xem đầy đủ"
    labels = [c.label for c in replies[0].choices]
    number = labels.index("📖 Xem đầy đủ") + 1
    assert replies[0].choices[number - 1].payload == "full:dichvucong-nop-ho-so"
    # sources as outlet and title, official first; the checked date; the older-guidance note
    assert ("Nguồn: Cổng Dịch vụ công quốc gia – Hướng dẫn nộp hồ sơ trực tuyến; "
            "VnExpress – Cách nộp hồ sơ dịch vụ công.") in text
    assert "Thông tin kiểm tra ngày 01/11/2026." in text
    assert ("Thông tin này theo hướng dẫn năm 2023, nay có thể đã khác; bà con hỏi thêm tổ công nghệ "
            "số hoặc Trung tâm Phục vụ hành chính công xã/phường cho chắc.") in text
    full = await chat.say(str(number))  # typed, as on the console and Zalo
    assert "3. Bấm \"Nộp hồ sơ\" và ghi lại mã hồ sơ để tra cứu." in full[0].text
    assert "Xem đầy đủ" not in [c.label for c in full[0].choices]
    assert "Kích hoạt tài khoản VNeID" in [c.label for c in full[0].choices]  # related still offered
    assert "Thông tin kiểm tra ngày 01/11/2026." in full[0].text
    assert "Thông tin này theo hướng dẫn năm 2023" in full[0].text


async def test_full_button_and_entries_without_more(chat):
    replies = await chat.press("full:dichvucong-nop-ho-so")
    assert "4. Không làm được" in replies[0].text
    replies = await chat.say("quen mk vneid")  # short == answer: nothing more to show
    assert "Xem đầy đủ" not in [c.label for c in replies[0].choices]
    assert "theo hướng dẫn năm" not in replies[0].text  # no as_of: no note
    assert "Nguồn: Bộ Công an – Hướng dẫn lấy lại mật khẩu VNeID; Dân trí" in replies[0].text
    replies = await chat.press("full:khong-co-muc-nay")
    assert "không còn" in replies[0].text


async def test_number_without_open_choices_gets_a_hint(chat):
    await chat.say("xin chao")
    replies = await chat.say("7")
    assert "không ứng với lựa chọn nào" in replies[0].text


async def test_out_of_scope_is_recorded_redacted(chat, small_deps):
    replies = await chat.say("gia vang hom nay bao nhieu")
    assert "chưa có câu trả lời" in replies[0].text
    rows = list(small_deps.storage.db["unanswered"].rows)
    assert rows and rows[0]["question"] == "gia vang hom nay bao nhieu"


async def test_feedback_once(chat, small_deps):
    await chat.say("quen mk vneid")
    await chat.pick("👍")
    replies = await chat.press("fb:vneid-quen-mat-khau:1")
    assert "rồi" in replies[0].text
    assert small_deps.storage.db["feedback"].count == 1


async def test_safety_guard_warns_and_stores_nothing(chat, small_deps, caplog):
    caplog.set_level(logging.DEBUG)
    replies = await chat.say("so cccd cua toi 001203004567 sao xo so khong duoc")
    assert "Đừng gửi" in replies[0].text
    dump = "\n".join(str(r) for t in small_deps.storage.db.table_names() for r in small_deps.storage.db[t].rows)
    assert "001203004567" not in dump
    assert MASK in dump  # the redacted question was stored for leaders


async def test_otp_alone_only_warns(chat):
    replies = await chat.say("482913")
    assert len(replies) == 1 and "Đừng gửi" in replies[0].text


async def test_bad_input_never_crashes(chat):
    for text in ["", "   ", "😀😀😀", "x" * 5000, "'; DROP TABLE sessions; --", "/khonglenh", "🙏 cảm ơn"]:
        replies = await chat.say(text)
        assert replies and all(r.text for r in replies)
    assert "chưa hiểu lệnh" in (await chat.say("/khonglenh"))[0].text


async def test_sticker_and_photo_are_explained(chat):
    replies = await chat.say(kind="sticker")
    assert "nhãn dán" in replies[0].text
    replies = await chat.say(kind="photo")
    assert "không lưu" in replies[0].text


async def test_stale_button(chat):
    replies = await chat.press("f:abc123:x")
    assert "cũ" in replies[0].text
    replies = await chat.press("nothing:here")
    assert "cũ" in replies[0].text


async def test_cancel_without_flow(chat):
    replies = await chat.say("/huy")
    assert "không có thao tác" in replies[0].text


async def test_topics_browse(chat):
    replies = await chat.say("/chude")
    await chat.pick("VNeID")
    assert any("Quên mật khẩu VNeID" == c.label for c in chat.last[0].choices)
    assert replies


async def test_a_bare_topic_name_lists_the_topic(chat):
    """"vneid" alone names a topic, not a question: the member gets that topic's list, not a guess or a
    "no answer yet" (nothing is recorded as unanswered)."""
    for text in ["vneid", "VNeID ?", "  Vneid!!"]:
        await chat.say(text)
        assert chat.last[0].text.startswith("VNeID và định danh điện tử")
        assert any(c.label == "Quên mật khẩu VNeID" for c in chat.last[0].choices)
    await chat.pick("Quên mật khẩu VNeID")
    assert "mật khẩu" in chat.last[0].text.lower()
    await chat.say("lừa đảo")  # no entry of that topic in this knowledge base: no empty list, the usual matching
    assert not chat.last[0].text.startswith("Phòng tránh lừa đảo")


async def test_session_is_keyed_by_channel_and_user(small_deps):
    await respond(Incoming("telegram", "5", "5", text="kich hoat vneid"), small_deps)
    assert small_deps.storage.load_session("telegram:5")["choices"]
    assert small_deps.storage.load_session("zalo:5") == {}


def test_first_delivery_and_pruning(storage):
    import datetime as dt

    now = dt.datetime(2026, 11, 18, 2, 0, tzinfo=dt.UTC)
    assert storage.first_delivery("zalo", "m1", now) and not storage.first_delivery("zalo", "m1", now)
    assert storage.first_delivery("telegram", "m1", now)  # keys are per channel
    later = now + dt.timedelta(days=1)
    assert storage.first_delivery("zalo", "m2", later, prune_before=later)
    keys = {k for (k,) in storage.db.execute("SELECT key FROM seen_messages")}
    assert keys == {"telegram:m1", "zalo:m2"}  # zalo ids older than `later` were forgotten, telegram's kept
    # The batch form first_delivery writes through: how many ids were new, pruning as first_delivery does.
    assert storage.remember_delivered("zalo", ["m2", "m3", "m4", "m3"], later) == 2
    assert storage.remember_delivered("telegram", ["m5"], later, prune_before=later) == 1
    keys = {k for (k,) in storage.db.execute("SELECT key FROM seen_messages")}
    assert keys == {"telegram:m5", "zalo:m2", "zalo:m3", "zalo:m4"}
