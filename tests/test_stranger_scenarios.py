"""A stranger's scenarios (r18), end to end through the real Telegram and Zalo adapters against their fakes.

Each scenario is written as a person outside the team would try it: an older volunteer typing without
diacritics, with abbreviations and secrets in many spellings, a member logging households, a leader asking
for reports, a villager who is not a member, and bad input (stickers, photos, voice, empty text, emoji only,
SQL-looking strings, unknown commands, 5,000 characters, buttons from yesterday). The bugs they found are
named in the test that failed before the fix (see CHANGELOG.md, "Stranger's scenarios, round 18").
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from pathlib import Path

import pytest

from bot.app import compose
from bot.core import Deps, clip
from bot.safety import MASK, redact
from handlers.assist import clean_name
from tests.channelkit import (
    TelegramUser,
    ZaloUser,
    button,
    buttons,
    running,
    telegram_deps,
    telegram_running,
    zalo_deps,
)
from tests.chat import Chat
from tests.teamkit import code_in, invite_leader, receipt

NO_ANSWER = "chưa có câu trả lời"
WARNED = "thông tin cần giữ kín"
# Words a technical or English reply would carry; no reply to a stranger may hold one.
TECHNICAL = re.compile(r"\b(error|exception|traceback|none|null|sql|sqlite|invalid|failed)\b", re.IGNORECASE)
VIETNAMESE = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.IGNORECASE)


def raw_files(deps: Deps) -> str:
    """Everything the database holds, free pages and the WAL included, decoded leniently."""
    path = Path(deps.storage.path)
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in (path, Path(f"{path}-wal")) if p.exists())


def digits_leak(secret: str, haystack: str) -> bool:
    """Whether `secret` (its digits, or its letters and digits) survives anywhere in `haystack`."""
    haystack = unicodedata.normalize("NFKC", haystack)
    if secret.isdigit():
        return secret in re.sub(r"[\s.\-/_,()]+", "", haystack)
    return secret.lower() in haystack.lower()


def friendly(text: str) -> None:
    """A reply a stranger may get: Vietnamese with diacritics, nothing technical."""
    assert text.strip(), "an empty reply"
    assert VIETNAMESE.search(text), text
    assert not TECHNICAL.search(text), text


@pytest.fixture
def zshipped(settings, storage, shipped_kb, zfake) -> Deps:
    return zalo_deps(compose(settings=settings, storage=storage, kb=shipped_kb), zfake)


@pytest.fixture
def zsmall(settings, storage, small_kb, zfake) -> Deps:
    return zalo_deps(compose(settings=settings, storage=storage, kb=small_kb), zfake)


@pytest.fixture
def tsmall(settings, storage, small_kb, tfake, clock) -> Deps:
    return telegram_deps(compose(settings=settings, storage=storage, kb=small_kb, clock=clock), tfake)


@pytest.fixture
def tshipped(settings, storage, shipped_kb, tfake, clock) -> Deps:
    return telegram_deps(compose(settings=settings, storage=storage, kb=shipped_kb, clock=clock), tfake)


# --- secrets in every spelling ---------------------------------------------------------------------------

# (typed, the secret that must not survive). The first rows failed before round 18: a password after a word
# naming whose or which ("mk vneid là …", "mật khẩu ngân hàng: …") and a code glued to "otp" were kept.
SECRET_FORMS = [
    ("mk vneid la Hoa@1960 co an toan ko", "Hoa@1960"),
    ("mat khau vneid cua toi la hoa1960 dung ko", "hoa1960"),
    ("mật khẩu ngân hàng: Abc12345 có lộ không", "Abc12345"),
    ("mk tk ngan hang la Lan1980 co sao ko", "Lan1980"),
    ("mk vneid: Abc@12345", "Abc@12345"),
    ("pass vneid là ông123", "ông123"),
    ("toi nhan duoc otp482913 roi", "482913"),
    ("mã OTP123456 là gì", "123456"),
    ("mật khẩu cũ là hoa1960 mới là hoa1961", "hoa1961"),
    ("ngân hàng gửi mã 6 số 482913 là gì", "482913"),
    ("0 3 4 1 2 3 4 5 6 7 8 9 la so cccd cua me toi", "034123456789"),
    ("so cccd 034.123.456.789 kich hoat ko dc", "034123456789"),
    ("cccd 0341 2345 6789 bi khoa", "034123456789"),
    ("ma otp 123456 co dua cho cong an ko", "123456"),
    ("mk la 654321 co bi lo ko", "654321"),
    ("passcode la 1 2 3 4 5 6 nha", "123456"),
    ("mk vneid: 1 2 3 4 5 6", "123456"),
    ("mã OTP là: 482 913", "482913"),
]
# Questions about passwords that hold none: before round 18 "taikhoan" and "nganhang" were hidden as passwords
# (and the sender warned), which also changed the words the question was matched on.
NO_SECRET = [
    "quen mk taikhoan vneid",
    "mat khau nganhang bi khoa",
    "mk vneid bao nhieu ky tu",
    "mật khẩu phải có chữ hoa, chữ thường, số, ký tự đặc biệt",
    "mk: gồm 8 ký tự",
    "passcode là mã gồm 6 số",
    "mat khau la gi, cach dat mk",
    "mật khẩu là thường dùng gì",
]


@pytest.mark.parametrize(("text", "secret"), SECRET_FORMS)
def test_secret_forms_are_hidden(text, secret):
    for form in ("NFC", "NFD"):
        guarded = redact(unicodedata.normalize(form, text))
        assert guarded.needs_warning and MASK in guarded.text, guarded
        assert not digits_leak(secret, guarded.text), guarded.text


@pytest.mark.parametrize("text", NO_SECRET)
def test_questions_about_passwords_keep_their_words(text):
    guarded = redact(text)
    assert guarded.text == text and not guarded.found, guarded


@pytest.mark.parametrize(("typed", "name"), [
    ("Bà Nguyễn Thị Tư cccd 0 3 4 1 2 3 4 5 6 7 8 9", "Bà Nguyễn Thị Tư"),
    ("Lê Văn Cường, sđt: 0912 345 678", "Lê Văn Cường"),
    ("nguyen van an so cccd la 034123456789", "Nguyen Van An"),
    ("Lê Thị Hoa, mk là 654321", "Lê Thị Hoa"),
    ("Nguyễn Văn Lã 034.123.456.789", "Nguyễn Văn Lã"),  # a name ending like "là" keeps it
    ("Đinh Văn Danh cccd 034123456789", "Đinh Văn Danh"),
])
def test_a_number_typed_after_a_name_takes_its_label_with_it(typed, name):
    """Before round 18 'Bà Nguyễn Thị Tư cccd 0 3 4 …' was saved as the household 'Bà Nguyễn Thị Tư Cccd'."""
    assert clean_name(typed) == (name, True)


async def test_secrets_typed_in_questions_on_zalo(zshipped, zfake):
    """An older volunteer pastes ID numbers, OTPs and passwords into questions: each is warned about once,
    still answered or offered choices (never the raw number echoed), and nothing of it reaches the database."""
    async with running(zshipped):
        for i, (text, _) in enumerate(SECRET_FORMS):
            user = ZaloUser(zfake, f"{i:02d}" + "a" * 18, "Bà Tư")
            await user.say(text, count=2)
            warning, answer = user.last
            assert WARNED in warning
            friendly(answer)
        # Questions about passwords that hold none are not warned about, and are answered.
        for i, text in enumerate(NO_SECRET[:3]):
            user = ZaloUser(zfake, f"{i:02d}" + "b" * 18, "Ông Năm")
            await user.say(text)
            assert WARNED not in user.text and NO_ANSWER not in user.text, user.text
    stored = raw_files(zshipped) + "\n".join(zfake.texts())
    for _, secret in SECRET_FORMS:
        assert not digits_leak(secret, stored), secret


async def test_secrets_inside_a_household_log_on_telegram(tsmall, tfake, storage):
    """A member logs households with ID numbers, phone numbers, OTPs and passwords written into the name, the
    services and the note. Before round 18 the services part "cccd 034.123.456.789" came back as "Tôi chưa hiểu
    việc "cccd an"" (the hidden-number placeholder read as words) and the name kept the word "Cccd"."""
    code = await invite_leader(tsmall, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Thượng, Xuân Hạ")
    async with telegram_running(tsmall):
        leader = TelegramUser(tfake, 200, "Hoa")
        await leader.say(f"/thamgia {code}")
        await leader.say("/moi")
        member = TelegramUser(tfake, 300, "Lan")
        await member.say(f"/thamgia {code_in(leader.text)}")
        await member.say("/start")
        assert "Ghi một hộ dân vừa hỗ trợ: gõ /ghi." in member.text

        await member.say("ghi Nguyen Van An; Xuan Ha; kich hoat vneid, cccd 034.123.456.789", count=3)
        warning, unknown, summary = (m["text"] for m in member.last)
        assert WARNED in warning
        assert unknown == 'Tôi chưa hiểu việc "cccd"; nếu cần thêm việc, bấm "Sửa" ở bản tóm tắt để chọn.'
        assert "Hỗ trợ kích hoạt VNeID mức 2" in summary and " an" not in summary.split("Tôi chưa hiểu")[1]
        await member.press("Lưu")
        first = receipt(member.text)

        await member.say("/ghi")
        await member.press("Xuân Hạ")
        await member.say("Bà Nguyễn Thị Tư cccd 0 3 4 1 2 3 4 5 6 7 8 9", count=2)
        assert WARNED in member.last[0]["text"] and "Hộ mới: Bà Nguyễn Thị Tư, thôn Xuân Hạ" in member.last[1]["text"]
        await member.say("034.123.456.789", count=3)  # the whole ID number where 3 phone digits are asked
        assert "Chỉ cần 3 số cuối" in member.last[1]["text"]
        await member.say("sdt 0912 345 678", count=2)
        await member.say("678")
        await member.press("Cài đặt VNeID")
        await member.press("Xong")
        await member.press("Đã xong")
        await member.say("mk la 654321, otp482913, ba quen mk vneid: Hoa@1960", count=2)
        assert WARNED in member.last[0]["text"]
        note = next(line for line in member.last[1]["text"].split("\n") if line.startswith("- Ghi chú"))
        assert note == "- Ghi chú: mk la [đã ẩn], otp[đã ẩn], ba quen mk vneid: [đã ẩn]"
        await member.press("Lưu")
        second = receipt(member.text)

    db = storage.db
    names = {db["households"].get(db["records"].get(n)["household_id"])["head_name"] for n in (first, second)}
    assert names == {"Nguyen Van An", "Bà Nguyễn Thị Tư"}
    stored = raw_files(tsmall)
    for secret in ("034123456789", "0912345678", "654321", "482913", "Hoa@1960"):
        assert not digits_leak(secret, stored), secret


async def test_a_record_typed_with_commas_on_zalo(settings, storage, small_kb, zfake, clock):
    """Before round 18 "ghi Nguyễn Văn An, Xuân Hạ, cài vneid" (commas, as people write lists) went to the
    question matcher and the household's name into the leaders' unanswered inbox; "ngày mai" as the day got
    "Tôi chưa hiểu ngày" instead of "chưa tới"."""
    zsmall = zalo_deps(compose(settings=settings, storage=storage, kb=small_kb, clock=clock), zfake)
    code = await invite_leader(zsmall, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Thượng, Xuân Hạ")
    async with running(zsmall):
        member = ZaloUser(zfake, "m" * 20, "Lan")
        await member.say(f"tham gia {code}")
        await member.say("/start")
        assert "Ghi một hộ dân: /ghi. Báo cáo của tổ: /baocao." in member.text and "/thamgia" not in member.text
        await member.say("ghi Nguyễn Văn An, Xuân Hạ, cài vneid, mở tài khoản ngân hàng, hôm qua")
        assert "- Hộ: Nguyễn Văn An (hộ mới), thôn Xuân Hạ" in member.text
        assert "Cài đặt VNeID; Mở tài khoản ngân hàng" in member.text and "Ngày hỗ trợ: 17/11/2026" in member.text
        await member.pick("Lưu")
        assert "Số phiếu: 1" in member.text
        await member.say("ghi Lê Văn Ba, Xuân Hạ, kích hoạt vneid")
        await member.say("ok")  # "Đúng rồi thì bấm Lưu."
        assert "Số phiếu: 2" in member.text
        await member.say("ghi Trần Văn Cư; Xuân Hạ; cài vneid; ngày mai")
        assert "chưa tới. Chỉ ghi việc đã làm" in member.text
        await member.say("ghi am cuoc goi, luu lai, co duoc khong")  # a question with commas is still a question
        assert "Bạn kiểm tra lại" not in member.text
        # A note that starts with "ghi" and lists things stays the note: before round 18 one with two ";" was
        # taken as a new one-line record, and the draft being written was dropped.
        await member.say("ghi Phạm Văn Tâm; Xuân Hạ; cài vneid")
        await member.pick("Sửa")
        await member.pick("Xong")
        await member.pick("Đã xong")
        await member.say("ghi chú: gọi lại; mang căn cước; thứ 6")
        assert "- Ghi chú: ghi chú: gọi lại; mang căn cước; thứ 6" in member.text and "đã bỏ" not in member.text
        await member.pick("Sửa")
        await member.pick("Xong")
        await member.pick("Đã xong")
        await member.say("ghi nhớ, gọi lại, thứ 6")
        assert "- Ghi chú: ghi nhớ, gọi lại, thứ 6" in member.text and "Phạm Văn Tâm" in member.text
        await member.say("lưu")
        assert "Số phiếu: 3" in member.text
    assert storage.db["records"].count == 3
    assert not [q for (q,) in storage.db.conn.execute("select question from unanswered") if "Nguyễn Văn An" in q]


# --- bad input -------------------------------------------------------------------------------------------

STICKER = {"file_id": "s1", "file_unique_id": "su1", "type": "regular", "width": 512, "height": 512,
           "is_animated": False, "is_video": False}
FILE = {"file_id": "f1", "file_unique_id": "fu1"}
NON_TEXT = [
    ("sticker", {"sticker": STICKER}, "nhãn dán"),
    ("photo", {"photo": [{**FILE, "width": 90, "height": 90}]}, "ảnh"),
    ("voice", {"voice": {**FILE, "duration": 3}}, "tin nhắn thoại"),
    ("audio", {"audio": {**FILE, "duration": 30}}, "tin nhắn thoại"),
    ("video", {"video": {**FILE, "width": 9, "height": 9, "duration": 3}}, "video"),
    ("video note", {"video_note": {**FILE, "length": 9, "duration": 3}}, "video"),
    ("location", {"location": {"latitude": 21.0, "longitude": 105.8}}, "vị trí"),
    ("contact", {"contact": {"phone_number": "0912345678", "first_name": "Tư"}}, "danh bạ"),
    ("document", {"document": {**FILE, "file_name": "don.pdf"}}, "tệp"),
    ("dice", {"dice": {"emoji": "🎲", "value": 3}}, "loại tin nhắn này"),
]


async def test_every_kind_of_non_text_gets_a_kind_reply_on_telegram(tsmall, tfake):
    """Stickers, photos, voice, audio, video, locations, contacts, files and dice: one plain Vietnamese reply
    each, naming what was sent; nothing is downloaded and the contact's phone number is not stored."""
    async with telegram_running(tsmall):
        villager = TelegramUser(tfake, 500, "Bà Tư")
        for _, content, what in NON_TEXT:
            await villager.send(**content)
            assert f"chưa xem được {what}" in villager.text, villager.text
            friendly(villager.text)
    assert not tfake.methods("getFile")
    assert not digits_leak("0912345678", raw_files(tsmall))


async def test_bad_input_on_zalo(zsmall, zfake, storage):
    """Empty text, emoji only, a sticker, a photo, a voice note, an event Zalo sends without content, an
    SQL-looking string, an unknown command and 5,000 characters: each gets a friendly reply under Zalo's
    2,000-character limit, and the database is intact."""
    async with running(zsmall):
        villager = ZaloUser(zfake, "c" * 20, "Ông Ba")
        await villager.say("")
        assert "Bạn chưa gõ câu hỏi" in villager.text
        await villager.say("😀🙏👍👍")
        assert "Bạn chưa gõ câu hỏi" in villager.text
        for kind, what in (("sticker", "nhãn dán"), ("image", "ảnh"), ("voice", "tin nhắn thoại"),
                           ("unsupported", "loại tin nhắn này")):
            await villager.say("", kind=kind)
            assert f"chưa xem được {what}" in villager.text, (kind, villager.text)
        await villager.say("'; DROP TABLE records; -- ")
        friendly(villager.text)
        await villager.say("/abcxyz")
        assert "Tôi chưa hiểu lệnh /abcxyz" in villager.text
        long = ("Kính gửi quý cơ quan, tôi năm nay 68 tuổi, ở thôn Xuân Hạ. " * 100)[:4990] + " quen mat khau vneid?"
        assert len(long) >= 5000
        await villager.say(long)
        for text in villager.last:
            friendly(text)
            assert len(text) <= 2000
    assert "records" in storage.db.table_names() and "members" in storage.db.table_names()


def test_a_long_letter_is_cut_in_the_middle_and_never_through_a_number():
    """Before round 18 a message was cut to its first 1,000 characters, so a pasted letter lost the question it
    asks last, and got "chưa có câu trả lời"."""
    story = "Tôi tên Tư, số căn cước 034 158 001 234, ở thôn Xuân Hạ. " * 60
    letter = f"Kính gửi Tổ công nghệ số. {story}Xin hỏi làm sao kích hoạt VNeID? Xin cảm ơn."
    for limit in (1000, 333, 4000):
        cut = clip(letter, limit)
        assert len(cut) <= limit and cut.startswith("Kính gửi") and cut.endswith("Xin hỏi làm sao kích hoạt VNeID? "
                                                                                  "Xin cảm ơn."), cut
        # Every number left is whole: hidden as an ID number when the cut text is guarded.
        assert not re.search(r"\d", redact(cut).text), redact(cut).text
    assert clip("ngắn thôi", 1000) == "ngắn thôi"
    assert len(clip("a" * 5000, 1000)) == 1000


async def test_an_admin_creates_a_team_of_a_large_commune_on_telegram(tsmall, tfake, storage):
    """Before round 18 the villages of /taoto were cut to their first 80 characters: a commune's ninth village was
    lost and the eighth saved half-written ("Thô"). All are kept now (up to 100, and the admin is told the rest)."""
    villages = [f"Thôn Xuân Thượng {i}" for i in range(1, 25)]
    async with telegram_running(tsmall):
        admin = TelegramUser(tfake, 1, "Quản trị")  # telegram:1 is in ADMIN_IDS
        await admin.say(f"/taoto Tổ CNS Xuân; Xã Xuân Thượng; {', '.join(villages)}")
        assert "Thôn Xuân Thượng 24." in admin.text
        await admin.say("/taoto", count=2)
        await admin.say("Tổ CNS Đông")
        await admin.say("Xã Đông Sơn")
        many = [f"Xóm Đông Sơn {i}" for i in range(1, 121)]
        await admin.say(", ".join(many))  # 1,900 characters typed at the step
        assert "Xóm Đông Sơn 100." in admin.text and "20 thôn sau đó chưa được thêm" in admin.text
    saved = [name for (name,) in storage.db.conn.execute("SELECT name FROM villages ORDER BY id")]
    assert saved == villages + many[:100]


async def test_a_5000_character_message_on_telegram(tshipped, tfake):
    """A letter pasted whole (5,000 characters) is answered or honestly not, within Telegram's limits."""
    letter = ("Kính gửi Ban biên tập, tôi là Nguyễn Văn Tư, năm nay 70 tuổi, ở xã Xuân Thượng. "
              * 70)[:4900] + " Cho tôi hỏi làm thế nào để kích hoạt tài khoản định danh điện tử mức 2? Xin cảm ơn."
    assert len(letter) >= 4950
    async with telegram_running(tshipped):
        villager = TelegramUser(tfake, 501, "Ông Tư")
        await villager.say(letter)
        friendly(villager.text)
        assert all(len(m["text"]) <= 4096 for m in villager.last)
        shown = villager.text + " ".join(b["text"] for m in villager.last for b in buttons(m))
        assert NO_ANSWER not in shown and "kích hoạt" in shown.lower(), shown  # answered, or the entries offered


# --- buttons from yesterday ------------------------------------------------------------------------------

async def test_buttons_from_yesterday_on_telegram(tshipped, tfake, storage, clock):
    """A member leaves a summary unsaved and an answer open; the next day the old "Lưu" says the draft was
    dropped and saves nothing, the old "Xem đầy đủ" still opens the full answer, and 👍 is taken once."""
    code = await invite_leader(tshipped, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Thượng, Xuân Hạ")
    async with telegram_running(tshipped):
        member = TelegramUser(tfake, 301, "Lan")
        await member.say(f"/thamgia {code}")
        await member.say("quen mat khau vneid")
        answer = member.message_with("Xem đầy đủ")
        await member.say("ghi Tran Van Binh; Xuan Ha; cai vneid")
        summary = member.message_with("Lưu")
        clock.advance(hours=26)
        await member.press("Lưu", count=2, message=summary)
        dropped, stale = (m["text"] for m in member.last)
        assert "Đã quá 12 giờ" in dropped and "Tran Van Binh" in dropped and "chưa được lưu" in dropped
        assert "cũ" in stale and "/ghi" in stale
        assert storage.db["records"].count == 0
        await member.press("Xem đầy đủ", message=answer)
        assert "Quên mật khẩu" in member.text
        await member.press("👍", message=answer)
        assert "Cảm ơn" in member.text
        await member.press("👍", message=answer)
        assert "rồi" in member.text
        # The same summary pressed again: still stale, still nothing saved.
        await member.press("Lưu", message=summary)
        assert "cũ" in member.text and storage.db["records"].count == 0


# --- two teams, access ------------------------------------------------------------------------------------

async def test_two_members_of_different_teams_at_once_on_telegram(tsmall, tfake, storage):
    """Two members of two teams log at the same moment; each record lands in its own team, and each leader
    sees only their own team's numbers and households, whatever they ask for."""
    code_x = await invite_leader(tsmall, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Hạ")
    code_d = await invite_leader(tsmall, "Tổ CNS Đông", "Xã Đông Sơn", "Đông Hòa")
    async with telegram_running(tsmall):
        lead_x, lead_d = TelegramUser(tfake, 210, "Hoa"), TelegramUser(tfake, 220, "Tâm")
        await lead_x.say(f"/thamgia {code_x}")
        await lead_d.say(f"/thamgia {code_d}")
        await lead_x.say("/moi")
        await lead_d.say("/moi")
        mem_x, mem_d = TelegramUser(tfake, 310, "Lan"), TelegramUser(tfake, 320, "Mai")
        await mem_x.say(f"/thamgia {code_in(lead_x.text)}")
        await mem_d.say(f"/thamgia {code_in(lead_d.text)}")
        await asyncio.gather(mem_x.say("ghi Nguyễn Văn An; Xuân Hạ; cài vneid"),
                             mem_d.say("ghi Phạm Thị Đào; Đông Hòa; mở tài khoản ngân hàng"))
        # One taps "Lưu"; the other answers "Đúng rồi thì bấm Lưu." with "đúng rồi" (before round 18: not saved).
        await asyncio.gather(mem_x.press("Lưu"), mem_d.say("đúng rồi"))
        rx, rd = receipt(mem_x.text), receipt(mem_d.text)
        assert storage.db["records"].get(rx)["team_id"] != storage.db["records"].get(rd)["team_id"]

        await lead_x.say("/baocao")
        assert "Tổ CNS Xuân" in lead_x.text and "Lượt hỗ trợ: 1." in lead_x.text and "Đào" not in lead_x.text
        for asked in ("/baocao Tổ CNS Đông", "/xuat xa Đông Sơn", "/bieudo to Tổ CNS Đông"):
            await lead_x.say(asked)
            assert "báo cáo của tổ mình" in lead_x.text, asked
        await lead_x.say(f"/sua {rd}")
        assert "Đào" not in lead_x.text and "Đông Hòa" not in lead_x.text
        await lead_x.say(f"/ketqua {rd}")
        assert "Đào" not in lead_x.text
        await mem_x.say(f"/xoa {rd}")
        assert "Đào" not in mem_x.text
        assert storage.db["records"].get(rd)["deleted"] == 0
        # Asking to review the other team: told so, and the counts shown are named as the leader's own team's
        # (before round 18: "Phiếu của tổ: 1 mới", read as the other team's).
        await lead_x.say("/duyet Tổ CNS Đông")
        assert "chỉ duyệt phiếu của tổ mình, Tổ CNS Xuân" in lead_x.text and "Phiếu của Tổ CNS Xuân: 1 mới" in lead_x.text
        assert "Đào" not in lead_x.text
        # A forged button: "Duyệt" of the leader's own list, carrying the other team's record number.
        await lead_x.say("/duyet")
        data = button(lead_x.message_with(f"Duyệt số {rx}"), f"Duyệt số {rx}")["callback_data"]
        forged_data = re.sub(r"ok:\d+$", f"ok:{rd}", data)
        assert forged_data != data
        forged = {**lead_x.last[-1], "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": forged_data}]]}}
        await lead_x.press("x", count=2, message=forged)  # not one of the records shown: asked again
        assert "Đào" not in lead_x.text
        assert storage.db["records"].get(rd)["review"] == "new"


