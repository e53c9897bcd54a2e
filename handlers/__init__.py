"""The ordered handler list. Each feature module may export:

- COMMANDS: {"/lenh": handler}      typed commands
- PAYLOADS: {"prefix": handler}     pressed choices whose payload is "prefix:..."
- FLOWS:    {"flow-name": Flow}     declared multi-step conversations (bot/flows.py runs them)

A handler returns a list of replies, or None to let the next one try.
"""

from __future__ import annotations

from typing import Any

from bot import flows
from bot.core import Deps, Handler, Incoming, Reply, Session

from . import (
    asks,
    assist,
    faq,
    followups,
    help,
    linking,
    nontext,
    records,
    reports,
    review,
    teams,
    topics,
    unanswered,
    units,
    web,
)
from .words import as_command

__all__ = ["COMMANDS", "FLOWS", "HANDLERS", "PAYLOADS", "as_command"]

# Feature modules, in the order their commands are listed in /trogiup.
# `units` after `reports` and `teams`: its /baocao, /xuat, /bieudo and /moi wrap theirs (officials first).
FEATURES = [help, topics, faq, teams, assist, records, followups, asks, reports, review, units, unanswered, web, linking]

COMMANDS: dict[str, Handler] = {}
PAYLOADS: dict[str, Handler] = {}
FLOWS: dict[str, flows.Flow[Any]] = {}
for _module in FEATURES:
    COMMANDS.update(getattr(_module, "COMMANDS", {}))
    PAYLOADS.update(getattr(_module, "PAYLOADS", {}))
    FLOWS.update(getattr(_module, "FLOWS", {}))

STALE = flows.STALE


def command_name(text: str) -> str | None:
    """'/Ghi@tcns_bot Nguyen' -> '/ghi'."""
    if not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0].split("@", 1)[0].lower()


async def route_cancel(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    if command_name(incoming.text) != "/huy" or incoming.payload is not None:
        return None
    said = flows.cancel(session, deps, FLOWS)
    return [Reply(said or "Hiện không có thao tác nào đang làm dở. Bạn cứ gõ câu hỏi nhé.")]


async def route_payload(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    payload = incoming.payload
    if payload is None:
        return None
    prefix, _, _ = payload.partition(":")
    if prefix == "f":
        return await route_flow(incoming, deps, session)
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


async def route_flow(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    """The active flow takes the message (a left view or no flow: None, so the FAQ answers)."""
    return await flows.run(incoming, deps, session, FLOWS, faq.handle)


# Order matters:
# 1. non-text (stickers, photos...) first: nothing else understands them; inside a flow they re-prompt;
# 2. /huy before everything else that reads text, so it always leaves a flow;
# 3. pressed choices go to their owner, whether or not a flow is active (stale ones are caught there);
# 4. commands interrupt nothing: they answer, and the flow stays where it was;
# 5. an active flow consumes free text (a view lets it go on to the FAQ; a question mid-entry is
#    answered by the FAQ with a "Tiếp tục" choice);
# 6. free text last goes to the FAQ.
HANDLERS: list[Handler] = [
    nontext.handle,
    route_cancel,
    route_payload,
    route_command,
    route_flow,
    faq.handle,
]
