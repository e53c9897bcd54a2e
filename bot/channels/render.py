"""Text rendering shared by the channels: numbered choices (console, Zalo) and length-safe splitting."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from ..core import Choice

# Break points, best first: paragraph, line, sentence end, clause, word.
_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", "… ", "; ", ", ", " ")
_GLUE = {"\u200d", "\ufe0f", "\ufe0e"}  # zero-width joiner and variation selectors belong to the previous char


def number_lines(choices: Sequence[Choice], indent: str = "") -> str:
    return "\n".join(f"{indent}{i}. {c.label}" for i, c in enumerate(choices, 1))


def number_hint(n: int) -> str:
    if n == 1:
        return "Gõ 1 để chọn."
    numbers = [str(i) for i in range(1, n + 1)]
    return f"Gõ {', '.join(numbers[:-1])} hoặc {numbers[-1]} để chọn."


def with_numbered_choices(text: str, choices: Sequence[Choice], indent: str = "", repeated: bool = False) -> str:
    """The text, then "1. ...", "2. ...", then "Gõ 1, 2 hoặc 3 để chọn."; link choices as "label: url",
    unnumbered.

    `repeated`: the same list was just sent, so only the chosen items and the last choice (e.g. "Xong")
    are listed, not the whole list again."""
    links = [f"{indent}{c.label}: {c.url}" for c in choices if c.url]
    choices = [c for c in choices if not c.url]
    if not choices:
        return "\n".join(part for part in (text, *links) if part)
    if repeated:
        n = len(choices)
        marked = [f"{indent}{i}. {c.label}" for i, c in enumerate(choices, 1) if c.label.startswith("✅")]
        short = [*marked, f"{indent}{n}. {choices[-1].label}",
                 f"(Danh sách như tin nhắn trên. Gõ số từ 1 đến {n}; gõ được nhiều số một lúc, ví dụ 3 7.)"]
        return "\n".join(part for part in (text, *links, *short) if part)
    return "\n".join(part for part in (text, *links, number_lines(choices, indent), number_hint(len(choices)))
                     if part)


def utf16_len(text: str) -> int:
    """Length as JavaScript-style servers count it: emoji outside the BMP take two units.

    Counted by encoding in C: a Python loop over every character of every reply cost more than the rest of
    rendering (a lone surrogate, which strict UTF-16 refuses, counts one unit as before)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fits(text: str, limit: int) -> int:
    """How many leading code points of `text` fit in `limit` UTF-16 units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


def _safe_cut(text: str, cut: int) -> int:
    """Move a hard cut back so a combining accent or an emoji sequence is not torn apart."""
    while 0 < cut < len(text) and (unicodedata.combining(text[cut]) or text[cut] in _GLUE
                                   or text[cut - 1] == "\u200d"):
        cut -= 1
    return cut


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` UTF-16 units, cut at a paragraph, line or sentence end when possible."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if utf16_len(rest) <= limit:
            pieces.append(rest)
            break
        window = _fits(rest, limit)
        cut = 0
        for mark in _BREAKS:
            at = rest.rfind(mark, 0, window)
            # A break in the first third would leave a tiny piece; try a weaker break instead.
            if at > window // 3:
                cut = at + len(mark.rstrip())  # keep the full stop, drop the space
                break
        if cut <= 0:
            cut = _safe_cut(rest, window) or window
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    return pieces
