"""Telling a member something in their own chat, on whichever app they use (a leader's correction,
a "cần sửa" note, a relayed question or answer, a follow-up reminder).

A member is addressed by their most recently linked identity on a channel that is running
(`deps.extras["senders"]`, filled by the runner). Choices sent this way are also remembered in that
identity's conversation state, so on Zalo and the console a typed number picks them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .core import Choice, Deps, Reply

log = logging.getLogger(__name__)


def address(deps: Deps, member_id: int) -> tuple[Callable, str, str] | None:
    """(send, chat_id, identity key) of the member's most recently linked identity on a running channel."""
    senders = deps.extras.get("senders", {})
    for key, chat_id in deps.storage.db.execute(
            "SELECT key, chat_id FROM identities WHERE member_id = ? ORDER BY linked_at DESC, rowid DESC",
            [member_id]).fetchall():
        send = senders.get(key.partition(":")[0])
        if send is not None:
            if chat_id.startswith("-"):  # a group chat stored by an older version: the person's own chat
                chat_id = key.partition(":")[2]
            return send, chat_id, key
    return None


def remember_choices(deps: Deps, key: str, choices: tuple[Choice, ...]) -> None:
    """Make a proactive message's choices the ones a typed number refers to in that chat."""
    if not choices:
        return
    state = deps.storage.load_session(key)
    state["choices"] = [[c.label, c.payload] for c in choices]
    deps.storage.save_session(key, state)


async def tell(deps: Deps, member_id: int, text: str, choices: tuple[Choice, ...] = ()) -> bool:
    """Send one message to a member; False when they cannot be reached now (no running channel, or it failed)."""
    found = address(deps, member_id)
    if found is None:
        return False
    send, chat_id, key = found
    remember_choices(deps, key, choices)
    try:
        await send(chat_id, [Reply(text, choices)])
    except Exception:  # one unreachable chat must not break the sender's own conversation
        log.exception("Could not send a message to member %s", member_id)
        return False
    return True
