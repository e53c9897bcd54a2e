"""Small helpers shared by the feature modules' flows: the argument of a command, and starting a flow
with the registry of every declared flow (the engine itself is bot/flows.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from bot import flows
from bot.core import Deps, Incoming, Reply, Session

D = TypeVar("D")


def arg_text(text: str) -> str:
    """What follows the command word: '/ghi@bot An; Xuân' -> 'An; Xuân'."""
    parts = (text or "").strip().split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def registry() -> dict[str, flows.Flow[Any]]:
    from handlers import FLOWS  # late: the package imports the feature modules, which import this one

    return FLOWS


def begin(flow: flows.Flow[D], step: str, draft: D, incoming: Incoming, deps: Deps, session: Session,
          *before: Reply, enter: Callable[[flows.Turn[D]], list[Reply]] | None = None) -> list[Reply]:
    """Start `flow` at `step`; an unsaved draft of another flow is dropped with a notice."""
    return flows.begin(flow, step, draft, incoming, deps, session, registry(), *before, enter=enter)
