"""The ordered handler list. Each feature module may export:

- COMMANDS: {"/lenh": handler}      typed commands
- PAYLOADS: {"prefix": handler}     pressed choices whose payload is "prefix:..."
- FLOWS:    {"flow-name": Flow}     declared multi-step conversations (bot/flows.py runs them)

A handler returns a list of replies, or None to let the next one try.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial
from typing import Any

from rapidfuzz import fuzz, process

from bot import flows
from bot.core import Deps, Handler, Incoming, Reply, Router, Session
from bot.core import command_word as command_name
from knowledge.normalize import fold

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

__all__ = ["COMMANDS", "FLOWS", "HANDLERS", "PAYLOADS", "ROUTER", "as_command"]

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


async def route_cancel(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    name = command_name(incoming.text)
    if incoming.payload is not None or name is None or re.sub(r"[^a-z/]", "", fold(name)) != "/huy":  # "/Hủy."
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


def as_known_command(text: str) -> str | None:
    """A command typed the way people type it, as the command it is: '/báo cáo tháng này' -> '/baocao tháng
    này', '/tro giup' -> '/trogiup', '/Ghi.' -> '/ghi', '/ thamgia K7PQ2M' -> '/thamgia K7PQ2M'; None when none is."""
    words = text[1:].split()
    for n in range(min(3, len(words)), 0, -1):
        name = "/" + re.sub(r"[^a-z0-9]", "", fold("".join(words[:n]).split("@", 1)[0]))
        if name in COMMANDS:
            return " ".join([name, *words[n:]])
    return None


def unknown_command(name: str) -> str:
    """What to say to a command nobody has: the nearest one when it is a typo ('/baocaoo')."""
    near = process.extractOne(fold(name), [*COMMANDS, "/huy"], scorer=fuzz.ratio, score_cutoff=75)
    maybe = f"Có phải bạn muốn gõ {near[0]}? " if near else ""
    return (f"Tôi chưa hiểu lệnh {name[:30]}. {maybe}"
            "Gõ /trogiup để xem các lệnh, hoặc cứ gõ câu hỏi bằng chữ nhé.")


async def route_command(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    name = command_name(incoming.text)
    if name is None:
        return None
    handler = COMMANDS.get(name)
    if handler is None and (known := as_known_command(incoming.text)) is not None:
        incoming = replace(incoming, text=known)
        name = command_name(known) or name
        handler = COMMANDS.get(name)
    if handler is None:
        return [Reply(unknown_command(name))]
    return await handler(incoming, deps, session)


async def route_flow(incoming: Incoming, deps: Deps, session: Session) -> list[Reply] | None:
    """The active flow takes the message (a left view or no flow: None, so the FAQ answers)."""
    return await flows.run(incoming, deps, session, FLOWS, faq.handle)


# Order matters:
# 1. non-text (stickers, photos...) first: nothing else understands them; inside a flow they re-prompt;
#    then "đúng rồi" / "ok" just after a record was saved (told it is saved; any other text forgets that);
# 2. /huy before everything else that reads text, so it always leaves a flow;
# 3. pressed choices go to their owner, whether or not a flow is active (stale ones are caught there);
# 4. commands interrupt nothing: they answer, and the flow stays where it was;
# 5. an active flow consumes free text (a view lets it go on to the FAQ; a question mid-entry is
#    answered by the FAQ with a "Tiếp tục" choice);
# 6. a one-line record written with commas, which no step took, is logged like /ghi;
# 7. free text last goes to the FAQ.
HANDLERS: list[Handler] = [
    nontext.handle,
    assist.acknowledged,
    route_cancel,
    route_payload,
    route_command,
    route_flow,
    assist.record_with_commas,
    faq.handle,
]


def expire(session: Session, deps: Deps) -> list[Reply]:
    return flows.expire(session, deps, FLOWS)


# What the core and the channels use, passed in through deps.router (bot/app.py composes it).
ROUTER = Router(
    handlers=tuple(HANDLERS),
    flows=FLOWS,
    features=tuple(FEATURES),
    as_command=as_command,
    expire=expire,
    help_lines=partial(help.help_lines, tuple(FEATURES)),
    role_of=help.role_of,
)
