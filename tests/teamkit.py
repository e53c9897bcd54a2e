"""Helpers for the team and logging tests: a movable clock and a ready-made team."""

from __future__ import annotations

import datetime as dt
import re

from bot.core import Deps
from tests.chat import Chat

VN = dt.timezone(dt.timedelta(hours=7))


class Clock:
    """deps.clock that tests can move forward."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or dt.datetime(2026, 11, 18, 9, 0, tzinfo=VN)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)


def code_in(text: str) -> str:
    match = re.search(r"/thamgia ([A-Z0-9]{6})", text)
    assert match, text
    return match.group(1)


async def invite_leader(deps: Deps, name: str, commune: str, villages: str) -> str:
    """The admin creates a team and invites its leader (in-process); returns the leader's invite code."""
    admin = Chat(deps, "admin", name="Quản trị")
    await admin.say(f"/taoto {name}; {commune}; {villages}")
    await admin.say("/moi totruong")
    if "Tổ nào" in admin.text or "tổ nào" in admin.text:
        await admin.pick(name)
    return code_in(admin.text)


async def make_team(deps: Deps, members: int = 1) -> tuple[Chat, Chat, list[Chat]]:
    """Admin creates a team, invites a leader; the leader invites `members` members."""
    admin = Chat(deps, "admin", name="Quản trị")
    await admin.say("/taoto Tổ CNS Xuân; Xã Xuân Thượng; Xuân Thượng, Xuân Hạ, Đồng Tâm")
    await admin.say("/moi totruong")
    leader = Chat(deps, "lead", name="Hoa")
    await leader.say(f"/thamgia {code_in(admin.text)}")
    chats = []
    for i in range(members):
        await leader.say("/moi")
        member = Chat(deps, f"m{i}", name=f"Lan {i}")
        await member.say(f"/thamgia {code_in(leader.text)}")
        chats.append(member)
    return admin, leader, chats


def receipt(text: str) -> int:
    match = re.search(r"Số phiếu: (\d+)", text)
    assert match, text
    return int(match.group(1))
