"""Telegram throughput: updates handled per second, end to end, and latency.

The real python-telegram-bot Application (long polling, the shipped core and a SQLite file) talks to
the loopback fake Bot API from tests/fake_telegram.py, which runs in its own process so that the
measurement covers the bot's work only (both share this machine's cores). Two phases:

- burst: N updates from many users are queued at once; updates/second = N / (last reply - first update);
- paced: updates arrive at a steady rate; latency = reply sent - update queued, p50/p99.

The flood limiter is kept but set not to throttle (Telegram's own ~30 messages/second per bot would
otherwise be what is measured); 429 answers would still be retried. Every update here is a person's
text in a private chat, which the adapter reads without building PTB's Update (`PlainText`); button
presses, groups and media go through PTB's objects and cost ~0.25 ms more each.

    python benchmarks/telegram_throughput.py [--updates 2000] [--users 400] [--rate 300] [--paced 1500]
        [--profile FILE] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import logging
import multiprocessing
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# --- the fake, in a child process -----------------------------------------------------------------

def serve_fake(port: int) -> None:
    asyncio.run(_serve_fake(port))


async def _serve_fake(port: int) -> None:
    from aiohttp import web

    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram()
    pushed: dict[int, list[float]] = defaultdict(list)  # chat id -> times its updates were queued
    state = {"base": 0, "expected": 0, "fetched": 0, "calls": 0}

    async def push(request: web.Request) -> web.Response:
        body = await request.json()
        texts, users, rate = body["texts"], body["users"], float(body["rate"])
        state["base"], state["expected"], state["fetched"] = len(fake.sent), len(texts), fake.fetched
        state["calls"] = len(fake.calls)
        pushed.clear()

        async def feed() -> None:
            start = time.monotonic()
            for i, text in enumerate(texts):
                if rate:
                    delay = start + i / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                user = 10_000 + i % users
                pushed[user].append(time.monotonic())
                await fake.push(fake.message(user, text, name=f"Người {user}"))

        asyncio.get_running_loop().create_task(feed())
        return web.json_response({"ok": True})

    async def result(request: web.Request) -> web.Response:
        expected = state["expected"]
        await fake.wait_sent(count=expected, after=state["base"], timeout=300)
        await asyncio.sleep(0.5)  # anything beyond one reply per update would show up here
        sent = fake.sent[state["base"]:]
        times = fake.sent_at[state["base"]:]
        replies: dict[int, list[float]] = defaultdict(list)
        for message, at in zip(sent, times, strict=True):
            replies[message["chat"]["id"]].append(at)
        latencies = [out - into for chat, ins in pushed.items()
                     for into, out in zip(ins, replies[chat], strict=False)]
        first_in = min(t for ins in pushed.values() for t in ins)
        return web.json_response({"sent": len(sent), "latencies": latencies,
                                  "elapsed": max(times) - first_in, "fetched": fake.fetched - state["fetched"],
                                  "polls": sum(method == "getUpdates" for method, _ in fake.calls[state["calls"]:])})

    await fake.start(port, [web.post("/_bench/push", push), web.get("/_bench/result", result)])
    await asyncio.Event().wait()


# --- the bot, in this process ----------------------------------------------------------------------

def questions() -> list[str]:
    """Real user phrasings from the evaluation set (typed without diacritics, abbreviations...)."""
    texts = []
    for path in sorted((ROOT / "benchmarks" / "eval").glob("*.tsv")):
        with path.open(encoding="utf-8") as f:
            texts += [row["question"] for row in csv.DictReader(f, delimiter="\t") if row["question"].strip()]
    # A lone number picks a listed choice or gets a hint: always exactly one reply, like the rest.
    return texts or ["kich hoat vneid ko dc"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def phase(session, base: str, texts: list[str], users: int, rate: float) -> dict:  # type: ignore[no-untyped-def]
    cpu = time.process_time()
    async with session.post(f"{base}/_bench/push", json={"texts": texts, "users": users, "rate": rate}) as r:
        r.raise_for_status()
    async with session.get(f"{base}/_bench/result", timeout=None) as r:
        r.raise_for_status()
        result = await r.json()
    result["cpu"] = time.process_time() - cpu
    return result


class WriteClock:
    """Where the event loop's thread spends SQLite commits: on its own CPU, waiting for a core (the machine is
    shared), or blocked (disk I/O, locks). Linux's per-thread schedstat tells the last two apart."""

    def __init__(self) -> None:
        self.walls: list[float] = []
        self.blocked = 0.0
        self.queued = 0.0

    @staticmethod
    def sched() -> tuple[float, float]:
        try:
            with open("/proc/thread-self/schedstat") as f:
                ran, waited, _ = f.read().split()
            return int(ran) / 1e9, int(waited) / 1e9
        except (OSError, ValueError):
            return time.thread_time(), 0.0

    def reset(self) -> None:
        self.walls, self.blocked, self.queued = [], 0.0, 0.0

    def line(self) -> str:
        if not self.walls:
            return "no SQLite commits"
        walls = [w * 1000 for w in self.walls]
        return (f"{len(walls)} SQLite commits on the event loop: {sum(walls):.0f} ms in all, of which "
                f"{self.blocked * 1000:.0f} ms blocked (I/O, locks) and {self.queued * 1000:.0f} ms waiting for "
                f"a core; p99 {percentile(walls, 99):.2f} ms, max {max(walls):.1f} ms, "
                f"{sum(w > 5 for w in walls)} over 5 ms")


