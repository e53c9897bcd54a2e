"""Safety guard: find ID-card numbers, OTPs/passcodes/passwords, bank-card and phone numbers.

Runs before anything else touches a message. `redact` returns the text with every
sensitive span replaced, and the kinds found, so the caller can warn the sender.

How: the text is first turned into ONE normalised search copy (NFC per character cluster,
zero-width and direction marks dropped, every run of spaces or control characters folded to
one space, accents and case removed, any Unicode digit made an ASCII digit) together with a
map from each search-copy character to the span of the original it came from. Patterns run on
the search copy; every hit is mapped back through that map, so the mask always covers exactly
the original characters (decomposed "Unicode tổ hợp" text included). The result is NFC.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from knowledge.normalize import fold_char

MASK = "[đã ẩn]"

# Sensitive kinds that deserve a warning to the sender.
WARN_KINDS = frozenset({"cccd", "otp", "card", "password"})

# Characters that render as nothing: dropped from the search copy (and covered by a mask around them).
INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)

# A run of digits with the separators people put inside numbers: spaces, dots, dashes, slashes,
# underscores, commas, brackets ("(091) 234 5678", "4111/1111/1111/1111", "079-203-004-567").
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ .\-/_,()]{0,3}\d)*(?!\d)")
# Dates are not ID numbers: blanked in the copy the number patterns see, so "01/11/2026-15/11/2026"
# is never masked; but only a date standing alone (or next to another date), never one that is part of
# a longer run of digits ("07.09.2030.04567" stays one number). Money amounts get no exemption: a
# 9-digit amount is masked (harmless) rather than risk leaving an ID number written with dots.
_DATE = re.compile(r"(?<!\d)(?:0?[1-9]|[12]\d|3[01])[/.\-](?:0?[1-9]|1[0-2])"
                   r"(?:[/.\-]\d{4})?(?![\d/])")
_SEPARATORS = " .-/_,()"
_SECRET_WORDS = (
    r"otp|ma\s*xac\s*(?:thuc|nhan)|ma\s*kich\s*hoat|passcode|pass\s*code|ma\s*pin|pin|"
    r"mat\s*khau|mk|pass(?:word)?|ma\s*bao\s*mat|cvv|ma\s*giao\s*dich|ma\s*otp"
)
# "mã OTP là 123456", "mk: Abc@1234", "mk vneid của tôi là Hoa@1960", "mật khẩu ngân hàng: Abc12345": the
# secret word, up to four words saying which or whose ("vneid", "ngân hàng", "của tôi"), then "là", ":" or "=".
_SECRET_NAMED = re.compile(
    rf"\b(?:{_SECRET_WORDS})\b(?:\s+[a-z]+){{0,4}}?\s*(?:\bla\b|=|:)\s*"
    r"(?P<secret>(?=\S*\d)\S{4,}|\S{6,})"
)
# "passcode 654321", "mk hoa1960": right after the word, only something with a digit or a symbol in it, so
# "quên mk taikhoan vneid" keeps its words.
_SECRET_NEXT = re.compile(rf"\b(?:{_SECRET_WORDS})\b\s*(?P<secret>(?=\S*[\d@#$%^&*!~+])\S{{4,}})")
# "otp482913", "mã OTP123456": a code glued to the word.
_SECRET_GLUED = re.compile(r"\b(?:otp|pin|mk|passcode|pass)(?P<secret>\d{4,8})\b")
# "mật khẩu cũ là hoa1960, mới là hoa1961": in a message about a secret, any further word of letters and digits
# after "là", ":" or "=" (only after a secret word, see `_spans`).
_SECRET_AGAIN = re.compile(r"(?:\bla\b|[:=])\s*(?P<secret>(?=\S*\d)(?=\S*[a-z])\S{6,})")
_SECRET_PATTERNS = (_SECRET_NAMED, _SECRET_NEXT, _SECRET_GLUED)
_HAS_SECRET_WORD = re.compile(rf"\b(?:{_SECRET_WORDS})\b")
# "nhắn mã 482913", "mã là 482913", "mã giao dịch số 482913": a code right after "mã".
_MA_CODE = re.compile(r"\bma\b(?:\s+\d\s+so)?(?:\s+[a-z]+){0,3}?\s*(?:la|:|=)?\s*(?=\d)")  # "mã 6 số 482913" too
# Words after "mk là" that are not a password ("mk là gì", "mật khẩu là như thế nào").
_NOT_SECRET = {"gi", "nhu", "the", "sao", "khong", "bao", "may", "chi", "cai", "de", "o", "dau", "phai",
               "nao", "cua", "moi", "cu", "bi", "da", "la", "va", "thi", "nhung", "cho", "gom", "can", "dang",
               "thuong", "truong", "nhieu", "password", "matkhau", "passcode"}


@dataclass(frozen=True)
class Guarded:
    text: str
    found: frozenset[str]

    @property
    def needs_warning(self) -> bool:
        return bool(self.found & WARN_KINDS)


def _is_space(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Cc"


# A character written as an escape ("\xa0", "\u200b", "\n"), as logs of Python reprs show them: a space.
_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[ntr])")


# What each character is to `normalise`, learnt once per distinct character (bounded, for adversarial input).
_PLAIN, _MARK, _INVISIBLE, _SPACE, _BACKSLASH = 1, 2, 3, 4, 5
_KINDS: dict[str, int] = {}
# A cluster (base character, its combining marks) -> its search-copy characters; most are one letter.
_FOLDED: dict[str, tuple[str, ...]] = {}
_CACHE_MAX = 20_000


def _kind(ch: str) -> int:
    kind = _KINDS.get(ch)
    if kind is None:
        if ch in INVISIBLE:
            kind = _INVISIBLE
        elif ch == "\\":
            kind = _BACKSLASH
        elif _is_space(ch):
            kind = _SPACE
        elif unicodedata.combining(ch):
            kind = _MARK
        else:
            kind = _PLAIN
        if len(_KINDS) < _CACHE_MAX:
            _KINDS[ch] = kind
    return kind


def _fold_cluster(cluster: str) -> tuple[str, ...]:
    folded = _FOLDED.get(cluster)
    if folded is None:
        pieces = []
        for c in unicodedata.normalize("NFC", "".join(c for c in cluster if c not in INVISIBLE)):
            value = unicodedata.decimal(c, None)
            pieces.append(str(value) if value is not None else fold_char(c))
        folded = tuple(pieces)
        if len(_FOLDED) < _CACHE_MAX:
            _FOLDED[cluster] = folded
    return folded


def _simple_table() -> dict[int, str]:
    """Latin letters (Vietnamese ones included), digits and punctuation that are their own cluster and fold
    to one character, and the plain space. Anything else takes the general path."""
    table = {ord(" "): " "}
    for code in [*range(0x250), *range(0x1E00, 0x1F00)]:
        ch = chr(code)
        if ch in INVISIBLE or ch == "\\" or _is_space(ch) or unicodedata.combining(ch):
            continue
        if unicodedata.normalize("NFC", ch) != ch:
            continue
        value = unicodedata.decimal(ch, None)
        folded = str(value) if value is not None else fold_char(ch)
        if len(folded) == 1:
            table[code] = folded
    return table


def _class_of(codes: list[int]) -> str:
    """A regex character class body for `codes` (sorted), as ranges."""
    parts, start = [], 0
    for k in range(1, len(codes) + 1):
        if k == len(codes) or codes[k] != codes[k - 1] + 1:
            lo, hi = chr(codes[start]), chr(codes[k - 1])
            parts.append(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}")
            start = k
    return "".join(parts)


_SIMPLE = _simple_table()
_NOT_SIMPLE = re.compile(f"[^{_class_of(sorted(_SIMPLE))}]")
_DIGIT = re.compile(r"\d")


def normalise(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The search copy of `text` and, for each of its characters, the original span it came from.

    Runs on every message and every logged line. A text of plain Latin characters with single spaces
    (most messages, with or without diacritics) is one str.translate; otherwise what a character
    is, and what a cluster folds to, is looked up in two small tables filled on first sight."""
    if not _NOT_SIMPLE.search(text) and "  " not in text:
        return text.translate(_SIMPLE), list(zip(range(len(text)), range(1, len(text) + 1), strict=True))
    return _normalise_clusters(text)


