"""Account links (/lienket): short-lived link codes and the identities they add to a member
(data access only, no replies). Every write runs in one transaction, with its audit row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .audit import audit
from .clock import iso
from .codes import LETTERS, new_code
from .storage import Storage

CODE_LENGTH = 6
LIFETIME = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class LinkCode:
    member_id: int
    from_key: str  # the identity that asked for the code
    expires_at: str

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at <= iso(now)


def issue_code(storage: Storage, member_id: int, from_key: str, now: dt.datetime) -> str:
    """A new code for `member_id` (letters only: never mistaken for an OTP); older ones are dropped."""
    code = new_code(LETTERS, CODE_LENGTH)
    with storage.transaction() as conn:
        conn.execute("DELETE FROM link_codes WHERE member_id = ? OR expires_at <= ?", (member_id, iso(now)))
        conn.execute("INSERT INTO link_codes (code, member_id, from_key, expires_at) VALUES (?, ?, ?, ?)",
                     (code, member_id, from_key, iso(now + LIFETIME)))
        audit(conn, now, member_id, "link_codes", member_id, "create", None,
              {"from": from_key, "expires_at": iso(now + LIFETIME)})
    return code


def find_code(storage: Storage, code: str) -> LinkCode | None:
    row = storage.db.execute("SELECT member_id, from_key, expires_at FROM link_codes WHERE code = ?",
                             [code]).fetchone()
    return LinkCode(*row) if row else None


def drop_code(storage: Storage, code: str, now: dt.datetime) -> None:
    """Forget an expired code someone typed."""
    with storage.transaction() as conn:
        row = conn.execute("SELECT member_id FROM link_codes WHERE code = ?", (code,)).fetchone()
        if row is None:
            return
        conn.execute("DELETE FROM link_codes WHERE code = ?", (code,))
        audit(conn, now, None, "link_codes", row[0], "expire", None, None)


def active_name(storage: Storage, member_id: int) -> str | None:
    """The member's display name while the member is active; None otherwise."""
    row = storage.db.execute("SELECT display_name, active FROM members WHERE id = ?", [member_id]).fetchone()
    return row[0] if row and row[1] else None


def member_of(storage: Storage, user_key: str) -> int | None:
    """The member an identity belongs to, if any."""
    row = storage.db.execute("SELECT member_id FROM identities WHERE key = ?", [user_key]).fetchone()
    return row[0] if row else None


def chat_of(storage: Storage, user_key: str) -> str | None:
    """Where to reach an identity with a message of our own."""
    row = storage.db.execute("SELECT chat_id FROM identities WHERE key = ?", [user_key]).fetchone()
    return row[0] if row else None


def use_code(storage: Storage, code: str, link: LinkCode, user_key: str, chat_id: str, now: dt.datetime,
             add_identity: bool) -> None:
    """Spend `code`; with `add_identity`, `user_key` joins the code's member (audited as a link)."""
    with storage.transaction() as conn:
        conn.execute("DELETE FROM link_codes WHERE code = ?", (code,))
        if add_identity:
            conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                         (user_key, link.member_id, chat_id, iso(now)))
            audit(conn, now, link.member_id, "identities", link.member_id, "link", None,
                  {"key": user_key, "from": link.from_key})
        else:  # the code was spent on the identity it came from, or one already linked: nothing new
            audit(conn, now, link.member_id, "link_codes", link.member_id, "delete", None, {"used_by": user_key})