async def test_a_villager_cannot_log_and_is_told_how_to_join_on_zalo(zsmall, zfake, storage):
    """Someone not in a team tries every way to log and to read reports: refused with the next step, and
    nothing is stored nor put in the leaders' unanswered inbox."""
    async with running(zsmall):
        villager = ZaloUser(zfake, "d" * 20, "Bà Sáu")
        await villager.say("/start")  # the greeting says how a member joins (before round 18 it did not)
        assert "Xin chào Bà Sáu" in villager.text and "gõ /thamgia kèm mã mời" in villager.text
        for typed in ("/ghi", "ghi", "ghi ho", "ghi Nguyen Van A; Xuan Ha; cai vneid", "/ghi Lê Văn B; Xuân Hạ; vneid"):
            await villager.say(typed)
            assert "dành cho thành viên Tổ công nghệ số" in villager.text and "/thamgia" in villager.text, typed
        for typed in ("/baocao", "bao cao thang nay", "bc thang nay", "/xuat", "/bieudo"):
            await villager.say(typed)
            assert "dành cho tổ trưởng" in villager.text, typed
        await villager.say("tham gia ABC123")
        assert "không dùng được" in villager.text and "/moi" in villager.text
    assert storage.db["records"].count == 0 and storage.db["households"].count == 0
    assert storage.db["unanswered"].count == 0