def _normalise_clusters(text: str) -> tuple[str, list[tuple[int, int]]]:
    """`normalise` for any text: character clusters, space runs and escapes one by one."""
    out: list[str] = []
    where: list[tuple[int, int]] = []
    kinds = [_KINDS.get(ch) or _kind(ch) for ch in text]
    i, n = 0, len(text)
    while i < n:
        kind = kinds[i]
        if kind == _INVISIBLE:
            i += 1
            continue
        escape = _ESCAPE.match(text, i) if kind == _BACKSLASH else None
        if kind == _SPACE or escape:
            j = escape.end() if escape else i + 1
            while j < n:
                after = kinds[j]
                if after == _SPACE or after == _INVISIBLE:
                    j += 1
                elif after == _BACKSLASH and (more := _ESCAPE.match(text, j)):
                    j = more.end()
                else:
                    break
            if out and out[-1] == " ":
                where[-1] = (where[-1][0], j)
            else:
                out.append(" ")
                where.append((i, j))
            i = j
            continue
        # A base character with its combining marks (and any invisible characters among them).
        j = i + 1
        while j < n and (kinds[j] == _MARK or kinds[j] == _INVISIBLE):
            j += 1
        folded = _fold_cluster(text[i:j])
        if len(folded) == 1:
            out.append(folded[0])
            where.append((i, j))
        else:
            out.extend(folded)
            where.extend([(i, j)] * len(folded))
        i = j
    return "".join(out), where


