"""Small helpers shared by the multi-step flows (teams, assistance log)."""

from __future__ import annotations

from bot.core import Incoming, Reply

from .nontext import WHAT


def arg_text(text: str) -> str:
    """What follows the command word: '/ghi@bot An; Xuân' -> 'An; Xuân'."""
    parts = (text or "").strip().split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def flow_value(incoming: Incoming) -> str | None:
    """The value of a pressed flow choice ('f:<nonce>:<value>'), else None."""
    payload = incoming.payload or ""
    if payload.startswith("f:") and payload.count(":") >= 2:
        return payload.split(":", 2)[2]
    return None


def nudge(incoming: Incoming) -> list[Reply]:
    """Why the current step is asked again (nothing for a stale button: the router said so already)."""
    if incoming.payload is None and incoming.kind == "other" and not incoming.text:
        return []
    if incoming.kind != "text" and incoming.payload is None:
        what = WHAT.get(incoming.kind, "loại tin nhắn này")
        return [Reply(f"Tôi chưa xem được {what}. Việc đang làm vẫn được giữ nguyên; "
                      "bạn trả lời câu hỏi dưới đây, hoặc gõ /huy để dừng.")]
    return [Reply("Tôi chưa hiểu câu trả lời này. Việc đang làm vẫn được giữ nguyên; "
                  "bạn chọn một mục dưới đây, hoặc gõ /huy để dừng.")]
