"""The one generator of short codes people type (team invites, account links)."""

from __future__ import annotations

import secrets

# No look-alikes (I/L/O, 0/1): a code is read aloud and typed on a phone.
LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ"
LETTERS_AND_DIGITS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_code(alphabet: str = LETTERS, length: int = 6) -> str:
    """A random code from `alphabet`, with at least one letter: six digits typed on their own look
    like an OTP, and the safety guard masks them."""
    while True:
        code = "".join(secrets.choice(alphabet) for _ in range(length))
        if not code.isdigit():
            return code
