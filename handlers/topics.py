"""/chude: browse topics, then the entries of a topic."""

from __future__ import annotations

from bot.core import Choice, Deps, Incoming, Reply, Session
from knowledge.loader import BROWSABLE_TOPICS, TOPICS

PAGE = 8


def topic_choices() -> tuple[Choice, ...]:
    return tuple(Choice(TOPICS[t], f"topic:{t}") for t in BROWSABLE_TOPICS)


async def list_topics(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """Offer the topics as choices."""
    return [Reply("Bạn muốn tìm hiểu chủ đề nào?", topic_choices())]


async def open_topic(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """List one page of a topic's entries."""
    _, _, rest = (incoming.payload or "").partition(":")
    topic, _, page_text = rest.partition(":")
    entries = sorted(deps.kb.by_topic(topic), key=lambda e: e.title)
    if topic not in TOPICS or not entries:
        return [Reply("Chủ đề này không còn nữa. Bạn chọn lại giúp tôi nhé.", topic_choices())]
    page = int(page_text) if page_text.isdigit() else 0
    chunk = entries[page * PAGE:(page + 1) * PAGE]
    if not chunk:
        page, chunk = 0, entries[:PAGE]
    choices = [Choice(e.title, f"faq:{e.id}") for e in chunk]
    if (page + 1) * PAGE < len(entries):
        choices.append(Choice("Xem thêm ➡️", f"topic:{topic}:{page + 1}"))
    pages = (len(entries) + PAGE - 1) // PAGE
    suffix = f" (trang {page + 1}/{pages})" if pages > 1 else ""
    return [Reply(f"{TOPICS[topic]}{suffix}: bạn chọn câu hỏi nhé.", tuple(choices))]


COMMANDS = {"/chude": list_topics}
PAYLOADS = {"topic": open_topic}