def _blank_dates(text: str) -> str:
    """`text` with every stand-alone date replaced by '#' (same length)."""
    dates = list(_DATE.finditer(text))
    starts = {m.start() for m in dates}
    ends = {m.end() for m in dates}
    out = list(text)
    for m in dates:
        after = m.end()
        while after < len(text) and after - m.end() < 3 and text[after] in _SEPARATORS:
            after += 1
        before = m.start()
        while before > 0 and m.start() - before < 3 and text[before - 1] in _SEPARATORS:
            before -= 1
        glued_after = after < len(text) and text[after].isdigit() and after not in starts
        glued_before = before > 0 and text[before - 1].isdigit() and before not in ends
        if not (glued_after or glued_before):
            out[m.start():m.end()] = "#" * (m.end() - m.start())
    return "".join(out)


_LOOSE = frozenset(" .,;:!?()[]{}\"'-/=+*<>")  # around a short code; a letter or @ next to it means a word


def _number_kind(digits: str) -> str:
    count = len(digits)
    if count >= 13:
        return "card"
    if count in (10, 11) and (digits.startswith("0") or digits.startswith("84")):
        return "phone"
    if count in (9, 12):
        return "cccd"  # 9-digit CMND or 12-digit CCCD (or a phone without its 0: masked either way)
    return "number"


