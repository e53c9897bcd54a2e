"""Waiting in tests for something to happen: a condition, with a generous ceiling, never a fixed sleep.

A fixed sleep is a guess at how long the bot takes; on a loaded CI machine the guess is wrong and the test
fails (or, for "nothing more happens" checks, passes without proving anything). The ceiling only bounds a
test that is going to fail anyway, so it can be generous.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

CEILING = 30.0  # seconds


async def until(condition: Callable[[], Any], what: str, timeout: float = CEILING) -> None:
    """Return once `condition()` is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.01)
