"""Find the question(s) in a long message: drop greetings, thanks and preambles, keep the asking.

Real questions arrive as letters ("Chào luật sư, tôi năm nay 60 tuổi… Cho tôi hỏi … Xin cảm ơn"),
and sometimes ask two things. `split_question` returns the first question together with the
context sentences before it, then each further question on its own. Pure functions on text.
"""

from __future__ import annotations

import re

from .normalize import fold

_SENTENCE_RE = re.compile(r"(?<=[?!.;\n])\s+|\n+")
# Whole sentences that carry no question: greetings, thanks, wishes, sign-offs.
_NOISE_RE = re.compile(
    r"^(?:xin |em |con |chau |kinh )?(?:chao|kinh gui|kinh thua|thua|cam on|xin cam on|tran trong|tks|thanks|thank you"
    r"|mong (?:duoc|nhan)|rat mong|hello|hi|alo)\b"
)
# Preambles at the start of a sentence, before the real question.
_PREAMBLE_RE = re.compile(
    r"^(?:(?:xin )?chao (?:ban|bot|luat su|anh chi|anh|chi|ad|admin|moi nguoi|ca nha|quy co quan|bao)[ ,.!]*)?"
    r"(?:(?:cho|xin|cho em|cho toi|cho chau|cho minh|em|toi|chau|minh|luat su cho|ban cho|ad cho|anh chi cho)"
    r" (?:duoc )?(?:hoi|hoi chut|hoi xiu|hoi la|muon hoi|xin hoi|can hoi)|toi muon hoi|em muon hoi|xin hoi|hoi"
    r"|toi co cau hoi|toi co thac mac|em co thac mac|nho tu van|xin tu van|mong duoc tu van|nho giai dap"
    r"|xin duoc giai dap)?\b[ ,:.]*(?:la )?"
)
_QUESTION_CUES = re.compile(
    r"\?|\b(?:khong|ko|k|chua|ha|a|nhi)\W*$|\b(?:gi|sao|nao|bao nhieu|bao lau|o dau|the nao|ra sao|nhu nao|hay khong|co phai"
    r"|duoc khong|lam sao|cach|huong dan|thu tuc|dieu kien|can gi|phai lam|co the|co nen|nen)\b"
)
MIN_LEN = 3


def sentences(text: str) -> list[str]:
    return [s.strip(" ,") for s in _SENTENCE_RE.split(text.strip()) if s and s.strip(" ,.!?")]


def _cut(sentence: str, folded: str) -> tuple[str, str]:
    """The sentence and its folded form without a leading preamble (fold keeps the length)."""
    m = _PREAMBLE_RE.match(folded)
    if m and m.end() and len(folded) - m.end() >= MIN_LEN:
        return sentence[m.end():].strip(" ,:."), folded[m.end():].strip(" ,:.")
    return sentence, folded


def strip_preamble(sentence: str) -> str:
    """'Cho tôi hỏi điều kiện …' -> 'điều kiện …' (cut on the accent-free form)."""
    return _cut(sentence, fold(sentence))[0]


def _noise(folded: str) -> bool:
    folded = folded.strip()
    return bool(_NOISE_RE.match(folded)) and len(folded.split()) <= 8 and "?" not in folded


def is_noise(sentence: str) -> bool:
    """A greeting, thanks or sign-off with little else in it."""
    return _noise(fold(sentence))


def is_question(sentence: str) -> bool:
    return bool(_QUESTION_CUES.search(fold(sentence)))


def split_question(text: str) -> list[str]:
    """[first question with the context before it, second question, ...]; [text] when nothing is found.

    A message of one sentence comes back as one part (its preamble cut). Context sentences after
    the last question (thanks, wishes) are dropped. Each sentence is folded once.
    """
    kept = [(s, f) for s, f in (_cut(s, fold(s)) for s in sentences(text)) if not _noise(f)]
    if not kept:
        return [text]
    if len(kept) == 1:
        return [kept[0][0]]
    parts: list[str] = []
    context: list[str] = []
    for s, f in kept:
        if _QUESTION_CUES.search(f):
            parts.append(" ".join([*context, s]) if not parts else s)
            context = []
        elif not parts:
            context.append(s)
    if not parts:
        return [" ".join(s for s, _ in kept)]
    return parts


__all__ = ["is_question", "sentences", "split_question", "strip_preamble"]
