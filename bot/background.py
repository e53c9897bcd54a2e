"""Background jobs (digest, reminders, daily maintenance): one task each, kept in deps.services.jobs.

The runner calls the on-start hooks once the channels are up and the on-stop hooks before it closes
the database; a job's task is cancelled there and awaited, whatever it was doing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from .core import Deps, Hook


def start_job(deps: Deps, key: str, job: Callable[[], Coroutine[Any, Any, None]], name: str) -> bool:
    """Run `job()` as the task `key` unless it already runs; True when it was started now."""
    if deps.services.jobs.get(key) is not None:
        return False
    deps.services.jobs[key] = asyncio.create_task(job(), name=name)
    return True


async def stop_job(deps: Deps, key: str) -> None:
    """Cancel the task `key` and wait until it has ended."""
    task = deps.services.jobs.pop(key, None)
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def install(deps: Deps, start: Hook, stop: Hook) -> None:
    """Register a job's start and stop hooks with the runner."""
    deps.services.on_start.append(start)
    deps.services.on_stop.append(stop)
