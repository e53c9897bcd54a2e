"""/chude: browse topics, then the entries of a topic."""

from __future__ import annotations

from bot.core import Choice, Deps, Incoming, Reply, Session
from knowledge.loader import BROWSABLE_TOPICS, TOPICS
from knowledge.normalize import fold

PAGE = 8

# A message that is only a topic's name ("vneid", "dịch vụ công", "lừa đảo"): the member wants that topic's
# list, not one guessed entry. Folded (no diacritics, lower case), punctuation and spaces dropped.
TOPIC_NAMES: dict[str, str] = {
    "vneid": "vneid", "dinhdanh": "vneid", "dinhdanhdientu": "vneid", "taikhoandinhdanh": "vneid",
    "taikhoandinhdanhdientu": "vneid",
    "dichvucong": "dichvucong", "dvc": "dichvucong", "dichvucongtructuyen": "dichvucong",
    "congdichvucong": "dichvucong",
    "thanhtoan": "thanhtoan", "thanhtoankhongdungtienmat": "thanhtoan",
    "luadao": "luadao", "phongtranhluadao": "luadao",
    "tocongnghe": "tocongnghe", "tocongnghesocongdong": "tocongnghe", "tocongngheso": "tocongnghe",
}


def topic_choices() -> tuple[Choice, ...]:
    return tuple(Choice(TOPICS[t], f"topic:{t}") for t in BROWSABLE_TOPICS)


async def list_topics(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """Offer the topics as choices."""
    return [Reply("Bạn muốn tìm hiểu chủ đề nào?", topic_choices())]


def topic_named(text: str) -> str | None:
    """The topic a message only names (see TOPIC_NAMES), else None."""
    return TOPIC_NAMES.get("".join(ch for ch in fold(text) if ch.isalnum()))


async def open_topic(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    """List one page of a topic's entries."""
    _, _, rest = (incoming.payload or "").partition(":")
    topic, _, page_text = rest.partition(":")
    return topic_page(deps, topic, page_text)


def topic_page(deps: Deps, topic: str, page_text: str = "") -> list[Reply]:
    """One page of a topic's entries, as choices."""
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
