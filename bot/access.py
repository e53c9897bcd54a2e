"""Who is asking: the member behind a `channel:user_id`, and their role.

One place for access decisions so handlers never re-implement them: anyone may ask
questions; only members log; leaders see their own team; commune and province officials see
every team of their unit (bot/scope.py); admins (ADMIN_IDS) see everything. Leaders', officials'
and admins' commands pass one `Gate` (LEADERS, ADMINS, READERS; the inbox's is `scope.INBOX_READERS`);
so does every route of the web view (bot/web/views.py), with its own wording of the refusal.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .core import Deps, Incoming, Reply, Session
from .flows import Turn


class Role(StrEnum):
    """What someone may do; stored as these words in `members.role`. An admin is named in ADMIN_IDS."""

    MEMBER = "member"
    LEADER = "leader"
    COMMUNE = "commune"
    PROVINCE = "province"
    ADMIN = "admin"


ROLE_NAMES: dict[str, str] = {Role.MEMBER: "thành viên", Role.LEADER: "tổ trưởng", Role.COMMUNE: "cán bộ xã",
              Role.PROVINCE: "cán bộ tỉnh", Role.ADMIN: "quản trị"}


class _Powers:
    """What a role may do, for members and configured admins alike."""

    role: str
    team_id: int | None

    @property
    def is_leader(self) -> bool:
        return self.role in (Role.LEADER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_official(self) -> bool:
        return self.role in (Role.COMMUNE, Role.PROVINCE)

    @property
    def sees_reports(self) -> bool:
        """Leaders, officials and admins read reports (each within their scope)."""
        return self.is_leader or self.is_official

    def can_see_team(self, team_id: int) -> bool:
        """Leaders and admins only; officials go through `bot.scope` (it needs the database)."""
        return self.is_admin or (self.role == Role.LEADER and self.team_id == team_id)


@dataclass(frozen=True)
class Member(_Powers):
    """A member row (any role), linked to the identity asking."""

    id: int
    team_id: int | None
    display_name: str
    role: str  # a Role (admin also when the identity is in ADMIN_IDS)
    unit_id: int | None = None  # the commune or province of an official

    @property
    def actor_id(self) -> int | None:
        """Who the audit trail and `created_by` columns name."""
        return self.id


@dataclass(frozen=True)
class Admin(_Powers):
    """An admin named in ADMIN_IDS whose identity has no member row. Reads and corrects every team, creates
    teams, units and invites; cannot log records, run activities, ask a leader or link accounts: those need
    a member row (/moi then /thamgia gives one)."""

    display_name: str = "Quản trị"
    role: str = Role.ADMIN
    team_id: None = None
    unit_id: None = None
    id: None = None  # no member row: never a foreign key

    @property
    def actor_id(self) -> int | None:
        return None


Actor = Member | Admin  # whoever is asking, once known


def member_for(deps: Deps, user_key: str) -> Actor | None:
    """The active member linked to this identity; configured admins always count as admin (an `Admin` when
    they have no member row)."""
    row = deps.storage.db.execute(
        "SELECT m.id, m.team_id, m.display_name, m.role, m.unit_id FROM identities i "
        "JOIN members m ON m.id = i.member_id WHERE i.key = ? AND m.active = 1",
        [user_key],
    ).fetchone()
    admin = deps.is_admin(user_key)
    if row is None:
        return Admin() if admin else None
    role = Role.ADMIN if admin else row[3]
    return Member(id=row[0], team_id=row[1], display_name=row[2], role=role, unit_id=row[4])


NOT_MEMBER = ("Chức năng này dành cho thành viên Tổ công nghệ số. "
              "Hãy nhờ tổ trưởng gửi mã mời, rồi gõ /thamgia <mã> để tham gia tổ.")
# One refusal for every leaders' command (reports, invites, members, review): it names what to ask the leader for.
NOT_LEADER = ("Chức năng này dành cho tổ trưởng. Bạn cần xem số liệu của tổ, mời thêm người hay duyệt phiếu "
              "thì nhờ tổ trưởng của tổ nhé.")
NOT_ADMIN = ("Chức năng này dành cho quản trị viên của hệ thống (người được ghi tên trong cài đặt của bot). "
             "Cần tạo tổ mới hay mời tổ trưởng, bạn liên hệ người quản trị nhé.")
NOT_READER = "Chức năng này dành cho cán bộ xã, cán bộ tỉnh và tổ trưởng."
NOT_IN_TEAM = ("Bạn là quản trị viên nhưng chưa thuộc tổ nào, nên chưa ghi nhận được. "
               "Hãy tạo mã mời bằng /moi rồi tự tham gia bằng /thamgia <mã>.")
NO_TEAMS = "Chưa có tổ nào. Quản trị viên tạo tổ bằng lệnh: /taoto <tên tổ>; <xã>; <thôn 1, thôn 2, ...>"
NOT_OWN_RECORD = ("Bạn chỉ xem, sửa hoặc xóa được phiếu do chính mình ghi trong {days} ngày gần đây. "
                  "Gõ /cuatoi để xem số phiếu của bạn; phiếu cũ hơn thì nhờ tổ trưởng.")
IN_GROUP = ("Để giữ kín thông tin hộ dân, việc ghi và xem phiếu chỉ làm trong tin nhắn riêng với tôi. "
            "Bạn bấm vào tên tôi rồi nhắn riêng nhé.")


# --- the one gate ---------------------------------------------------------------------------------

GatedHandler = Callable[[Incoming, Deps, Session, "Actor"], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Gate:
    """Who may use a command, and the one refusal everyone else gets (the same on every command).

    `admits` is the decision; `check` answers the person or the refusal; used as a decorator, the command
    receives the person as a fourth argument; `guard` is a flow's guard, checked before every step (with the
    draft's team, when the flow acts on one team: a leader of another team is refused like a plain member)."""

    allows: Callable[[Actor], bool]
    refusal: str

    def admits(self, who: Actor | None, team_id: int | None = None) -> bool:
        """The decision itself, for someone already known (None: not a member): chat commands reach it
        through `check`, the web view (bot/web/views.py) with the member its sign-in found."""
        return who is not None and self.allows(who) and (team_id is None or who.can_see_team(team_id))

    def check(self, deps: Deps, user_key: str, team_id: int | None = None) -> Actor | list[Reply]:
        who = member_for(deps, user_key)
        if who is None or not self.admits(who, team_id):
            return [Reply(self.refusal)]
        return who

    def __call__(self, command: GatedHandler) -> Callable[[Incoming, Deps, Session], Awaitable[list[Reply]]]:
        @functools.wraps(command)
        async def gated(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
            who = self.check(deps, incoming.user_key)
            if isinstance(who, list):  # refused
                return who
            return await command(incoming, deps, session, who)
        return gated

    def guard(self, team: Callable[[Any], int | None] = lambda draft: None) -> Callable[[Turn[Any]], list[Reply] | None]:
        def guard(t: Turn[Any]) -> list[Reply] | None:
            who = self.check(t.deps, t.incoming.user_key, team(t.draft))
            return who if isinstance(who, list) else None
        return guard


LEADERS = Gate(lambda who: who.is_leader, NOT_LEADER)  # leaders (their own team) and admins (any team)
ADMINS = Gate(lambda who: who.is_admin, NOT_ADMIN)
READERS = Gate(lambda who: who.sees_reports, NOT_READER)  # leaders, commune and province officials, admins
