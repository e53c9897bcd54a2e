"""Zalo adapter under load: webhook events in, answers out, against the loopback fake Bot API.

Run: `python benchmarks/zalo_load.py [--users 50] [--messages 10]`. Prints throughput and the
latency from the webhook POST to the answer reaching the (fake) Zalo server. Uses the shipped
knowledge base and a throw-away database; no network beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp.test_utils import TestServer

from bot.app import build_deps
from bot.channels import zalo
from bot.config import Settings
from bot.runner import build_web_app
from tests.fake_zalo import FakeZalo

QUESTIONS = ["kich hoat vneid ko dc", "quen mat khau vneid", "nop ho so truc tuyen the nao",
             "co nguoi goi xung cong an bao chuyen tien", "mo tai khoan ngan hang can gi", "1"]
SECRET = "benchmark-secret"


class TimedFake(FakeZalo):
    """Also notes when each answer arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, list[float]] = {}

    async def _m_sendMessage(self, body: dict[str, Any]):  # type: ignore[override]
        response = await super()._m_sendMessage(body)
        self.arrivals.setdefault(str(body.get("chat_id")), []).append(time.perf_counter())
        return response


async def run(users: int, messages: int) -> None:
    fake = await TimedFake().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(Settings(database_path=Path(tmp) / "bench.db"), zalo_bot_token=fake.token,
                           zalo_base_url=fake.base_url, zalo_webhook_url="https://bench.example.vn/zalo",
                           zalo_webhook_secret=SECRET)
        deps = build_deps(settings)
        web_app = build_web_app(deps)
        channel = await zalo.start(deps, web_app)
        server = TestServer(web_app, host="127.0.0.1")
        await server.start_server()
        url = str(server.make_url("/zalo"))
        sent_at: dict[str, list[float]] = {}

        async def user(n: int) -> None:
            uid = f"user{n:04d}"
            for i in range(messages):
                before = len(fake.arrivals.get(uid, []))
                sent_at.setdefault(uid, []).append(time.perf_counter())
                event = fake.event(QUESTIONS[(n + i) % len(QUESTIONS)], user=uid)
                await fake.post_webhook(url, event, secret=SECRET)
                # A person reads the answer before typing again.
                await fake.wait_for(lambda uid=uid, before=before: len(fake.arrivals.get(uid, [])) > before, 30)

        started = time.perf_counter()
        await asyncio.gather(*(user(n) for n in range(users)))
        elapsed = time.perf_counter() - started
        await channel.stop()
        await server.close()
        deps.storage.close()
    await fake.close()

    latencies = sorted(
        (arrived[0] - sent) * 1000
        for uid, sends in sent_at.items()
        for sent, arrived in zip(sends, _first_answers(fake.arrivals[uid], sends), strict=False)
    )
    total = users * messages
    print(f"users={users} messages/user={messages} total={total}")
    print(f"throughput: {total / elapsed:.0f} messages/s over {elapsed:.2f} s")
    print(f"latency webhook POST -> answer at Zalo: p50 {statistics.median(latencies):.1f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f} ms, max {latencies[-1]:.1f} ms")


def _first_answers(arrivals: list[float], sends: list[float]) -> list[list[float]]:
    """For each send, the arrivals after it (the first one is its answer)."""
    return [[t for t in arrivals if t >= sent] for sent in sends]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(run(args.users, args.messages))


if __name__ == "__main__":
    main()
