"""SIGTERM in the middle of a burst: the bot (a real `python -m bot run` process against the loopback
fakes) stops taking updates, finishes those in hand and exits cleanly; every update is then either
answered or still with the platform to be delivered again, and a restarted bot answers the rest once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from tests.channelkit import free_port

ROOT = Path(__file__).resolve().parent.parent
USERS = 2000  # at most; each burst goes on until the bot has stopped, however slow the machine is
ZALO_SECRET = "zalo-secret-graceful"


async def start_bot(tmp_path: Path, port: int, **env: str) -> asyncio.subprocess.Process:
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(tmp_path / "tcns.db"),
               "WEBHOOK_LISTEN": f"127.0.0.1:{port}", "BACKUP_TIME": "", "LOG_LEVEL": "INFO", **env}
    log = (tmp_path / "bot.log").open("ab")  # a file, not a pipe: a full pipe would block the bot's logging
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=environ,
                                                stdout=log, stderr=asyncio.subprocess.STDOUT)
    log.close()
    proc.log_path = tmp_path / "bot.log"  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 180  # a loaded machine takes over 30 s to import and load the KB
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise AssertionError(proc.log_path.read_text())  # type: ignore[attr-defined]
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError("the bot did not come up")


async def stop_bot(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(proc.wait(), 60)
    log = proc.log_path.read_text()  # type: ignore[attr-defined]
    assert proc.returncode == 0, log
    return log


def database_is_closed_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "tcns.db"
    wal = Path(str(db) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed at close
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


async def test_sigterm_during_a_telegram_burst(tfake, tmp_path):
    port = free_port()
    env = {"TELEGRAM_BOT_TOKEN": tfake.token, "TELEGRAM_BASE_URL": tfake.base_url}
    proc = await start_bot(tmp_path, port, **env)
    users = [5000 + i for i in range(USERS)]

    sent_to: list[int] = []

    async def feed() -> None:  # members keep writing while the bot is told to stop, and after it stopped
        after_exit = 0
        for user in users:
            await tfake.push_text("/chude", user_id=user)
            sent_to.append(user)
            after_exit += proc.returncode is not None
            if after_exit >= 5:
                break
            await asyncio.sleep(0.004)

    feeding = asyncio.create_task(feed())
    await tfake.wait_for(lambda: len(tfake.sent) >= 10, timeout=30)
    log = await stop_bot(proc)
    await feeding
    users = sent_to
    assert "Stopping" in log
    database_is_closed_cleanly(tmp_path)

    answered = Counter(m["chat"]["id"] for m in tfake.sent)
    pending = {u["message"]["chat"]["id"] for u in tfake.pending}
    assert 10 <= len(answered) and set(answered) | pending == set(users)
    assert not set(answered) & pending  # nothing answered and still offered again
    assert pending, "the burst ended before SIGTERM; it proves nothing"

    proc = await start_bot(tmp_path, port, **env)  # the platform delivers the rest to the new process
    await tfake.wait_for(lambda: {m["chat"]["id"] for m in tfake.sent} == set(users), timeout=60)
    await stop_bot(proc)
    assert Counter(m["chat"]["id"] for m in tfake.sent) == Counter(set(users))  # each answered exactly once


async def test_sigterm_during_a_zalo_webhook_burst(zfake, tmp_path):
    port = free_port()
    env = {"ZALO_BOT_TOKEN": zfake.token, "ZALO_BASE_URL": zfake.base_url,
           "ZALO_WEBHOOK_URL": "https://bot.example.vn/zalo", "ZALO_WEBHOOK_SECRET": ZALO_SECRET}
    proc = await start_bot(tmp_path, port, **env)
    url = f"http://127.0.0.1:{port}/zalo"
    users = [f"{i:04x}afa66b88fe6d6a9" for i in range(USERS)]
    statuses: dict[str, int] = {}
    events = {user: zfake.event("/chude", user=user) for user in users}  # redelivered as they are

    async def deliver(user: str) -> None:
        try:
            statuses[user] = await zfake.post_webhook(url, events[user], secret=ZALO_SECRET)
        except aiohttp.ClientError:
            statuses[user] = 0  # connection refused: Zalo keeps it and retries

    async def feed() -> list[asyncio.Task]:  # deliveries go on until a few were refused
        burst = []
        for user in users:
            if sum(status != 200 for status in statuses.values()) >= 5:
                break
            burst.append(asyncio.create_task(deliver(user)))
            await asyncio.sleep(0.004)
        return burst

    feeding = asyncio.create_task(feed())
    await zfake.wait_for(lambda: len(zfake.texts()) >= 10, timeout=30)
    await stop_bot(proc)
    await asyncio.gather(*await feeding)
    database_is_closed_cleanly(tmp_path)
    users = list(statuses)

    accepted = {u for u, status in statuses.items() if status == 200}
    refused = set(users) - accepted
    answered = Counter(m["chat_id"] for m in zfake.sent())
    assert set(answered) == accepted, "every delivery the bot acknowledged was answered before it exited"
    assert refused and all(statuses[u] != 200 for u in refused)

    proc = await start_bot(tmp_path, port, **env)
    for user in sorted(refused):  # Zalo's redelivery of what was not acknowledged
        assert await zfake.post_webhook(url, events[user], secret=ZALO_SECRET) == 200
    await zfake.wait_for(lambda: {m["chat_id"] for m in zfake.sent()} == set(users), timeout=60)
    await stop_bot(proc)
    assert Counter(m["chat_id"] for m in zfake.sent()) == Counter(set(users))
