"""The ordered handler list. Each feature module may export:

- COMMANDS: {"/lenh": handler}      typed commands
- PAYLOADS: {"prefix": handler}     pressed choices whose payload is "prefix:..."
- FLOWS:    {"flow-name": handler}  multi-step conversations (state in the session)

A handler returns a list of replies, or None to let the next one try.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core import Deps, Handler, Incoming, Reply, Session

from . import assist, faq, help, linking, nontext, records, reports, teams, topics, unanswered, web

# Feature modules, in the order their commands are listed in /trogiup.
FEATURES = [help, topics, faq, teams, assist, records, reports, unanswered, web, linking]

COMMANDS: dict[str, Handler] = {}
PAYLOADS: dict[str, Handler] = {}
FLOWS: dict[str, Handler] = {}
for _module in FEATURES:
    COMMANDS.update(getattr(_module, "COMMANDS", {}))
    PAYLOADS.update(getattr(_module, "PAYLOADS", {}))
    FLOWS.update(getattr(_module, "FLOWS", {}))

STALE = "Nút này đã cũ hoặc đã được bấm rồi. Bạn xem tin nhắn mới nhất, hoặc gõ /trogiup để xem cách dùng nhé."


def command_name(text: str) -> str | None:
    """'/Ghi@tcns_bot Nguyen' -> '/ghi'."""
    if not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0].split("@", 1)[0].lower()


async def route_cancel(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    if command_name(incoming.text) != "/huy" or incoming.payload is not None:
        return None
    if session.flow:
        session.end_flow()
        return [Reply("Đã hủy thao tác đang làm. Bạn cần gì cứ hỏi tiếp nhé.")]
    return [Reply("Hiện không có thao tác nào đang làm dở. Bạn cứ gõ câu hỏi nhé.")]


async def route_payload(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    payload = incoming.payload
    if payload is None:
        return None
    prefix, _, _ = payload.partition(":")
    if prefix == "f":
        return await route_flow(incoming, deps, session, stale_ok=False)
    handler = PAYLOADS.get(prefix)
    if handler is None:
        return [Reply(STALE)]
    return await handler(incoming, deps, session)


async def route_command(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    name = command_name(incoming.text)
    if name is None:
        return None
    handler = COMMANDS.get(name)
    if handler is None:
        return [Reply(
            f"Tôi chưa hiểu lệnh {name[:30]}. Gõ /trogiup để xem các lệnh, hoặc cứ gõ câu hỏi bằng chữ nhé."
        )]
    return await handler(incoming, deps, session)


async def route_flow(incoming: Incoming, deps: Deps, session: Session, stale_ok: bool = True) -> list[Reply] | None:
    flow = session.flow
    if flow is None:
        return [Reply(STALE)] if not stale_ok else None
    handler = FLOWS.get(flow["name"])
    if handler is None:  # a flow from an older version of the bot
        session.end_flow()
        return [Reply("Thao tác đang làm dở không còn dùng được nữa. Bạn bắt đầu lại giúp tôi nhé.")]
    if incoming.payload is not None:
        _, nonce, _ = incoming.payload.split(":", 2) if incoming.payload.count(":") >= 2 else ("", "", "")
        if nonce != flow["nonce"]:
            replies = [Reply(STALE)]
            again = await handler(replace(incoming, payload=None, text="", kind="other"), deps, session)
            return replies + (again or [])
    return await handler(incoming, deps, session)


# Order matters:
# 1. non-text (stickers, photos...) first: nothing else understands them; inside a flow they re-prompt;
# 2. /huy before everything else that reads text, so it always leaves a flow;
# 3. pressed choices go to their owner, whether or not a flow is active (stale ones are caught there);
# 4. commands interrupt nothing: they answer, and the flow stays where it was;
# 5. an active flow consumes free text;
# 6. free text last goes to the FAQ.
HANDLERS: list[Handler] = [
    nontext.handle,
    route_cancel,
    route_payload,
    route_command,
    route_flow,
    faq.handle,
]