def time_writes(storage) -> WriteClock:  # type: ignore[no-untyped-def]
    clock = WriteClock()
    transaction = storage.transaction

    @contextlib.contextmanager
    def timed():  # type: ignore[no-untyped-def]
        start, (ran, waited) = time.perf_counter(), clock.sched()
        with transaction() as conn:
            yield conn
        wall, (ran2, waited2) = time.perf_counter() - start, clock.sched()
        clock.walls.append(wall)
        clock.queued += waited2 - waited
        clock.blocked += max(0.0, wall - (ran2 - ran) - (waited2 - waited))

    storage.transaction = timed
    return clock


def report(name: str, n: int, result: dict) -> None:
    lat = [x * 1000 for x in result["latencies"]]
    print(f"{name}: {n} updates, {result['sent']} replies in {result['elapsed']:.2f} s "
          f"-> {n / result['elapsed']:.0f} updates/s; latency p50 {statistics.median(lat):.1f} ms, "
          f"p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms; "
          f"bot CPU {result['cpu'] / n * 1000:.2f} ms/update; {result['polls']} getUpdates calls, which handed "
          f"out each update {result['fetched'] / n:.2f} times")


async def main(args: argparse.Namespace) -> None:
    import aiohttp
    import telegram
    from aiohttp import web

    from bot import heap
    from bot.app import compose
    from bot.channels import telegram as tg
    from bot.config import Settings
    from bot.storage import Storage
    from knowledge.kb import KnowledgeBase
    from knowledge.loader import load
    from tests.fake_telegram import TOKEN

    logging.basicConfig(level=logging.WARNING)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = multiprocessing.get_context("spawn").Process(target=serve_fake, args=(port,), daemon=True)
    child.start()
    base = f"http://127.0.0.1:{port}"
    tmp = tempfile.TemporaryDirectory()
    kb = KnowledgeBase.load()
    kb_name = "shipped"
    if not kb.entries:
        kb, kb_name = KnowledgeBase(load(shipped_dir=ROOT / "tests" / "fixtures" / "kb")), "test fixture"
    settings = Settings(database_path=Path(tmp.name) / "bench.db", telegram_bot_token=TOKEN,
                        telegram_base_url=f"{base}/bot")
    storage = Storage(settings.database_path)
    writes = time_writes(storage) if args.sqlite else None
    deps = compose(settings=settings, storage=storage, kb=kb)
    async with aiohttp.ClientSession() as session:
        for _ in range(100):  # wait for the child to listen
            try:
                async with session.get(f"{base}/bot{TOKEN}/getMe"):
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        channel = await tg.start(deps, web.Application(), poll_timeout=10, max_rate=None)
        heap.settle()  # as bot.runner does once its channels have started
        try:
            texts = questions()
            print(f"Telegram throughput on {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
                  f"python-telegram-bot {telegram.__version__}; knowledge base: {kb_name} "
                  f"({len(kb.entries)} entries); {len(texts)} distinct questions")
            print("Flood limiter: AIORateLimiter kept with throttling disabled (max_rate=None); "
                  "429 retries still on. Fake Bot API in a separate process.")
            await phase(session, base, texts[:50], 50, 0)  # warm up connections and caches
            if writes is not None:
                writes.reset()
            profiler = None
            if args.profile:
                import cProfile
                profiler = cProfile.Profile(time.thread_time)  # CPU time: what other jobs take is not counted
                profiler.enable()
            cycle = itertools.cycle(texts)
            burst = [next(cycle) for _ in range(args.updates)]
            report(f"burst ({args.users} users)", len(burst), await phase(session, base, burst, args.users, 0))
            if writes is not None:
                print(f"  {writes.line()}")
                writes.reset()
            paced = [next(cycle) for _ in range(args.paced)]
            report(f"paced at {args.rate:.0f}/s ({args.users} users)", len(paced),
                   await phase(session, base, paced, args.users, args.rate))
            if writes is not None:
                print(f"  {writes.line()}")
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
                print(f"cProfile of the bot's process over both phases: {args.profile} (CPU time of the event loop's thread, inflated by the profiler)")
        finally:
            await channel.stop()
            storage.close()
            child.terminate()
            tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=2000, help="updates in the burst phase")
    parser.add_argument("--users", type=int, default=400, help="distinct users sending them")
    parser.add_argument("--rate", type=float, default=300, help="updates/second in the paced phase")
    parser.add_argument("--paced", type=int, default=1500, help="updates in the paced phase")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the bot's process (both phases)")
    parser.add_argument("--sqlite", action="store_true",
                        help="time the SQLite commits on the event loop (wall, blocked, waiting for a core)")
    asyncio.run(main(parser.parse_args()))