JOIN_FORMS = ["tham gia {lower}", "thamgia: {code}", "tham gia ma {code}", "Tham gia tổ, mã {code}",
              "/thamgia mã mời là: {code} nhé", "/thamgia {spaced}", "/Thamgia {code}.", "/tham gia {code}",
              # the leader's invitation forwarded whole
              "Mã mời thành viên tổ \"Tổ CNS Xuân\": {code}\nMã dùng được 1 lần, đến hết ngày 25/11/2026. "
              "Người được mời nhắn cho tôi: /thamgia {code}"]


async def test_a_new_member_joins_however_they_type_the_code_on_zalo(zsmall, zfake, storage):
    """Invite codes typed the way members type them. Before round 18 "/thamgia ma K7PQ2M" was read as the code
    "MAK7PQ2M" and refused, and "tham gia ma K7PQ2M", "thamgia: K7PQ2M" went to the question matcher."""
    code = await invite_leader(zsmall, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Hạ")
    leader = Chat(zsmall, "lead", name="Hoa")
    await leader.say(f"/thamgia {code}")
    async with running(zsmall):
        for i, form in enumerate(JOIN_FORMS):
            await leader.say("/moi")
            invite = code_in(leader.text)
            joiner = ZaloUser(zfake, f"{i:02d}" + "j" * 18, f"Thành viên {i}")
            await joiner.say(form.format(code=invite, lower=invite.lower(), spaced=f"{invite[:3]} {invite[3:]}"))
            assert "Chào mừng" in joiner.text and "Tổ CNS Xuân" in joiner.text, (form, joiner.text)
    assert storage.db["members"].count == 1 + len(JOIN_FORMS)
    assert storage.db["unanswered"].count == 0


async def test_a_leaders_shorthand_bc_is_the_report_on_zalo(zsmall, zfake, storage):
    """Leaders write "bc" for "báo cáo" ("bc thang nay"): before round 18 it got "chưa có câu trả lời" and
    went to the unanswered inbox."""
    code = await invite_leader(zsmall, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Hạ")
    async with running(zsmall):
        leader = ZaloUser(zfake, "e" * 20, "Hoa")
        await leader.say(f"tham gia {code}")
        await leader.say("ghi Nguyễn Văn An; Xuân Hạ; cài vneid")
        await leader.pick("Lưu")
        for typed in ("bc thang nay", "bc", "BC tuần này", "bc thang nay da duyet"):
            await leader.say(typed)
            assert "Báo cáo Tổ CNS Xuân" in leader.text, typed
        await leader.say("bc la gi")  # a question that starts with "bc" is still a question
        assert "Báo cáo Tổ CNS Xuân" not in leader.text
        # Commands typed with diacritics, a space, a full stop or in capitals used to be "Tôi chưa hiểu lệnh".
        for typed in ("/báo cáo tháng này", "/Bao cao", "/BAOCAO.", "/ baocao tuần này"):
            await leader.say(typed)
            assert "Báo cáo Tổ CNS Xuân" in leader.text, typed
        await leader.say("/tro giup", count=2)  # a leader's help is two messages on Zalo
        assert "/ghi" in leader.text and "/baocao" in leader.text
        await leader.say("/baocaoo")  # a typo: the nearest command is named
        assert "Tôi chưa hiểu lệnh /baocaoo. Có phải bạn muốn gõ /baocao?" in leader.text
        await leader.say("/ghi")
        await leader.say("/Hủy")
        assert "chưa hiểu lệnh" not in leader.text, leader.text
        await leader.say("/huy")
        assert "Hiện không có thao tác nào đang làm dở" in leader.text
    assert [q for (q,) in storage.db.conn.execute("select question from unanswered")] == ["bc la gi"]


# --- the questions of an older volunteer -------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "topic"), [
    ("kich hoat vneid ko dc", "kích hoạt"),
    ("quen mk tk dinh danh thi lam sao", "mật khẩu"),
    ("sdt doi roi thi vneid lam sao", "số điện thoại"),
    ("ck nham tk thi lam sao lay lai tien", "chuyển"),
    ("quen passcode vneid", "passcode"),
])
async def test_an_older_volunteers_typed_questions_on_zalo(zshipped, zfake, typed, topic):
    """No diacritics, abbreviations (tk, mk, sdt, ck): answered, in Vietnamese with diacritics, on the topic."""
    async with running(zshipped):
        user = ZaloUser(zfake, "f" * 20, "Ông Bảy")
        await user.say(typed)
        friendly(user.text)
        assert NO_ANSWER not in user.text and topic in user.text.lower(), user.text


