"""Photos, stickers, voice notes and the like: explain kindly what the bot understands."""

from __future__ import annotations

from bot.core import Deps, Incoming, Reply, Session
from bot.flows import WHAT

__all__ = ["WHAT", "handle"]


async def handle(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    """Answer anything that is not text; inside a flow, let the flow re-prompt."""
    if incoming.kind == "text" or incoming.payload is not None:
        return None
    if session.flow:
        from handlers import route_flow  # late: the package imports this module

        return await route_flow(incoming, deps, session)
    what = WHAT.get(incoming.kind, "loại tin nhắn này")
    return [Reply(
        f"Cảm ơn bạn! Tôi chưa xem được {what}, và tôi không lưu lại nội dung đó. "
        "Tôi chỉ hiểu tin nhắn chữ: bạn gõ câu hỏi, ví dụ \"kích hoạt VNeID không được\", "
        "hoặc gõ /chude để xem các chủ đề."
    )]
