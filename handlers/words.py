"""Commands said as words: "ghi", "bao cao thang truoc", "tham gia K7PQ2M", "huy" work without "/" and diacritics.

A word becomes a command only when what follows it fits that command (nothing, a receipt number, a
one-line record with ";", a period, an invite code), so a question that merely starts with "ghi" or
"báo cáo" still goes to the FAQ. `looks_private` keeps commands, codes and household records out of
the leaders' unanswered inbox.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from bot.flows import looks_like_question
from bot.when import parse_period
from knowledge.normalize import fold

_CODE = re.compile(r"[A-Za-z0-9]{6}")


def _nothing(rest: str) -> bool:
    return not rest


def _number(rest: str) -> bool:
    return bool(re.fullmatch(r"#?\d{1,9}", rest))


def _record_or_nothing(rest: str) -> bool:
    return not rest or rest.count(";") >= 2


# "mã K7PQ2M", "tổ, mã là: K7PQ2M": the words people put in front of an invite code (folded).
_SAID_CODE = re.compile(r"(?:to\W+)?ma(?:\s+moi)?(?:\s+la)?\W*([a-z0-9]{6})\W*")


def _code(rest: str) -> bool:
    return bool(_CODE.fullmatch(rest.replace(" ", "")) or _SAID_CODE.fullmatch(fold(rest)))


def _period_or_nothing(rest: str) -> bool:
    """Nothing, a period, or (admins) a team's name then a period: 'Tổ Xuân tháng trước'."""
    words, today = _without_approved(rest).split(), dt.date.today()
    return not rest or not words or any(parse_period(" ".join(words[-n:]), today) is not None for n in range(1, 5))


def _without_approved(rest: str) -> str:
    """'tháng này đã duyệt' -> 'tháng này': a report of approved records only takes the same periods."""
    words = rest.split()
    while words and fold(words[-1]) in ("duyet", "da"):
        words.pop()
    return " ".join(words)


def _team_or_nothing(rest: str) -> bool:
    return not rest or rest.count(";") == 2


def _village_size_or_nothing(rest: str) -> bool:
    """'Xuân Hạ 120': a village's name, then its number of households."""
    return not rest or bool(re.fullmatch(r".*[^\W\d_].*\s\d{1,6}", rest))


def _name(rest: str) -> bool:
    """Nothing, or a person's name: a few words with no digits, not a question."""
    return not rest or (len(rest.split()) <= 5 and not any(c.isdigit() for c in rest)
                        and not looks_like_question(rest))


# What follows "duyệt" to mean every record ("duyệt hết"). handlers/review.py reads these after /duyet, plus two more.
REVIEW_ALL = frozenset({"het", "tat ca", "ca", "ca trang", "het tat ca", "toan bo", "het di"})


def _review(rest: str) -> bool:
    """Nothing, a record's number ("duyệt phiếu 12" leaves "12"), or words for every record ("hết")."""
    return not rest or _number(rest) or " ".join(fold(rest).split()) in REVIEW_ALL


def _leader_invite(rest: str) -> bool:
    return fold(rest).replace(" ", "") == "totruong"


# (words, command, what may follow). Longer phrases first so "ghi ho" wins over "ghi".
WORDS: list[tuple[tuple[str, ...], str, Callable[[str], bool]]] = [
    (("tro giup", "huong dan", "giup do", "help", "trogiup"), "/trogiup", _nothing),
    (("chu de", "chude"), "/chude", _nothing),
    (("huy lien ket", "go lien ket", "huylienket"), "/huylienket", _nothing),
    (("huy", "huy bo", "dung lai", "thoat"), "/huy", _nothing),
    (("tham gia", "thamgia"), "/thamgia", lambda r: not r or _code(r)),  # alone: how to join
    (("lien ket", "lienket"), "/lienket", lambda r: not r or bool(re.fullmatch(r"[A-Za-z]{6}", r))),
    (("ghi ho", "ghi phieu", "ghi nhan", "ghi"), "/ghi", _record_or_nothing),
    (("cua toi", "phieu cua toi", "cuatoi"), "/cuatoi", _nothing),
    (("sua phieu", "sua"), "/sua", _number),
    (("xoa phieu", "xoa"), "/xoa", _number),
    (("xem bao cao", "gui bao cao", "lay bao cao", "xem bc", "bao cao", "baocao", "bc"), "/baocao",
     _period_or_nothing),  # "bc tháng này": how leaders shorten it
    (("xuat excel", "xuat file", "xuat", "tai excel", "tai file excel", "tai file"), "/xuat", _period_or_nothing),
    (("xem bieu do", "ve bieu do", "bieu do", "bieudo"), "/bieudo", _period_or_nothing),
    (("thanh vien", "thanhvien"), "/thanhvien", _nothing),
    # A member's name may follow: "xóa thành viên Lan" asks "Cho Lan rời tổ?".
    (("xoa thanh vien", "bo thanh vien", "cho roi to", "xoa khoi to", "moi ra khoi to"), "/thanhvien", _name),
    # "mới" alone is an answer ("hộ mới"), not a command: only "mời thành viên", "mã mời", "mời tổ trưởng".
    (("moi thanh vien", "tao ma moi", "ma moi"), "/moi", _nothing),
    (("moi",), "/moi", _leader_invite),
    (("chua tra loi", "chuatraloi"), "/chuatraloi", _nothing),
    (("gop y", "gopy"), "/gopy", _nothing),
    (("duyet phieu", "duyet"), "/duyet", _review),  # "duyệt 12", "duyệt hết"
    (("viec can lam", "viec cua toi", "viec hen", "viec"), "/viec", _nothing),
    # Anything may follow: it is the question for the leader.
    (("hoi to truong", "hoi totruong", "hoitotruong", "gap nguoi that", "gap to truong"), "/hoitotruong",
     lambda _rest: True),
    (("tao to", "taoto"), "/taoto", _team_or_nothing),
    # The rest of /trogiup, so "gõ lệnh có hay không có dấu /" holds for every command listed there.
    (("ket qua", "ketqua"), "/ketqua", lambda r: not r or _number(r)),
    (("hoat dong", "hoatdong"), "/hoatdong", _record_or_nothing),
    (("so ho dan", "sohodan"), "/sohodan", _village_size_or_nothing),
    (("mau so", "mauso"), "/mauso", _record_or_nothing),
    (("web",), "/web", _nothing),
]


