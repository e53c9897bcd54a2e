"""Talk to the core as one user, in-process (no channel adapter)."""

from __future__ import annotations

from pathlib import Path

from bot.core import Deps, Incoming, Reply, respond

FIXTURE_KB = Path(__file__).parent / "fixtures" / "kb"


class Chat:
    """Talk to the core as one user: `await chat.say("...")` returns the replies."""

    def __init__(self, deps: Deps, user: str = "u1", channel: str = "console", name: str = "Lan") -> None:
        self.deps, self.user, self.channel, self.name = deps, user, channel, name
        self.last: list[Reply] = []

    async def say(self, text: str = "", kind: str = "text") -> list[Reply]:
        self.last = await respond(Incoming(self.channel, self.user, self.user, text=text, kind=kind,
                                           display_name=self.name), self.deps)
        return self.last

    async def press(self, payload: str) -> list[Reply]:
        self.last = await respond(Incoming(self.channel, self.user, self.user, payload=payload,
                                           display_name=self.name), self.deps)
        return self.last

    async def pick(self, label_part: str) -> list[Reply]:
        """Press the choice whose label contains `label_part` among the last replies."""
        for reply in reversed(self.last):
            for choice in reply.choices:
                if label_part in choice.label:
                    return await self.press(choice.payload)
        raise AssertionError(f"no choice containing {label_part!r} in {[r.choices for r in self.last]}")

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)
