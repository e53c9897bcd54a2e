"""Photos, stickers, voice notes and the like: explain kindly what the bot understands."""

from __future__ import annotations

from dataclasses import replace

from bot import flows
from bot.core import Deps, Incoming, Reply, Session
from bot.flows import WHAT
from bot.safety import without_mask

from . import faq

__all__ = ["WHAT", "handle"]


async def handle(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    """Answer anything that is not text; inside a flow, let the flow re-prompt."""
    if incoming.kind == "text" or incoming.payload is not None:
        return None
    if session.flow:
        return await flows.run(incoming, deps, session, dict(deps.router.flows), faq.handle)
    what = WHAT.get(incoming.kind, "loại tin nhắn này")
    caption = without_mask(incoming.text)
    if any(ch.isalpha() for ch in caption) and not caption.startswith("/"):  # a question typed under a photo
        answer = await faq.handle(replace(incoming, kind="text"), deps, session) or []
        return [Reply(f"Tôi chưa xem được {what} và không lưu lại nội dung đó; tôi trả lời theo chữ bạn viết kèm."),
                *answer]
    return [Reply(
        f"Cảm ơn bạn! Tôi chưa xem được {what}, và tôi không lưu lại nội dung đó. "
        "Tôi chỉ hiểu tin nhắn chữ: bạn gõ câu hỏi, ví dụ \"kích hoạt VNeID không được\", "
        "hoặc gõ /chude để xem các chủ đề."
    )]