# "… Người được mời nhắn cho tôi: /thamgia K7PQ2M": the leader's invitation forwarded whole to the bot.
_QUOTED_CODE = re.compile(r"(?<!\S)/(thamgia|lienket)\s+([A-Za-z0-9]{6})(?![A-Za-z0-9])")


def as_command(text: str) -> str | None:
    """'Báo cáo tháng trước' -> '/baocao tháng trước'; None when the text is not a command said as words."""
    stripped = text.strip()
    if not stripped or stripped.startswith("/") or len(stripped) > 300:
        return None
    quoted = _QUOTED_CODE.findall(stripped)
    if len(set(quoted)) == 1 and not looks_like_question(stripped):
        return f"/{quoted[0][0]} {quoted[0][1]}"
    folded = fold(stripped)
    for phrases, command, fits in WORDS:
        for phrase in phrases:
            if folded == phrase or folded.startswith((phrase + " ", phrase + ":")):  # "thamgia: K7PQ2M"
                rest = stripped[len(phrase):].strip(" :,.!")  # fold keeps one character per character
                if fits(rest):
                    return f"{command} {rest}".strip()
    return None


def record_with_commas(text: str) -> str | None:
    """'ghi Nguyễn Văn An, Xuân Hạ, cài vneid' -> '/ghi Nguyễn Văn An, Xuân Hạ, cài vneid': a one-line record
    written with commas only. Not a command said as words (`as_command` runs before an open step reads the
    text, and a note or a reason may well start with "ghi" and hold commas): handlers/assist.py tries it
    only for text no step took."""
    stripped = text.strip()
    folded = fold(stripped)
    for phrase in ("ghi ho", "ghi phieu", "ghi nhan", "ghi"):
        if folded.startswith((phrase + " ", phrase + ":")):
            rest = stripped[len(phrase):].strip(" :,.!")
            parts = rest.split(",")
            if (";" not in rest and len(parts) >= 3 and all(p.strip() for p in parts[:3])
                    and not looks_like_question(rest)):
                return f"/ghi {rest}"
            return None
    return None


def looks_private(text: str) -> bool:
    """A command, an invite or link code, or a household record: never for the unanswered inbox."""
    stripped = text.strip()
    if stripped.startswith("/") or ";" in stripped:
        return True
    words = stripped.split()
    if len(words) == 1 and _CODE.fullmatch(stripped) and stripped.isupper():  # a link code: letters only
        return True
    if any(_CODE.fullmatch(w) and any(c.isdigit() for c in w) and any(c.isalpha() for c in w)
           and w.upper() == w for w in words):
        return True
    folded = fold(stripped)
    return any(folded == p or folded.startswith(p + " ") for phrases, _, _ in WORDS for p in phrases
               if len(p) > 3 and p not in NATURAL_OPENERS)


NATURAL_OPENERS = ("huong dan", "giup do", "help", "thoat", "dung lai", "huy bo", "chu de",
                   "duyet", "duyet phieu", "viec", "viec can lam", "viec cua toi", "viec hen",
                   "ket qua", "hoat dong", "mau so", "so ho dan", "xem bao cao", "gui bao cao", "lay bao cao",
                   "tai excel", "tai file", "tai file excel", "xem bieu do", "ve bieu do", "thanh vien",
                   "bo thanh vien")
