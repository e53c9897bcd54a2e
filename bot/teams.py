"""Teams, villages, members, channel identities and invite codes (data access only, no replies).

Every write runs inside `storage.transaction()`. Times are stored as UTC ISO strings; callers pass
`now` (an aware datetime from `deps.clock()`) so tests can move the clock.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from .audit import audit
from .clock import iso, parse_iso
from .codes import LETTERS_AND_DIGITS, new_code
from .places import commune_in, get_unit
from .storage import Storage, new_row_id

# Invite codes: short, uppercase, no look-alikes (0/O, 1/I) for people reading them aloud.
CODE_ALPHABET = LETTERS_AND_DIGITS
CODE_LENGTH = 6
INVITE_DAYS = 7
TEAM_ROLES = ("member", "leader")
OFFICIAL_ROLES = ("commune", "province")  # members.unit_id names their commune or province


@dataclass(frozen=True)
class Team:
    id: int
    name: str
    commune: str


@dataclass(frozen=True)
class Village:
    id: int
    team_id: int
    name: str


class InviteError(Exception):
    """Why a code cannot be used: 'unknown', 'expired', 'used' or 'already'."""

    def __init__(self, reason: str, team_name: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.team_name = team_name


def create_team(storage: Storage, name: str, commune: str, villages: list[str], actor: int | None,
                now: dt.datetime, commune_id: int | None = None) -> int:
    """A team with its villages (duplicates dropped); returns the team id.

    The team is placed in `commune_id`, or else in the commune named `commune` (found or created)."""
    unique = list(dict.fromkeys(v.strip() for v in villages if v.strip()))
    with storage.transaction() as conn:
        if commune_id is None:
            commune_id = commune_in(conn, commune, None, now, actor)
        team_id = new_row_id(conn.execute("INSERT INTO teams (name, commune, commune_id, created_at) VALUES (?, ?, ?, ?)",
                               (name, commune, commune_id, iso(now))))
        for village in unique:
            conn.execute("INSERT INTO villages (team_id, name) VALUES (?, ?)", (team_id, village))
        audit(conn, now, actor, "teams", team_id, "create", None,
              {"name": name, "commune": commune, "commune_id": commune_id, "villages": unique})
    return int(team_id)


def list_teams(storage: Storage) -> list[Team]:
    rows = storage.db.execute("SELECT id, name, commune FROM teams ORDER BY id").fetchall()
    return [Team(*row) for row in rows]


def get_team(storage: Storage, team_id: int) -> Team | None:
    row = storage.db.execute("SELECT id, name, commune FROM teams WHERE id = ?", [team_id]).fetchone()
    return Team(*row) if row else None


def teams_by_name(storage: Storage) -> list[tuple[int, str]]:
    """(id, name) of every team, by name (for pickers)."""
    return storage.db.execute("SELECT id, name FROM teams ORDER BY name").fetchall()


def village_sizes(storage: Storage, team_id: int) -> list[tuple[int, str, int | None]]:
    """(id, name, households) of a team's villages, by name; households None until a leader sets it."""
    return storage.db.execute("SELECT id, name, households FROM villages WHERE team_id = ? ORDER BY name",
                              [team_id]).fetchall()


def set_village_size(storage: Storage, village: tuple[int, str, int | None], size: int, actor: int | None,
                     now: dt.datetime) -> None:
    """Record a village's number of households (audited, with the size before)."""
    village_id, _, before = village
    with storage.transaction() as conn:
        conn.execute("UPDATE villages SET households = ? WHERE id = ?", (size, village_id))
        audit(conn, now, actor, "villages", village_id, "update", {"households": before}, {"households": size})


def villages(storage: Storage, team_id: int) -> list[Village]:
    rows = storage.db.execute("SELECT id, team_id, name FROM villages WHERE team_id = ? ORDER BY id",
                              [team_id]).fetchall()
    return [Village(*row) for row in rows]


