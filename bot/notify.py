"""Telling a member something in their own chat, on whichever app they use (a leader's correction,
a "cần sửa" note, a relayed question or answer, a follow-up reminder).

A member is addressed by their most recently linked identity on a channel that is running
(`deps.services.senders`, filled by the runner). Choices sent this way are also remembered in that
identity's conversation state, so on Zalo and the console a typed number picks them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .core import Choice, Deps, Reply

log = logging.getLogger(__name__)


def addresses(deps: Deps, member_id: int) -> list[tuple[Callable, str, str]]:
    """(send, chat_id, identity key) of each of the member's identities on a running channel, newest link first."""
    senders = deps.services.senders
    found = []
    for key, chat_id in deps.storage.db.execute(
            "SELECT key, chat_id FROM identities WHERE member_id = ? ORDER BY linked_at DESC, rowid DESC",
            [member_id]).fetchall():
        send = senders.get(key.partition(":")[0])
        if send is not None:
            if chat_id.startswith("-"):  # a group chat stored by an older version: the person's own chat
                chat_id = key.partition(":")[2]
            found.append((send, chat_id, key))
    return found


def address(deps: Deps, member_id: int) -> tuple[Callable, str, str] | None:
    """The member's most recently linked identity on a running channel."""
    found = addresses(deps, member_id)
    return found[0] if found else None


def remember_choices(deps: Deps, key: str, choices: tuple[Choice, ...]) -> None:
    """Make a proactive message's choices the ones a typed number refers to in that chat."""
    if not choices:
        return
    state = deps.storage.load_session(key)
    state["choices"] = [[c.label, c.payload] for c in choices]
    deps.storage.save_session(key, state, deps.clock())


async def tell(deps: Deps, member_id: int, text: str, choices: tuple[Choice, ...] = ()) -> bool:
    """Send one message to a member (their newest linked app first; if that fails, the next one); False when
    they cannot be reached now."""
    for send, chat_id, key in addresses(deps, member_id):
        remember_choices(deps, key, choices)
        try:
            await send(chat_id, [Reply(text, choices)])
        except Exception:  # one unreachable chat must not break the sender's own conversation
            log.exception("Could not send a message to member %s on %s", member_id, key.partition(":")[0])
            continue
        return True
    return False