async def test_a_pasted_formal_letter_with_an_id_number_on_telegram(tshipped, tfake, storage):
    """A household's formal letter, pasted with its greeting, the writer's ID number and thanks: warned once,
    then answered or offered the right topic; the number is nowhere."""
    letter = ("Kính gửi Tổ công nghệ số! Tôi tên là Trần Văn Hùng, sinh năm 1958, số căn cước công dân "
              "034.158.001.234, thường trú tại thôn Xuân Hạ. Tôi đã đăng ký tài khoản định danh điện tử mức 2 "
              "tại Công an xã được hai tháng nhưng đến nay vẫn chưa nhận được tin nhắn kích hoạt. "
              "Xin hỏi tôi phải làm thế nào để kích hoạt tài khoản? Xin trân trọng cảm ơn.")
    async with telegram_running(tshipped):
        villager = TelegramUser(tfake, 502, "Ông Hùng")
        await villager.say(letter, count=2)
        warning, answer = (m["text"] for m in villager.last)
        assert WARNED in warning
        friendly(answer)
        shown = answer + " ".join(b["text"] for b in buttons(villager.last[1]))
        assert "kích hoạt" in shown.lower() and NO_ANSWER not in shown, shown
    assert not digits_leak("034158001234", raw_files(tshipped))