def create_invite(storage: Storage, team_id: int | None, role: str, actor: int | None, now: dt.datetime,
                  days: int = INVITE_DAYS, unit_id: int | None = None) -> tuple[str, dt.datetime]:
    """A one-use invite code for `team_id` (team roles) or `unit_id` (officials); returns (code, expiry)."""
    if (team_id is None) == (unit_id is None) or (unit_id is not None) != (role in OFFICIAL_ROLES):
        raise ValueError("an invite names a team for team roles, a unit for officials")
    expires = now + dt.timedelta(days=days)
    with storage.transaction() as conn:
        # Long-expired invites are only clutter (and keep codes in the database): forget them.
        conn.execute("DELETE FROM invites WHERE expires_at < ?", (iso(now - dt.timedelta(days=30)),))
        while True:
            code = new_code(CODE_ALPHABET, CODE_LENGTH)
            if conn.execute("SELECT 1 FROM invites WHERE code = ?", (code,)).fetchone() is None:
                break
        row_id = new_row_id(conn.execute(
            "INSERT INTO invites (code, team_id, unit_id, role, created_by, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (code, team_id, unit_id, role, actor, iso(now), iso(expires)),
        ))
        # The code itself stays out of the trail: it admits whoever types it until it is used.
        audit(conn, now, actor, "invites", row_id, "create", None,
              {"team_id": team_id, "unit_id": unit_id, "role": role, "expires_at": iso(expires)})
    return code, expires


def clean_code(text: str) -> str:
    """What people type: ' abc-234 ' -> 'ABC234'."""
    return "".join(ch for ch in text.upper() if ch.isalnum())[:20]


def invite_code(text: str) -> str:
    """The code in what people type after /thamgia: 'abc-234' -> 'ABC234', 'Q2F 39J' -> 'Q2F39J', and the
    words they put in front of it left out: 'mã K7PQ2M', 'tổ, mã là K7PQ2M.' -> 'K7PQ2M'."""
    words = re.findall(r"[^\W_]+", text)
    whole = [w for w in words if len(w) == CODE_LENGTH and w.isascii()]
    if len(whole) == 1 or len(words) > 2:
        with_digit = [w for w in whole if any(ch.isdigit() for ch in w)]
        picked = (with_digit or [w for w in whole if w.isupper()] or whole)[-1:] or words
        return clean_code("".join(picked))
    return clean_code(text)


def redeem_invite(storage: Storage, code: str, user_key: str, chat_id: str, display_name: str,
                  now: dt.datetime) -> tuple[int, Any, str]:
    """Join with a code: a new member, the identity linked to it. Returns (member_id, place, role):
    the place is the `Team` for team roles and the `units.Unit` for officials (both have `.name`).

    Raises InviteError. The check and the use happen in one transaction, so a one-use code
    pressed by two people at once admits one.
    """
    with storage.transaction() as conn:
        current = conn.execute(
            "SELECT coalesce(t.name, u.name, '') FROM identities i JOIN members m ON m.id = i.member_id "
            "LEFT JOIN teams t ON t.id = m.team_id LEFT JOIN units u ON u.id = m.unit_id "
            "WHERE i.key = ? AND m.active = 1", (user_key,)).fetchone()
        if current is not None:
            raise InviteError("already", current[0])
        # An invite made by someone no longer active in that team (a removed leader) is void. Officials
        # and admins have no team (team_id NULL): their invites stay valid while they are active.
        row = conn.execute(
            "SELECT i.team_id, i.unit_id, i.role, i.expires_at, i.max_uses, i.uses FROM invites i "
            "LEFT JOIN members m ON m.id = i.created_by WHERE i.code = ? "
            "AND (i.created_by IS NULL OR (m.active = 1 AND (m.team_id = i.team_id OR m.role = 'admin' "
            "OR m.team_id IS NULL)))", (code,)).fetchone()
        if row is None:
            raise InviteError("unknown")
        team_id, unit_id, role, expires_at, max_uses, uses = row
        if parse_iso(expires_at) <= now:
            raise InviteError("expired")
        if uses >= max_uses:
            raise InviteError("used")
        conn.execute("UPDATE invites SET uses = uses + 1 WHERE code = ?", (code,))
        member_id = new_row_id(conn.execute(
            "INSERT INTO members (team_id, unit_id, display_name, role, joined_at) VALUES (?, ?, ?, ?, ?)",
            (team_id, unit_id, display_name, role, iso(now))))
        conn.execute(
            "INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET member_id = excluded.member_id, chat_id = excluded.chat_id, "
            "linked_at = excluded.linked_at",
            (user_key, member_id, chat_id, iso(now)))
        audit(conn, now, member_id, "members", member_id, "create", None,
              {"team_id": team_id, "unit_id": unit_id, "role": role, "invite": code})
        if team_id is not None:
            place: Any = Team(*conn.execute("SELECT id, name, commune FROM teams WHERE id = ?",
                                            (team_id,)).fetchone())
        else:
            place = get_unit(conn, unit_id)
    return int(member_id), place, role