def _spans(norm: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    secret_context = bool(_HAS_SECRET_WORD.search(norm))
    if _DIGIT.search(norm):  # every number pattern needs a digit (the search copy has only ASCII ones)
        _number_spans(norm, secret_context, spans)
    if secret_context or _DIGIT.search(norm):  # a secret after a word needs that word (or is glued to it)
        for pattern in (*_SECRET_PATTERNS, *((_SECRET_AGAIN,) if secret_context else ())):
            for m in pattern.finditer(norm):
                secret = m.group("secret").strip(".,;!?")
                if secret and secret not in _NOT_SECRET:
                    start = m.start("secret")
                    spans.append((start, start + len(secret), "otp" if secret.isdigit() else "password"))
    return spans


def _number_spans(norm: str, secret_context: bool, spans: list[tuple[int, int, str]]) -> None:
    numbers = _blank_dates(norm)
    code_starts = {m.end() for m in _MA_CODE.finditer(norm)}
    # "482913" alone is likely an OTP; "/sua 123456" is a command with a receipt number.
    lone_code = len(norm.split()) <= 2 and not re.match(r"\s*/[a-z]", norm)
    for m in _DIGIT_RUN.finditer(numbers):
        digits = re.sub(r"\D", "", m.group())
        if len(digits) >= 9:
            spans.append((m.start(), m.end(), _number_kind(digits)))
            continue
        # Short codes: split at wide gaps so "OTP 482 913" is one code but "thôn 3, 482913" is not.
        for part in re.finditer(r"\d(?:[ .\-]?\d)*", m.group()):
            digits = re.sub(r"\D", "", part.group())
            start, end = m.start() + part.start(), m.start() + part.end()
            glued = (start > 0 and numbers[start - 1] not in _LOOSE) or (end < len(numbers) and numbers[end] not in _LOOSE)
            if 4 <= len(digits) <= 8 and not glued and (secret_context or start in code_starts
                                          or (lone_code and len(digits) == 6)):
                spans.append((start, end, "otp"))


def redact(text: str) -> Guarded:
    """Replace every sensitive span in `text` with MASK; the result is NFC."""
    if not text:
        return Guarded(text, frozenset())
    norm, where = normalise(text)
    spans = sorted(_spans(norm), key=lambda s: (s[0], -s[1]))
    if not spans:
        return Guarded(unicodedata.normalize("NFC", text), frozenset())
    out: list[str] = []
    found: set[str] = set()
    pos = 0
    for start, end, kind in spans:
        o_start, o_end = where[start][0], where[end - 1][1]
        found.add(kind)
        if o_end <= pos:
            continue  # already covered by an earlier, wider span
        if o_start < pos:  # overlapping: extend the previous mask
            pos = o_end
            continue
        out.append(text[pos:o_start])
        out.append(MASK)
        pos = o_end
    out.append(text[pos:])
    return Guarded(unicodedata.normalize("NFC", "".join(out)), frozenset(found))


WARNING_TEXT = (
    "⚠️ Bạn vừa gửi thông tin cần giữ kín (số căn cước, mã OTP, mật khẩu, passcode hoặc số thẻ). "
    "Đừng gửi những thông tin này trong tin nhắn cho bất kỳ ai, kể cả người xưng là công an hay "
    "ngân hàng. Tôi đã ẩn phần đó và không lưu lại."
)


class RedactingFilter(logging.Filter):
    """Masks personal data and configured secrets in every log record."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "***")
        message = redact(message).text
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks can carry URLs with the token; format them now, masked.
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                text = text.replace(secret, "***")
            record.exc_text = redact(text).text
            record.exc_info = None
            record.msg = f"{message}\n{record.exc_text}"
            record.exc_text = None
        return True


class FloodFilter(logging.Filter):
    """At most `burst` records per message template (and logger) per `window` seconds.

    Wrong-secret webhook calls, guessed download links or "socket.accept() out of system resource"
    in a tight loop would otherwise fill the disk; the number dropped is reported once the window ends.
    """

    def __init__(self, burst: int = 20, window: float = 60.0, clock=None) -> None:
        super().__init__()
        import time

        self.burst, self.window, self.clock = burst, window, clock or time.monotonic
        self._seen: dict[tuple[str, str], list[float]] = {}  # key -> [window start, count]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg)[:200])
        now = self.clock()
        slot = self._seen.get(key)
        if slot is None or now - slot[0] >= self.window:
            dropped = 0 if slot is None else max(0, int(slot[1]) - self.burst)
            if len(self._seen) > 1000:
                self._seen.clear()
            self._seen[key] = [now, 1]
            if dropped:
                record.msg = f"{record.msg} ({dropped} similar messages were not logged)"
            return True
        slot[1] += 1
        return slot[1] <= self.burst


def without_mask(text: str) -> str:
    """`text` with every "[đã ẩn]" placeholder left out and the spaces around it collapsed: a hidden number
    carries no meaning, so a question is matched, and a name measured, on the rest."""
    return " ".join(text.replace(MASK, " ").split())


def install_log_redaction(secrets: list[str]) -> None:
    """Attach the flood limit and the redacting filter to every handler of the root logger."""
    flood, flt = FloodFilter(), RedactingFilter(secrets)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(flood)
        handler.addFilter(flt)
