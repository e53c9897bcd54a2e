"""Vietnamese text normalisation for matching phone-typed questions.

Pure functions, no I/O. The search key is accent-free (many users type without
diacritics, and tone-mark placement varies: "hoà" vs "hòa"), with domain
abbreviations expanded the same way on the query and on the knowledge side.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Domain abbreviations. Generic teen-code lists are wrong here: "mk" is mật khẩu and
# "dk" is đăng ký, not "mình"/"được". Keys and values are accent-free.
ABBREVIATIONS: dict[str, str] = {
    "ko": "khong", "k": "khong", "kg": "khong", "kh": "khong", "hok": "khong", "hong": "khong",
    "khg": "khong", "hem": "khong", "kô": "khong",
    "dc": "duoc", "dk": "dang ky", "dky": "dang ky", "dki": "dang ky", "đk": "dang ky",
    "tk": "tai khoan", "mk": "mat khau", "pass": "mat khau", "password": "mat khau", "pw": "mat khau",
    "cccd": "can cuoc cong dan", "cmnd": "chung minh nhan dan", "cmt": "chung minh nhan dan",
    "dvc": "dich vu cong", "sdt": "so dien thoai", "dt": "dien thoai", "đt": "dien thoai",
    "ck": "chuyen khoan", "stk": "so tai khoan", "nh": "ngan hang", "nhnn": "ngan hang nha nuoc",
    "ntn": "nhu the nao", "ntnao": "nhu the nao", "lm": "lam", "j": "gi", "gj": "gi",
    "z": "vay", "v": "vay", "r": "roi", "ng": "nguoi", "nc": "nuoc", "trc": "truoc",
    "bhyt": "bao hiem y te", "bhxh": "bao hiem xa hoi", "gplx": "giay phep lai xe",
    "hs": "ho so", "ubnd": "uy ban nhan dan", "xa": "xa",
    "app": "ung dung", "ud": "ung dung", "apk": "apk", "dien thoai": "dien thoai",
    "sms": "tin nhan", "tn": "tin nhan", "ad": "", "admin": "", "ak": "a", "ah": "a",
    "vnid": "vneid", "vneld": "vneid", "vnied": "vneid", "vneidd": "vneid", "vneit": "vneid",
    "ddcn": "so dinh danh ca nhan", "vietqr": "vietqr", "qr": "qr", "momo": "momo",
    "mobilemoney": "mobile money", "smartphone": "dien thoai thong minh", "dttm": "dien thoai thong minh",
    "cskh": "cham soc khach hang", "otp": "otp", "ekyc": "ekyc", "nfc": "nfc",
    "cds": "chuyen doi so", "cns": "cong nghe so", "tcns": "to cong nghe so",
    "cnscd": "cong nghe so cong dong",
    "dthoai": "dien thoai", "dtdd": "dien thoai di dong", "vs": "voi",
}

# Multi-word variants folded to one canonical spelling before tokenising.
PHRASES: list[tuple[str, str]] = [
    ("muc do 2", "muc 2"), ("muc do 1", "muc 1"), ("lua dao chiem doat tai san", "lua dao"),
    ("chiem doat tai san", "lua dao"), ("so ho khau", "ho khau"),
    # "mấy tuổi" asks "bao nhiêu tuổi" (at what age); "bao nhiêu lâu" is "bao lâu". ("mấy năm", "mấy
    # ngày" stay: "dùng được mấy năm" asks how long, and "bao nhiêu" would pull it to prices and counts.)
    ("may tuoi", "bao nhieu tuoi"), ("bao nhieu lau", "bao lau"),
    ("vn eid", "vneid"), ("v neid", "vneid"), ("vn id", "vneid"), ("vne id", "vneid"),
    # Formal names folded to the words members type, on both sides (a letter, a news column, an
    # official FAQ say "tài khoản định danh điện tử", "Cổng Dịch vụ công quốc gia", "thẻ căn cước").
    ("tai khoan dinh danh dien tu", "tai khoan vneid"), ("tai khoan dinh danh", "tai khoan vneid"),
    ("ung dung dinh danh dien tu", "ung dung vneid"),
    ("ung dung dinh danh quoc gia", "ung dung vneid"), ("dinh danh dien tu", "dinh danh"),
    ("cong thong tin dich vu cong", "cong dich vu cong"),
    ("xac thuc sinh trac", "sinh trac"), ("xac thuc bang sinh trac", "sinh trac"),
    ("ma xac thuc", "otp"), ("ma xac nhan", "otp"), ("ma otp", "otp"),
    ("thiet bi", "thietbi"), ("nguoi gia", "nguoi cao tuoi"),
    ("le phi", "phi"), ("chi phi", "phi"), ("mat phi", "phi"), ("ton phi", "phi"),
    ("ton tien", "phi"),
    ("mat bao lau", "bao lau"), ("bao lau", "baolau"),
    # A "tài khoản định danh" is the VNeID account; "số định danh" is the 12-digit ID number
    # (but "hồ sơ định danh" is the application, so "hồ sơ" is joined first).
    ("ho so", "hoso"),
    ("so dinh danh", "sodinhdanh"), ("dinh danh", "dinhdanh"), ("dinhdanh", "dinhdanh vneid"),
    ("bang lai xe", "giay phep lai xe"), ("bang lai", "giay phep lai xe"),
    ("the can cuoc", "can cuoc"), ("can cuoc cong dan", "can cuoc"),
    # "trả/nộp/đóng tiền điện" all mean paying the bill; keep "tien" so "tien dien" still matches.
    ("tra tien dien", "thanh toan tien dien"), ("nop tien dien", "thanh toan tien dien"),
    ("dong tien dien", "thanh toan tien dien"), ("tra tien nuoc", "thanh toan tien nuoc"),
    ("nop tien nuoc", "thanh toan tien nuoc"), ("dong tien nuoc", "thanh toan tien nuoc"),
    ("tra tien", "thanh toan"), ("nop tien", "thanh toan"),
    # Question words: "thế nào", "ra sao" mean the same as "làm sao" (all stop words), and
    # "thế" must not stay behind to look like "thẻ" (card).
    ("the nao", ""), ("ra sao", ""), ("vi sao", "taisao"), ("tai sao", "taisao"),
    ("guong mat", "khuon mat"),
    ("khong duoc", "khongduoc"),
    ("nguoi lon tuoi", "nguoi cao tuoi"),
    # ch/tr mix-ups common in the north.
    ("tam chu", "tam tru"), ("thuong chu", "thuong tru"),
    # Civil-status and residence terms joined: "tử", "trú" alone fold to common syllables (tự, từ, trụ).
    ("nhap ho khau", "dang ky thuong tru"), ("nhap khau", "dang ky thuong tru"),
    ("khai tu", "khai tu khaitu"), ("khai sinh", "khai sinh khaisinh"), ("thuong tru", "thuongtru"), ("tam tru", "tamtru"),
    ("tam vang", "tamvang"),
    ("dang ki", "dang ky"), ("ki nang", "ky nang"),
    ("ho tro", "hotro"), ("ca nhan", "canhan"),
    ("la gi", "lagi"), ("la cai gi", "lagi"), ("la ai", "laai"),
    ("tai khoan", "taikhoan"), ("mat khau", "matkhau"), ("ngan hang", "nganhang"),
    ("pass code", "passcode"), ("ma pin", "passcode"),
    ("mobile money", "mobilemoney"), ("tien di dong", "mobilemoney"),
    ("vi dien tu", "vidientu"), ("zalo pay", "zalopay"), ("viettel pay", "viettelpay"),
    ("dich vu cong", "dichvucong"), ("dichvucong gov vn", "dichvucong"),
    ("so dien thoai", "sodienthoai"), ("dien thoai thong minh", "smartphone"),
    ("sinh trac hoc", "sinhtrachoc"), ("chu ky so", "chukyso"), ("chu ki so", "chukyso"),
    ("ky so", "chukyso"), ("sinh trac", "sinhtrachoc"),
    ("cong an xa", "congan xa"), ("cong an", "congan"),
    # Joined so a stop word ("cụ", "đi", "nhà") does not eat half of a domain term.
    ("cu tru", "cutru"), ("di dong", "didong"), ("nha mang", "nhamang"), ("de an", "dean"),
    ("toi pham", "toipham"), ("xa hoi", "xahoi"),
    ("nhu xuan", "nhuxuan"), ("ha son", "hason"), ("ha trung", "hatrung"),
    # "điện" alone is weak (điện thoại, điện tử are everywhere): join them so "tiền điện" and
    # "tiền nước" stay apart.
    ("dien thoai", "dienthoai"), ("dien tu", "dientu"), ("tien dien", "tiendien"), ("tien nuoc", "tiennuoc"),
]

# Words that carry no meaning for matching (politeness, pronouns, fillers).
STOPWORDS = frozenset(
    "a ah ak oi nhe nha nhi ha voi giup dum gium em anh chi minh toi tui ban bot cho hoi xin "
    "la thi di day ne nay kia roi chu sao nao gi lam nhu phai duoc khong chua co cua va o de bi "
    "ba ong cu chau bac thim di thang nhe ha hay luon".split()
)

# "không" and "chưa" before the word they negate are kept as one search word, NEGATION: "không quét
# được" is a failure, not "quét" ("không"/"ko"/"k"/"hok" all read as "khong"), and "chưa kích hoạt"
# (not yet) is the same complaint. At the end of a question they only ask ("được không?", "xong
# chưa?") and are dropped with the other stop words. "có"/"được" may stand between the negator and its
# word ("không có chip", "chưa được duyệt"). "không được" at the end (it fails) stays `khongduoc`.
NEGATION = "phudinh"
_NEGATORS = frozenset({"khong", "chua"})
_NEGATED_AUX = frozenset({"co", "duoc"})

# (first word, " old ", " new "), as tokens() looks them up
_PADDED_PHRASES = [(old.split()[0], f" {old} ", f" {new} ") for old, new in PHRASES]
# first word -> the indices of the phrases it starts (ascending), and each phrase's replacement words
_BY_FIRST: dict[str, tuple[int, ...]] = {}
for _i, (_first, _, _) in enumerate(_PADDED_PHRASES):
    _BY_FIRST[_first] = (*_BY_FIRST.get(_first, ()), _i)
del _i, _first
_FIRSTS = frozenset(_BY_FIRST)
_NEW_WORDS = [tuple(new.split()) for _, new in PHRASES]
# each phrase's words after the first: a phrase can be in the text only if they are all present too
_REST_WORDS = [frozenset(old.split()[1:]) for old, _ in PHRASES]
# the abbreviations that change a word, as the words they expand to ("ad" -> none)
_EXPAND = {w: tuple(full.split()) for w, full in ABBREVIATIONS.items() if full != w}
_EXPANDED = frozenset(_EXPAND)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_PASSCODE_RE = re.compile(r"\bpass\s*code\b")
_MILLIONS_RE = re.compile(r"(\d)\s*tr\b")  # "10tr" -> "10 trieu"
_TELEX_TAIL = re.compile(r"^([a-z]+?)([sfrxj1-5])$")
# For ASCII text (most folded text): every byte but a letter or digit -> a space, so that split()
# gives what _WORD_RE finds; and every byte but a digit, deleted, to see whether "10tr" can occur.
_ASCII_WORDS = bytes(c if c < 128 and chr(c).isalnum() else 32 for c in range(256))
_NOT_DIGITS = bytes(c for c in range(256) if not 48 <= c <= 57)


def fold_char(ch: str) -> str:
    """One character without diacritics, lower case; đ/Đ/Ð -> d. Length-preserving."""
    if ch in "đĐÐð":
        return "d"
    base = unicodedata.normalize("NFD", ch)[0]
    return base.lower() if base else ch


# fold_char for every character below U+2000 (all Vietnamese letters), as one str.translate table.
_FOLD_TABLE = {i: f for i in range(0x2000) if len(f := fold_char(chr(i))) == 1 and f != chr(i)}


def _fold_one(c: int) -> str:
    """What `fold` makes of one (NFC) code point: the table below U+2000, then fold_char above it."""
    f = _FOLD_TABLE.get(c, chr(c))
    return f if ord(f) < 0x2000 else fold_char(f)


class _FoldMap(dict[int, str]):
    """Every code point -> its folded form, for one str.translate pass. Below U+2000 it is filled in
    advance; other code points (punctuation such as “ ” … –, emoji) are added on first sight, up to
    a bound, so a pasted letter never falls back to a Python loop over its characters."""

    LIMIT = 0x2000 + 8192

    def __missing__(self, c: int) -> str:
        f = _fold_one(c)
        if len(self) < self.LIMIT:
            self[c] = f
        return f


_FOLD_MAP = _FoldMap((i, _fold_one(i)) for i in range(0x2000))


def fold(text: str) -> str:
    """NFC + lower + strip diacritics, keeping one output character per input character."""
    text = unicodedata.normalize("NFC", text)
    if text.isascii():
        return text.lower()  # what the table does to ASCII: upper case to lower, nothing else
    return text.translate(_FOLD_MAP)


def _words(text: str) -> list[str]:
    """The runs of letters and digits of folded text, "10tr" read as "10 trieu" (_WORD_RE, _MILLIONS_RE);
    for ASCII text by byte translation, several times faster than the patterns."""
    if not text.isascii():
        return _WORD_RE.findall(_MILLIONS_RE.sub(r"\1 trieu", text))
    raw = text.encode("ascii")
    if b"tr" in raw and raw.translate(None, _NOT_DIGITS):  # (the pattern needs both)
        raw = _MILLIONS_RE.sub(r"\1 trieu", text).encode("ascii")
    return raw.translate(_ASCII_WORDS).decode("ascii").split()


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """Accent-free search tokens with abbreviations expanded and multi-word terms joined."""
    text = fold(text)
    if "pass" in text:  # (a substring test is cheaper than the pattern on every message)
        text = _PASSCODE_RE.sub("passcode", text)
    words = _words(text)
    expanded = words
    if not _EXPANDED.isdisjoint(words):  # (a word from the pattern is never empty and has no space)
        expanded = []
        for w in words:
            full = _EXPAND.get(w)
            if full is None:
                expanded.append(w)
            else:
                expanded.extend(full)
    joined = " " + " ".join(expanded) + " "
    # A phrase can be present only if its first word is: only the phrases whose first word the text
    # has are tried, in PHRASES order, with those a replacement's new words start (later in the
    # order) added as they appear. `present` may keep words a replacement removed (a superset is enough).
    present = set(expanded)
    todo = sorted([i for w in present & _FIRSTS for i in _BY_FIRST[w]])
    k = 0
    while k < len(todo):
        i = todo[k]
        k += 1
        _, old, new = _PADDED_PHRASES[i]
        if _REST_WORDS[i] <= present and old in joined:  # (a set test, before scanning the text)
            joined = joined.replace(old, new)
            added = [j for w in _NEW_WORDS[i] if w not in present for j in _BY_FIRST.get(w, ()) if j > i]
            present.update(_NEW_WORDS[i])
            if added:
                todo = sorted(set(todo[k:]).union(added))
                k = 0
    return tuple(joined.split())


def key(text: str) -> str:
    """The normalised search string: tokens without stop words, a negation as NEGATION (falls back to
    all tokens)."""
    toks = tokens(text)
    if _NEGATORS.isdisjoint(toks):
        content = [t for t in toks if t not in STOPWORDS]
    else:
        content = _with_negation(toks)
    return " ".join(content or toks)


def _with_negation(toks: tuple[str, ...]) -> list[str]:
    """The content words of `toks`, each "khong"/"chua" that negates a content word after it (past
    "co"/"duoc") as NEGATION, the others dropped as stop words."""
    out = []
    n = len(toks)
    for i, t in enumerate(toks):
        if t in _NEGATORS:
            j = i + 1
            while j < n and toks[j] in _NEGATED_AUX:
                j += 1
            if j < n and toks[j] not in STOPWORDS:
                out.append(NEGATION)
        elif t not in STOPWORDS:
            out.append(t)
    return out


# Greetings and thanks that often open a real question ("chào bạn, cho hỏi cách kích hoạt VNeID").
OPENERS = frozenset({"chao", "xin", "hello", "helo", "hi", "alo", "cam", "on", "thanks", "thank", "tks"})


def drop_opener(words: list[str]) -> list[str]:
    """Drop a leading greeting or thanks when a real question follows it."""
    i = 0
    while i < len(words) and words[i] in OPENERS:
        i += 1
    return words[i:] if len(words) - i >= 2 else words


def undo_telex(word: str, vocabulary: frozenset[str]) -> str:
    """'kichs' -> 'kich', 'hoat5' -> 'hoat', but only when the result is a known word."""
    m = _TELEX_TAIL.match(word)
    if m and word not in vocabulary and m.group(1) in vocabulary:
        return m.group(1)
    return word
