"""Free text -> the knowledge base: an answer, a short "Ý bạn là…?" list, or an honest "not yet"."""

from __future__ import annotations

from urllib.parse import urlparse

from bot import metrics
from bot.core import Choice, Deps, Incoming, Reply, Session
from knowledge.loader import Entry
from knowledge.normalize import key

from .topics import topic_choices

FEEDBACK_QUESTION = "Câu trả lời có giúp ích không?"
MAX_RELATED = 3


def source_label(source: str) -> str:
    if source.startswith("http"):
        return urlparse(source).netloc.removeprefix("www.")
    if source.endswith(".txt"):
        return f"bài báo {source}"
    return source


def render_answer(entry: Entry) -> str:
    sources = ", ".join(dict.fromkeys(source_label(s) for s in entry.sources[:3]))
    checked = entry.checked.strftime("%d/%m/%Y")
    return f"📌 {entry.title}\n\n{entry.answer}\n\nNguồn: {sources}. Kiểm tra lần cuối: {checked}."


def answer_reply(entry: Entry, incoming: Incoming, deps: Deps) -> Reply:
    """The answer, related entries and the 👍/👎 question, plus what feature modules add."""
    if entry.topic == "smalltalk":
        return Reply(entry.answer)
    from handlers import FEATURES  # late: the package imports this module

    choices: list[Choice] = []
    for module in FEATURES:
        extra = getattr(module, "answer_choices", None)
        if extra is not None:
            choices.extend(extra(entry, incoming, deps))
    for rid in entry.related[:MAX_RELATED]:
        related = deps.kb.entries.get(rid)
        if related is not None:
            choices.append(Choice(related.title, f"faq:{related.id}"))
    choices += [Choice("👍 Có", f"fb:{entry.id}:1"), Choice("👎 Chưa", f"fb:{entry.id}:0")]
    return Reply(f"{render_answer(entry)}\n\n{FEEDBACK_QUESTION}", tuple(choices))


def team_of(incoming: Incoming, deps: Deps) -> int | None:
    """The asker's team, if a feature module knows it (used to scope the leaders' inbox)."""
    finder = deps.extras.get("team_of")
    return finder(incoming.user_key) if finder else None


async def handle(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    """Match free text against the knowledge base."""
    text = incoming.text.strip()
    if not text or not any(ch.isalnum() for ch in text):
        return [Reply(
            "Bạn chưa gõ câu hỏi. Hãy gõ điều bạn cần biết, ví dụ \"cách kích hoạt VNeID\", "
            "hoặc chọn một chủ đề:", topic_choices())]
    # Matching is pure CPU work of well under a millisecond; no need to leave the event loop.
    result = metrics.match(deps, text)
    if result.status == "answer" and result.best is not None:
        return [answer_reply(result.best.entry, incoming, deps)]
    if result.status == "choices":
        session.state["asked"] = text  # already redacted; recorded if none of the choices fits
        choices = [Choice(s.entry.title, f"faq:{s.entry.id}") for s in result.choices]
        choices.append(Choice("Không phải các mục trên", "faq:-"))
        return [Reply("Ý bạn là…?", tuple(choices))]
    deps.storage.add_unanswered(incoming.channel, incoming.user_key, text, key(text), team_of(incoming, deps))
    return [Reply(
        "Xin lỗi, tôi chưa có câu trả lời cho câu hỏi này. Tôi đã ghi lại để tổ công nghệ số bổ sung. "
        "Trong lúc chờ, bạn có thể hỏi bộ phận một cửa của UBND xã hoặc Công an xã. "
        "Bạn cũng có thể xem các chủ đề tôi biết:", topic_choices())]


async def open_entry(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """A pressed "faq:<id>" choice."""
    ident = (incoming.payload or "").partition(":")[2]
    if ident == "-":
        asked = session.state.pop("asked", None)
        if asked:
            deps.storage.add_unanswered(incoming.channel, incoming.user_key, asked, key(asked),
                                        team_of(incoming, deps))
        return [Reply("Cảm ơn bạn, tôi đã ghi lại câu hỏi để tổ công nghệ số bổ sung. Bạn thử gõ lại theo "
                      "cách khác, hoặc chọn một chủ đề:", topic_choices())]
    entry = deps.kb.entries.get(ident)
    if entry is None:
        return [Reply("Mục này không còn nữa. Bạn gõ lại câu hỏi giúp tôi nhé.", topic_choices())]
    return [answer_reply(entry, incoming, deps)]


async def feedback(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """A pressed 👍/👎: store it once per user and entry."""
    _, ident, value = ((incoming.payload or "") + "::").split(":")[:3]
    if ident not in deps.kb.entries or value not in {"0", "1"}:
        return [Reply("Nút này đã cũ. Cảm ơn bạn!")]
    given = session.state.setdefault("feedback", [])
    if ident in given:
        return [Reply("Bạn đã góp ý cho câu trả lời này rồi. Cảm ơn bạn!")]
    deps.storage.add_feedback(incoming.user_key, ident, value == "1", team_of(incoming, deps))
    given.append(ident)
    del given[:-50]
    if value == "1":
        return [Reply("Cảm ơn bạn! Rất vui vì đã giúp được.")]
    return [Reply("Cảm ơn bạn đã góp ý. Tổ công nghệ số sẽ xem lại câu trả lời này. "
                  "Nếu cần gấp, bạn hỏi bộ phận một cửa của UBND xã hoặc Công an xã nhé.")]


PAYLOADS = {"faq": open_entry, "fb": feedback}
