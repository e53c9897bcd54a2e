"""Safety guard: find ID-card numbers, OTPs/passcodes/passwords, bank-card and phone numbers.

Runs before anything else touches a message. `redact` returns the text with every
sensitive span replaced, and the kinds found, so the caller can warn the sender.
Works on the original text; patterns run on a length-preserving accent-free copy.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from knowledge.normalize import fold

MASK = "[đã ẩn]"

# Sensitive kinds that deserve a warning to the sender.
WARN_KINDS = frozenset({"cccd", "otp", "card", "password"})

_SEP = r"[ .\-]?"
_CCCD = re.compile(rf"(?<![\d])(?:\d{_SEP}){{11}}\d(?![\d])")
_CARD = re.compile(rf"(?<![\d])(?:\d{_SEP}){{12,18}}\d(?![\d])")
_PHONE = re.compile(r"(?<![\d+])(?:\+?84|0)(?:[ .\-]?\d){8,9}(?![\d])")
_SECRET_WORDS = (
    r"otp|ma\s*xac\s*(?:thuc|nhan)|ma\s*kich\s*hoat|passcode|pass\s*code|ma\s*pin|pin|"
    r"mat\s*khau|mk|pass(?:word)?|ma\s*bao\s*mat|cvv"
)
# "mã OTP là 123456", "mk: Abc@1234", "passcode 654321"
_SECRET_AFTER_WORD = re.compile(
    rf"\b(?:{_SECRET_WORDS})\b(?:\s*(?:cua\s+\w+|moi|vua\s+nhan|nhan\s+duoc))?\s*(?:la|=|:|\s)\s*"
    r"(?P<secret>(?=\S*\d)\S{4,}|\S{6,})"
)
_STANDALONE_CODE = re.compile(r"(?<![\d])\d{4,8}(?![\d])")
_HAS_SECRET_WORD = re.compile(rf"\b(?:{_SECRET_WORDS})\b")
# Words after "mk là" that are not a password ("mk là gì", "mật khẩu là như thế nào").
_NOT_SECRET = {"gi", "nhu", "the", "sao", "khong", "bao", "may", "chi", "cai", "de", "o", "dau", "phai",
               "nao", "cua", "moi", "cu", "bi", "da", "la", "va", "thi", "nhung", "cho", "gom", "can", "dang"}


@dataclass(frozen=True)
class Guarded:
    text: str
    found: frozenset[str]

    @property
    def needs_warning(self) -> bool:
        return bool(self.found & WARN_KINDS)


def _spans(text: str) -> list[tuple[int, int, str]]:
    folded = fold(text)
    spans: list[tuple[int, int, str]] = []
    for m in _CARD.finditer(folded):
        spans.append((m.start(), m.end(), "card"))
    for m in _CCCD.finditer(folded):
        spans.append((m.start(), m.end(), "cccd"))
    for m in _PHONE.finditer(folded):
        spans.append((m.start(), m.end(), "phone"))
    for m in _SECRET_AFTER_WORD.finditer(folded):
        secret = m.group("secret").strip(".,;!?")
        if secret and secret not in _NOT_SECRET:
            start = m.start("secret")
            spans.append((start, start + len(secret), "password" if not secret.isdigit() else "otp"))
    secret_context = bool(_HAS_SECRET_WORD.search(folded))
    # "482913" alone is likely an OTP; "/sua 123456" is a command with a receipt number.
    lone_code = len(folded.split()) <= 2 and not re.match(r"\s*/[a-z]", folded)
    for m in _STANDALONE_CODE.finditer(folded):
        if secret_context or (lone_code and len(m.group()) == 6):
            spans.append((m.start(), m.end(), "otp"))
    return spans


def redact(text: str) -> Guarded:
    """Replace every sensitive span in `text` with MASK."""
    spans = sorted(_spans(text), key=lambda s: (s[0], -s[1]))
    if not spans:
        return Guarded(text, frozenset())
    out: list[str] = []
    found: set[str] = set()
    pos = 0
    for start, end, kind in spans:
        if end <= pos:
            continue  # already covered by an earlier, wider span
        if start < pos:
            start = pos
        out.append(text[pos:start])
        out.append(MASK)
        found.add(kind)
        pos = end
    out.append(text[pos:])
    return Guarded("".join(out), frozenset(found))


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


def install_log_redaction(secrets: list[str]) -> None:
    """Attach the redacting filter to every handler of the root logger."""
    flt = RedactingFilter(secrets)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(flt)