# --- a double tap, a restart in the middle of a record ------------------------------------------------------

async def test_a_double_tap_on_save_and_a_restart_mid_record_on_telegram(settings, small_kb, tfake, clock):
    """A member's finger taps "Lưu" twice before the first answer arrives: one record, and the second tap is
    told it was saved. Then the bot restarts while the next record waits for its note; the note typed after
    the restart (with a passcode in it) lands in the same draft, hidden, and the old summary is stale."""
    from bot.storage import Storage

    store = Storage(settings.database_path)
    deps = telegram_deps(compose(settings=settings, storage=store, kb=small_kb, clock=clock), tfake)
    code = await invite_leader(deps, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Hạ")
    try:
        async with telegram_running(deps):
            member = TelegramUser(tfake, 330, "Lan")
            await member.say(f"/thamgia {code}")
            await member.say("ghi Nguyễn Văn An; Xuân Hạ; cài vneid")
            summary = member.message_with("Lưu")
            data = button(summary, "Lưu")["callback_data"]
            after = len(tfake.sent)
            await asyncio.gather(tfake.push_callback(summary, data, user_id=330, name="Lan"),
                                 tfake.push_callback(summary, data, user_id=330, name="Lan"))
            await tfake.wait_sent(2, after=after, chat_id=330)
            await tfake.wait_for(lambda: not tfake.pending)
            said = [m["text"] for m in tfake.sent[after:] if m["chat"]["id"] == 330]
            assert len(said) == 2 and sum("Đã lưu. Số phiếu: 1" in t for t in said) == 1, said
            assert sum("đã được lưu rồi" in t for t in said) == 1, said
            assert store.db["records"].count == 1

            await member.say("/ghi")
            await member.say("Trần Thị Bình")
            await member.say("0")
            await member.press("Cài đặt VNeID")
            await member.press("Xong")
            await member.press("Đã xong")
            assert "ghi chú" in member.text
    finally:
        store.close()

    store = Storage(settings.database_path)  # the bot comes back on the same database
    deps = telegram_deps(compose(settings=settings, storage=store, kb=small_kb, clock=clock), tfake)
    try:
        async with telegram_running(deps):
            await member.say("bà quên passcode 135790 nên chưa đăng nhập được", count=2)
            assert WARNED in member.last[0]["text"]
            assert "- Ghi chú: bà quên passcode [đã ẩn] nên chưa đăng nhập được" in member.last[1]["text"]
            await member.press("Lưu")
            assert "Số phiếu: 2" in member.text
            await member.press("Lưu", message=summary)  # the first record's summary, from before the restart
            assert "đã được lưu rồi" in member.text and "Số phiếu: 1" in member.text
            assert store.db["records"].count == 2
        assert not digits_leak("135790", raw_files(deps))
    finally:
        store.close()


async def test_a_question_for_the_leader_and_the_answer_carry_no_secret_on_telegram(tsmall, tfake, storage):
    """A member asks the leader about a household, ID number included; the leader answers with a passcode in
    it. Both are warned, the relayed texts are hidden, and nothing of either is stored."""
    from bot.runner import build_web_app, start_channels

    code = await invite_leader(tsmall, "Tổ CNS Xuân", "Xã Xuân Thượng", "Xuân Hạ")
    channels = await start_channels(tsmall, ["telegram"], build_web_app(tsmall))
    try:
        leader = TelegramUser(tfake, 240, "Hoa")
        await leader.say(f"/thamgia {code}")
        await leader.say("/moi")
        member = TelegramUser(tfake, 340, "Lan")
        await member.say(f"/thamgia {code_in(leader.text)}")
        after = len(tfake.sent)
        await member.say("hỏi tổ trưởng bà Tư cccd 0 3 4 1 2 3 4 5 6 7 8 9 bị khóa VNeID thì làm sao", count=2)
        assert WARNED in member.last[0]["text"] and "Đã gửi câu hỏi cho tổ trưởng" in member.last[1]["text"]
        [asked] = await tfake.wait_sent(after=after, chat_id=240)
        assert "[đã ẩn]" in asked["text"] and not digits_leak("034123456789", asked["text"])
        leader.last = [asked]
        await leader.press("Trả lời")
        after = len(tfake.sent)
        await leader.say("bà ra công an xã, passcode mới là 135790 nhé", count=3)
        assert WARNED in leader.last[0]["text"] and "Đã chuyển câu trả lời" in leader.last[1]["text"]
        [answer] = await tfake.wait_sent(after=after, chat_id=340)
        assert "công an xã" in answer["text"] and not digits_leak("135790", answer["text"])
    finally:
        for channel in reversed(channels):
            await channel.stop()
    stored = raw_files(tsmall)
    assert not digits_leak("034123456789", stored) and not digits_leak("135790", stored)
