"""Find the question(s) in a long message: drop greetings, thanks and preambles, keep the asking.

Real questions arrive as letters ("Chào luật sư, tôi năm nay 60 tuổi… Cho tôi hỏi … Xin cảm ơn"),
newspaper Q&A ("Giải đáp: …", "Xin hỏi Luật sư, …, thưa Luật sư?"), and sometimes ask two things.
`split_question` returns the first question together with the context sentences before it, then each
further question on its own. Pure functions on text.
"""

from __future__ import annotations

import re
import unicodedata

from .normalize import fold

_SENTENCE_RE = re.compile(r"(?<=[?!.;…\n])\s+|\n+")
# Whole sentences that carry no question: greetings, thanks, wishes, sign-offs.
_NOISE_RE = re.compile(
    r"^(?:xin |em |con |chau |kinh |toi )?(?:chao|kinh gui|kinh thua|thua|cam on|xin cam on|tran trong|tks|thanks"
    r"|thank you|mong (?:duoc|nhan)|rat mong|hello|hi|alo)\b"
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
# Signs that a sentence asks: a question mark; else a question word at its end (members seldom type "?").
_MARK = re.compile(r"\?")
_ENDS_ASKING = re.compile(
    r"\b(?:khong|ko|k|chua|nhi|gi|sao|nao|dau|bao nhieu|bao lau|the nao|ra sao|nhu nao|duoc khong|hay khong"
    r"|co phai khong)(?: vay| the| day| nhi| a| ha)*\W*$"
)
# Interrogative words anywhere in a sentence.
_ASK_WORDS = re.compile(
    r"\b(?:gi|sao|nao|bao nhieu|bao lau|o dau|the nao|ra sao|nhu nao|hay khong|co phai|duoc khong|lam sao|lieu)\b"
)
_TIERS = (_MARK, _ENDS_ASKING, _ASK_WORDS, _QUESTION_CUES)
MIN_LEN = 3
HEADLINE_TOPIC_WORDS = 3  # a headline of this many words names the topic ("Sáp nhập tỉnh, xã:"): kept as context
MIN_CONTEXT_WORDS = 6  # words before an asking phrase kept as context ("Chào Luật sư," is not)
# Two questions in one sentence: a clause that ends on a question word, then ", " or " và " and another.
_CLAUSE_END_RE = re.compile(
    r"\b(?:la gi|gi|o dau|ra sao|the nao|nhu nao|bao nhieu|bao lau|khong|chua|duoc khong|hay khong|lam sao)"
    r"(?=(?:,| va)\s)"
)
_JOIN_RE = re.compile(r"[,\s]*(?:va\s+)?")

# A headline or label before a colon: "Giải đáp:", "Ngày mai (1/7):", "em hỏi vấn đề này ạ:".
_HEADLINE_RE = re.compile(r"^([^:?]{1,40}):\s+")
# Calling someone: "Em ơi", "Anh chị ơi", "ad oi".
_VOCATIVE_RE = re.compile(r"^(?:[^\W\d_]+ ){0,2}[^\W\d_]+ oi\b[ ,!.]*")
# A greeting clause closed by a comma: "Xin chào luatsu247,", "Chào Luật sư,".
_GREETING_RE = re.compile(r"^(?:xin )?chao(?: [^\s,.!?:]+){0,4}\s*[,.!:]\s*")
_PRONOUN = r"(?:toi|em|chau|minh|chi|anh|con|tui|ba|bac|co|chung toi|chung em)"
# Asking phrases, anywhere in a sentence: what follows is the question.
_ASK_RE = re.compile(
    rf"(?<!\w)(?:(?:cho|xin) (?:phep )?{_PRONOUN} (?:duoc )?hoi|(?:xin|cho) (?:duoc )?hoi|{_PRONOUN} (?:muon|can|xin)"
    rf" (?:duoc )?hoi|muon hoi|xin tu van(?: giup(?: {_PRONOUN})?)?|nho (?:luat su |anh chi |ban bien tap |ad )?"
    rf"(?:tu van|giai dap)(?: giup(?: {_PRONOUN})?)?|{_PRONOUN} muon biet)\b[ ,:]*(?:(?:rang|la)\b[ ,:]*)?"
)
_ADDRESSEE = (r"(?:luat su|ban bien tap|anh chi|anh|chi|ad|admin|quy co quan|quy bao|toa soan|bao|chuyen gia"
              r"|bo cong an|co quan chuc nang)")
# After an asking phrase: whom it is asked of, or "about this".
_ASK_TAIL_RE = re.compile(rf"^(?:{_ADDRESSEE}|(?:ve )?(?:van de|truong hop) (?:nay|sau)(?: a)?|nhu sau)\s*[,:]\s*")
_TITLE_NAME_RE = re.compile(r"^((?:[A-ZÀ-Ỹ][a-zà-ỹ]+ ){1,2}[A-ZÀ-Ỹ][a-zà-ỹ]+)\s*,\s*")
# Linking words that open a sentence: "Nhưng liệu", "Tuy nhiên,". Matched on the accented text. "Vậy"
# stays: a member's accent-free "vay" may be a loan, and cutting "Vậy" lowered the out-of-fold top-1.
_CONNECTOR_RE = re.compile(r"^(?:(?:nhưng|liệu|thế nhưng|tuy nhiên)(?: thì| nên| liệu| xin)?|và)\b[ ,]*", re.IGNORECASE)
# Cheap tests that skip the patterns above for the many messages they cannot match (folded text).
_GREETINGS = ("chao", "xin chao")
_ASKING = ("hoi", "tu van", "giai dap", "muon biet")
_CONNECTORS = ("nhung", "lieu", "the nhung", "tuy nhien", "va")
# Calling the bot rather than asking it anything: "bot ơi", "alo alo", "ê có ai không", "có ai trực không",
# "hi bot", "ad ơi" (folded, punctuation dropped). A message made only of these is a call (`is_call`); one that
# opens with them has them cut before its question (`_call_prefix`).
_CALLER = r"(?:alo+|a lo|allo|hi+|hello+|helo|helu|he lo|hey|xin chao|chao|e+|o+i+|nay)"
_CALLED = (r"(?:bot|ad|admin|ban|em|anh chi|anh|chi|tro ly|moi nguoi|ca nha|to|a|da|nhe|nha|voi|day"
           r"|buoi (?:sang|trua|chieu|toi))")
_NOT = r"(?:khong|ko|k|kg|hong|hok|hem)(?: (?:vay|a|ta|ha|the))*"
_WHERE = r"(?:(?:truc|o|online|nghe)(?: (?:do|day|ben do|may))?|do|day)"
_PRESENCE = (rf"(?:(?:co|con) (?:ai|ai do)(?: (?:co|con|dang))*(?: {_WHERE})?"  # "có ai (trực) không"
             rf"|(?:(?:co|con) )?(?:ai|ad|admin|bot|ban)(?: (?:co|con|dang))* {_WHERE}"  # "bot còn ở đó không"
             rf"|(?:co|con) (?:truc|o (?:do|day|ben do)|online)(?: (?:do|day))?)(?: {_NOT})?"  # "có ở đó không"
             r"|(?:ai|ad|admin|bot|ban)(?: di)? dau(?: (?:roi|the|vay|a))*"  # "bot đâu rồi"
             r"|giup(?: (?:em|toi|minh|chau|con|voi|a|nhe))*"  # "giúp em với" (asking for help, nothing asked yet)
             r"|(?:cho )?(?:(?:em|toi|minh|chau|con) )?hoi (?:chut|xiu|ti|cai)")  # "cho em hỏi chút"
_BOT = r"(?:bot|ad|admin|tro ly)"
_CALL_RE = re.compile(rf"(?:{_CALLED} )*(?:{_CALLER}|{_PRESENCE}|{_BOT})(?: (?:{_CALLER}|{_PRESENCE}|{_CALLED}))*")
_CALL_STRONG = re.compile(r"\b(?:alo+|a lo|hello+|helo|hey|chao|o+i+)\b|(?<=[a-z] )(?:bot|ad|admin)$")
# Cheap test: the words a call can open with (most sentences open with none of them).
_CALL_OPENER_RE = re.compile(r"(?:a|ad|admin|ai|allo|alo\w*|anh|ban|bot|buoi|ca|chao|chau|chi|cho|co|con|da|day|e|em|giup|he"
                             r"|hello\w*|helo|helu|hey|hi\w*|hoi|minh|moi|nay|nha|nhe|o+i\w*|to|toi|tro|voi|xin)\b")
# The longest call at the start of a (folded) sentence whose words it spaces singly: "alo alo …", "hi bot, …".
_CALL_HEAD_RE = re.compile(rf"{_CALL_RE.pattern}(?=[ ,.!:;?]|$)")
# A call closing the sentence: "… làm lại ở đâu bot ơi", "…, ad ơi ạ", "…, bot".
# ("… bạn ơi" is left as it was: cutting it too would cut a dev text differently, and call for a refit.)
_CALL_TAIL_RE = re.compile(r"(?:[ ,]+(?:bot|ad|admin|em|anh chi|anh|chi|tro ly|ca nha|moi nguoi|to) o+i+"
                           r"|\s*,\s*(?:bot|ad|admin))(?: (?:a|nhe|nha|voi))*\W*$")
_WORD_RE = re.compile(r"[a-z0-9]+")
_CODE_LIKE = re.compile(r"['\"<>{}\[\]=*$%#@\\/|`_]|--")
_CALL_TAIL_ENDS = ("oi", "bot", " ad", "admin", " a", "nhe", "nha", "voi")
MAX_CALL_WORDS = 8
MAX_CALL_CHARS = 60


def _call(folded: str) -> bool:
    """Whether a folded text is only a call: greetings, "ơi", the bot's names, "có ai (trực) không"."""
    if len(folded) > MAX_CALL_CHARS or not _CALL_OPENER_RE.match(folded):
        return False
    words = _WORD_RE.findall(folded)
    return 0 < len(words) <= MAX_CALL_WORDS and _CALL_RE.fullmatch(" ".join(words)) is not None


def is_call(text: str) -> bool:
    """'bot ơi', 'alo alo', 'ê có ai không', 'có ai trực không', 'chào bot': the bot is called, nothing asked.
    Code-like text is not ("admin'--")."""
    return _CODE_LIKE.search(text) is None and _call(fold(unicodedata.normalize("NFC", text)))


def _call_prefix(f: str) -> int:
    """Where the question starts after a call that opens the (folded) sentence ("alo, mất cccd …", "hi bot
    cách nộp …"); 0 when none does. A call cut without a comma after it must hold a plain call word ("alo",
    "ơi", "chào") or end on the bot's name after another word ("ê bot"): "có ai biết …", "e mất thẻ …" ("e" is
    "em") and "bot lừa đảo …" keep their words. "Chào luật sư, …" is left to the greeting's own cut."""
    if f.startswith(("chao", "xin")):
        return 0
    call = _CALL_HEAD_RE.match(f)
    if call is None or _words(f[call.end():]) < 2:  # a whole call is noise (`_noise`), not an opener
        return 0
    end = call.end()
    return end if f[end:end + 1] in {",", ".", "!", ":", ";"} or _CALL_STRONG.search(call.group(0)) else 0


def _call_tail(f: str) -> int | None:
    """Where a call closing the (folded) sentence starts ("… ở đâu bot ơi"); None when none does."""
    if not f.rstrip(" .,!?~…").endswith(_CALL_TAIL_ENDS):
        return None
    at = max(0, len(f) - 40)
    m = _CALL_TAIL_RE.search(f, at)
    return m.start() if m else None


# Closing words at the end of a sentence: ", thưa Luật sư?", "Tôi xin chân thành cảm ơn …".
_TAIL_RE = re.compile(rf"(?:[ ,]+(?:thua|a thua) {_ADDRESSEE}(?=\W*$)|\s+(?:(?:toi|em|chau) )?(?:xin )?(?:chan thanh )?"
                      r"cam on\b.*$)")


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
    return (bool(_NOISE_RE.match(folded)) and len(folded.split()) <= 8 and "?" not in folded) or _call(folded)


def is_noise(sentence: str) -> bool:
    """A greeting, thanks or sign-off with little else in it."""
    return _noise(fold(sentence))


def is_question(sentence: str) -> bool:
    return bool(_QUESTION_CUES.search(fold(sentence)))


def _asking_most(folded: list[str]) -> list[bool] | None:
    """Which sentences ask most plainly, by the first of these tiers that any of them meets: a question
    mark, a question word at the end, a question word inside, a weak cue ('thủ tục', 'cách', 'có
    thể'); None when none asks at all. (Tier by tier over all sentences: a message with a question
    mark is not searched for the other tiers' patterns.)"""
    hits = ["?" in f for f in folded]  # (_MARK)
    if any(hits):
        return hits
    for pattern in _TIERS[1:]:
        hits = [pattern.search(f) is not None for f in folded]
        if any(hits):
            return hits
    return None


def _drop(s: str, f: str, n: int) -> tuple[str, str]:
    return s[n:].lstrip(" ,:."), f[n:].lstrip(" ,:.")


def _words(f: str) -> int:
    return len(f.split())


def _topic(headline: str) -> bool:
    """Whether a (folded) headline names a topic rather than labelling or dating the question:
    "Sáp nhập tỉnh, xã" does; "Giải đáp", "Câu 1", "Ngày mai (1/7)", "em hỏi vấn đề này ạ" do not."""
    words = [w for w in headline.split() if w.strip(",.()").isalpha()]
    return len(words) >= HEADLINE_TOPIC_WORDS and not any(w in headline for w in _ASKING)


def _clean(s: str, f: str) -> list[tuple[str, str]]:
    """One sentence -> [(context before an asking phrase)?, the sentence without openers and closings]."""
    out: list[tuple[str, str]] = []
    if (n := _call_prefix(f)):  # (once: a call opens the sentence, before any other opener)
        s, f = _drop(s, f, n)
    for _ in range(4):
        before = f
        if " oi" in f and (m := _VOCATIVE_RE.match(f)) and _words(f[m.end():]) >= 2:
            s, f = _drop(s, f, m.end())
        if ":" in f and (m := _HEADLINE_RE.match(f)) and _words(m.group(1)) <= 6 \
                and not _ASK_WORDS.search(m.group(1)) and _words(f[m.end():]) >= 3:
            if _topic(m.group(1)):
                out.append((s[:m.start(1) + len(m.group(1))].strip(" ,:."), m.group(1).strip(" ,:.")))
            s, f = _drop(s, f, m.end())
        if f.startswith(_GREETINGS) and (m := _GREETING_RE.match(f)) and " hoi" not in m.group(0) \
                and _words(f[m.end():]) >= 3:
            s, f = _drop(s, f, m.end())
        ask = [m for m in _ASK_RE.finditer(f) if _words(f[m.end():]) >= 3] if any(w in f for w in _ASKING) else []
        if ask:  # the last asking phrase: "…, luật sư cho tôi hỏi X" -> X (a long lead-in stays as context)
            head = (s[:ask[-1].start()].strip(" ,:."), f[:ask[-1].start()].strip(" ,:."))
            if _words(head[1]) >= MIN_CONTEXT_WORDS:
                out.append(head)
            s, f = _drop(s, f, ask[-1].end())
            if (m := _ASK_TAIL_RE.match(f) or _TITLE_NAME_RE.match(s)) and _words(f[m.end():]) >= 3:
                s, f = _drop(s, f, m.end())
        if f.startswith(_CONNECTORS) and (m := _CONNECTOR_RE.match(s)) and _words(f[m.end():]) >= 3:
            s, f = _drop(s, f, m.end())
        s, f = _cut(s, f)
        if f == before:
            break
    if (at := _call_tail(f)) is not None and _words(f[:at]) >= 3:
        s, f = s[:at].rstrip(" ,"), f[:at].rstrip(" ,")
    if ("cam on" in f or "thua" in f) and (m := _TAIL_RE.search(f)) and _words(f[:m.start()]) >= 4:
        s, f = (s[:m.start()] + s[m.end():]).strip(" ,"), (f[:m.start()] + f[m.end():]).strip(" ,")
    out.append((s, f))
    return out


def _clauses(s: str, f: str) -> list[tuple[str, str]]:
    """'Giấy xác nhận cư trú là gì, xin cấp ở đâu?' -> its two questions; [] when it asks one thing."""
    pieces: list[tuple[str, str]] = []
    if "," not in f and " va " not in f:
        return pieces
    start = 0
    for m in _CLAUSE_END_RE.finditer(f):
        rest = f[m.end():]
        if _ASK_WORDS.search(rest) or _ENDS_ASKING.search(rest) or "?" in rest:
            pieces.append((s[start:m.end()].strip(" ,"), f[start:m.end()].strip(" ,")))
            start = _JOIN_RE.match(f, m.end()).end()  # type: ignore[union-attr]
    if not pieces:
        return []
    return [*pieces, (s[start:].strip(" ,"), f[start:].strip(" ,"))]


def split_question(text: str) -> list[str]:
    """[first question with the context before it, further questions ...]; [text] when nothing is found.

    Each sentence loses its greeting, headline, linking word, asking phrase ("cho tôi hỏi") and closing
    thanks. The question sentences are those that ask most plainly: with a question mark when there are
    any, else those ending on a question word ("tôi chưa từng đi làm ở đâu." is then context), else those
    with a question word inside, else those with a weak cue ("thủ tục", "cách"). The first question keeps
    every context sentence before it; sentences after the last question (thanks, wishes) are dropped. A
    sentence that asks two things joined by a comma or "và" ("… là gì, xin cấp ở đâu?") comes whole,
    then each of its clauses. A message of one plain sentence comes back as one part.
    """
    text = unicodedata.normalize("NFC", text)
    kept = [(s, f) for raw in sentences(text) for s, f in _clean(raw, fold(raw)) if f and not _noise(f)]
    if not kept:
        return [text]
    if len(kept) == 1:
        return [kept[0][0], *(c for c, _ in _clauses(*kept[0]))]
    asking = _asking_most([f for _, f in kept])
    if asking is None:
        return [" ".join(s for s, _ in kept)]
    parts: list[str] = []
    context: list[str] = []
    for (s, f), asks in zip(kept, asking, strict=True):
        if asks:
            parts.append(" ".join([*context, s]) if not parts else s)
            parts += [c for c, _ in _clauses(s, f)]
            context = []
        elif not parts:
            context.append(s)
    return parts


__all__ = ["is_call", "is_question", "sentences", "split_question", "strip_preamble"]
