"""Small helpers shared by the multi-step flows (teams, assistance log)."""

from __future__ import annotations

from bot.core import Incoming, Reply, Session

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


def dropping_draft(session: Session) -> list[Reply]:
    """Say so when a new flow is about to replace an unsaved /ghi draft (one flow per chat)."""
    flow = session.flow
    if not flow or flow["name"] != "ghi":
        return []
    data = flow["data"]
    if data.get("edit"):
        return [Reply(f"Việc sửa phiếu số {data['edit']} đang làm dở đã dừng; phiếu giữ nguyên.")]
    who = f" cho hộ {data['name']}" if data.get("name") else ""
    return [Reply(f"Phiếu đang ghi dở{who} chưa được lưu và đã bỏ.")]