def link_refusal(storage: Storage, member_id: int, from_key: str, channel: str) -> str | None:
    """Why a /lienket code may not link `channel` to `member_id`, or None.

    A code only ever joins two different apps ('same_app'), and only while the identity that asked
    for it is still that member's, and the member is active ('issuer_gone')."""
    if from_key.partition(":")[0] == channel:
        return "same_app"
    row = storage.db.execute(
        "SELECT 1 FROM identities WHERE key = ? AND member_id = ?", [from_key, member_id]).fetchone()
    return None if row else "issuer_gone"


def unlink(storage: Storage, user_key: str, now: dt.datetime) -> list[str] | None:
    """Remove linked identities (audited). The identity that joined first stays: from it, every other
    identity goes; from another one, only that one. None when `user_key` is no member's."""
    with storage.transaction() as conn:
        row = conn.execute("SELECT member_id FROM identities WHERE key = ?", (user_key,)).fetchone()
        if row is None:
            return None
        member_id = row[0]
        keys = [k for (k,) in conn.execute(
            "SELECT key FROM identities WHERE member_id = ? ORDER BY linked_at, rowid", (member_id,))]
        removed = keys[1:] if user_key == keys[0] else [user_key]
        for key in removed:
            conn.execute("DELETE FROM identities WHERE key = ?", (key,))
            audit(conn, now, member_id, "identities", member_id, "unlink", {"key": key}, None)
    return removed


def team_of(storage: Storage, user_key: str) -> int | None:
    """The team of an active member's identity (for scoping, e.g. the leaders' inbox)."""
    row = storage.db.execute(
        "SELECT m.team_id FROM identities i JOIN members m ON m.id = i.member_id "
        "WHERE i.key = ? AND m.active = 1", [user_key]).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class MemberRow:
    id: int
    display_name: str
    role: str
    logs_this_month: int


def team_members(storage: Storage, team_id: int, month_start: dt.date) -> list[MemberRow]:
    """Active members of a team with their (not deleted) records since `month_start`."""
    rows = storage.db.execute(
        "SELECT m.id, m.display_name, m.role, "
        "(SELECT count(*) FROM records r WHERE r.member_id = m.id AND r.deleted = 0 AND r.helped_on >= ?) "
        "FROM members m WHERE m.team_id = ? AND m.active = 1 ORDER BY m.role = 'member', m.display_name",
        [month_start.isoformat(), team_id]).fetchall()
    return [MemberRow(*row) for row in rows]


def remove_member(storage: Storage, member_id: int, team_id: int, actor: int | None, now: dt.datetime) -> bool:
    """Soft-remove a member of `team_id` (active = 0); their records stay. False if not found."""
    with storage.transaction() as conn:
        row = conn.execute("SELECT role, active FROM members WHERE id = ? AND team_id = ?",
                           (member_id, team_id)).fetchone()
        if row is None or not row[1]:
            return False
        conn.execute("UPDATE members SET active = 0 WHERE id = ?", (member_id,))
        conn.execute("DELETE FROM invites WHERE created_by = ? AND uses < max_uses", (member_id,))
        audit(conn, now, actor, "members", member_id, "remove", {"active": 1, "role": row[0]},
              {"active": 0, "role": row[0]})
    return True
