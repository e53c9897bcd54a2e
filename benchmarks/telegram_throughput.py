"""Telegram throughput: updates handled per second, end to end, and latency.

The real python-telegram-bot Application (long polling, the shipped core and a SQLite file) talks to
the loopback fake Bot API from tests/fake_telegram.py, which runs in its own process so that the
measurement covers the bot's work only (both share this machine's cores). Two phases:

- burst: N updates from many users are queued at once; updates/second = N / (last reply - first update);
- paced: updates arrive at a steady rate; latency = reply sent - update queued, p50/p99, split into the
  wait until getUpdates handed the update out and the rest. The paced phase runs `--runs` times (3000
  updates each by default, the first second of each not counted: the poller and caches settle); the
  summary gives the median, the fastest and the spread of the runs' p99s. On a shared machine the spread
  between runs is larger than most changes: compare two checkouts by running them in turn, several times.

Each phase prints the bot's CPU per update (this process, all threads), the fake Bot API's (the other
process, on the same cores), the garbage collections in the bot's process, a latency histogram, and how
long the bot's and the fake's threads were runnable but waiting for a core (Linux schedstat: the machine's
other jobs), with the load average: the paced p99 follows that wait, not the bot's CPU per update. `--stalls` times how late a
2 ms timer on the event loop fires; `--blocks` times every event-loop callback (how long it held the loop,
and the SQLite commits, WAL checkpoints and matching inside the long ones); `--inline-checkpoints` leaves the
WAL checkpoints to SQLite, inside commits on the event loop, as before the checkpoint thread (bot/checkpoint.py);
`--sqlite` times the SQLite commits; `--profile` writes a cProfile;
`--split` splits the bot's CPU per update between the core (its matching, its conversation state) and the
channel (polling, dispatch, sending), without a profiler's overhead.
The fake's result is polled rather than awaited with FakeTelegram.wait_sent, which re-read every message
sent so far on each API call (its CPU grew with the square of the phase's length).

The flood limiter is kept but set not to throttle (Telegram's own ~30 messages/second per bot would
otherwise be what is measured); 429 answers would still be retried. Every update here is a person's
text in a private chat, which the adapter reads without building PTB's Update (`PlainText`); button
presses, groups and media go through PTB's objects and cost ~0.25 ms more each.

    python benchmarks/telegram_throughput.py [--updates 2000] [--users 400] [--rate 300] [--paced 3000]
        [--runs 3] [--warmup 1] [--stalls] [--blocks] [--profile FILE] [--sqlite] [--split]
        [--inline-checkpoints]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import itertools
import logging
import multiprocessing
import os
import platform
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
    pushed: dict[int, list[tuple[float, int]]] = defaultdict(list)  # chat id -> (time queued, update id)
    fetched_at: dict[int, float] = {}  # update id -> when getUpdates first handed it out
    state = {"base": 0, "expected": 0, "fetched": 0, "calls": 0, "cpu": 0.0}
    get_updates = fake.api_getUpdates

    async def timed_get_updates(params: dict) -> list:  # type: ignore[type-arg]
        batch = await get_updates(params)
        now = time.monotonic()
        for update in batch:
            fetched_at.setdefault(update["update_id"], now)
        return batch

    fake.api_getUpdates = timed_get_updates  # type: ignore[method-assign]

    async def push(request: web.Request) -> web.Response:
        body = await request.json()
        texts, users, rate = body["texts"], body["users"], float(body["rate"])
        state["base"], state["expected"], state["fetched"] = len(fake.sent), len(texts), fake.fetched
        state["calls"], state["cpu"] = len(fake.calls), time.process_time()
        pushed.clear()
        fetched_at.clear()

        async def feed() -> None:
            start = time.monotonic()
            for i, text in enumerate(texts):
                if rate:
                    delay = start + i / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                user = 10_000 + i % users
                queued = time.monotonic()
                update = await fake.push(fake.message(user, text, name=f"Người {user}"))
                pushed[user].append((queued, update["update_id"]))

        asyncio.get_running_loop().create_task(feed())
        return web.json_response({"ok": True})

    async def result(request: web.Request) -> web.Response:
        # Polled, not fake.wait_sent: that re-reads every message sent so far on each API call, which made
        # the fake's CPU grow with the square of the phase's length (on the cores the bot needs).
        deadline = time.monotonic() + 300
        while len(fake.sent) - state["base"] < state["expected"] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        cpu = time.process_time() - state["cpu"]
        await asyncio.sleep(0.5)  # anything beyond one reply per update would show up here
        sent = fake.sent[state["base"]:]
        times = fake.sent_at[state["base"]:]
        replies: dict[int, list[float]] = defaultdict(list)
        for message, at in zip(sent, times, strict=True):
            replies[message["chat"]["id"]].append(at)
        # (queued, fetched, replied) of each update: one user's replies come in the order of their updates
        rows = [(into, fetched_at.get(update_id, out), out) for chat, ins in pushed.items()
                for (into, update_id), out in zip(ins, replies[chat], strict=False)]
        first_in = min(row[0] for row in rows)
        return web.json_response({"sent": len(sent), "rows": [[a - first_in, b - first_in, c - first_in]
                                                              for a, b, c in rows],
                                  "elapsed": max(times) - first_in, "fetched": fake.fetched - state["fetched"],
                                  "fake_cpu": cpu,
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


class Pauses:
    """Garbage collections in this process while a phase runs (gc.callbacks): each stops the event loop."""

    def __init__(self) -> None:
        self.walls: list[float] = []
        self._start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:  # type: ignore[type-arg]
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.walls.append(time.perf_counter() - self._start)

    def take(self) -> list[float]:
        walls, self.walls = self.walls, []
        return walls


class Stalls:
    """How late a 2 ms timer on the event loop fires (--stalls): what blocks the loop, whatever it is, and
    the machine's other jobs taking the core. Costs ~500 wake-ups a second."""

    TICK = 0.002

    def __init__(self) -> None:
        self.lates: list[float] = []
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.TICK)
            self.lates.append(time.perf_counter() - start - self.TICK)

    def take(self) -> list[float]:
        lates, self.lates = self.lates, []
        return lates


class LoopBlocks:
    """How long each event-loop callback holds the loop (--blocks): every `Handle._run` timed in wall and
    thread CPU time (~2 us each), and inside it the labelled calls: SQLite commits (split into the ones
    during which a WAL checkpoint ran, read from the -shm file's backfill counter, and the others: with the
    checkpoint thread on, a checkpoint it finished during a commit counts too; wall
    time off the CPU and not waiting for a core is time blocked in I/O, from schedstat), the knowledge
    base's answer, and the session's load/save (JSON and SQL). A callback's wall time is what every other
    update waits behind it; its I/O-blocked part is what moving work off the loop can remove whatever the
    machine's load."""

    LONG = 0.005  # a callback at least this long (wall) is a "long block"

    def __init__(self, storage) -> None:  # type: ignore[no-untyped-def]
        import mmap

        from bot.storage import Storage
        from knowledge.kb import KnowledgeBase

        self.blocks: list[tuple[float, float, dict[str, float]]] = []  # (wall, cpu, labelled wall) of long ones
        self.walls: list[float] = []
        self.cpu = 0.0
        self.labels: dict[str, float] = defaultdict(float)  # wall per label over every callback
        self.io_blocked: dict[str, float] = defaultdict(float)  # SQLite commits' time blocked in I/O
        self.commit_cpu: dict[str, float] = defaultdict(float)  # and on the CPU
        self.counts: dict[str, int] = defaultdict(int)
        self.current: dict[str, float] | None = None
        self._outer: list[float] = []  # labelled calls in progress: the labelled time inside each so far
        self._inner = 0.0
        self._shm = None
        with contextlib.suppress(OSError, ValueError):
            with open(f"{storage.path}-shm", "rb") as f:
                self._shm = mmap.mmap(f.fileno(), 136, access=mmap.ACCESS_READ)
        handle_run = asyncio.events.Handle._run
        blocks = self

        def timed_run(handle):  # type: ignore[no-untyped-def]
            outer, blocks.current = blocks.current, {}
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return handle_run(handle)
            finally:
                wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
                blocks.walls.append(wall)
                blocks.cpu += cpu
                for label, spent in blocks.current.items():
                    blocks.labels[label] += spent
                if wall >= blocks.LONG:
                    blocks.current["@" + blocks.where(handle)] = 0.0
                    blocks.blocks.append((wall, cpu, blocks.current))
                blocks.current = outer

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)
        for owner, name, label in ((KnowledgeBase, "answer", "kb"), (Storage, "load_session", "session"),
                                   (Storage, "save_session", "session")):
            setattr(owner, name, self._timed(getattr(owner, name), label))
        transaction = storage.transaction

        @contextlib.contextmanager
        def timed_transaction():  # type: ignore[no-untyped-def]
            self._enter()
            backfill = self._backfill()
            start, (ran, waited) = time.perf_counter(), WriteClock.sched()
            try:
                with transaction() as conn:
                    yield conn
            finally:
                wall, (ran2, waited2) = time.perf_counter() - start, WriteClock.sched()
                label = "commit+checkpoint" if self._backfill() not in (backfill, 0) else "commit"
                self.counts[label] += 1
                self.io_blocked[label] += max(0.0, wall - (ran2 - ran) - (waited2 - waited))
                self.commit_cpu[label] += ran2 - ran
                self._add(label, wall)

        storage.transaction = timed_transaction

    @staticmethod
    def where(handle) -> str:  # type: ignore[no-untyped-def]
        """What a callback runs: its task's coroutine, or the function."""
        callback = getattr(handle, "_callback", None)
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            coro = owner.get_coro()
            return getattr(coro, "__qualname__", type(coro).__name__)
        return getattr(callback, "__qualname__", type(callback).__name__)

    _gc_start = 0.0

    def _on_gc(self, phase: str, info: dict) -> None:  # type: ignore[type-arg]
        if phase == "start":
            self._gc_start = time.perf_counter()
        elif self.current is not None:
            self.current["gc"] = self.current.get("gc", 0.0) + time.perf_counter() - self._gc_start

    def _backfill(self) -> int:
        """The WAL frames a checkpoint has copied into the database (WalCkptInfo.nBackfill in the -shm)."""
        if self._shm is None:
            return 0
        return int.from_bytes(self._shm[96:100], sys.byteorder)

    def _add(self, label: str, wall: float) -> None:
        """Count `wall` to `label`, less what labelled calls inside it took (counted to theirs)."""
        inner, self._inner = self._inner, self._outer.pop() if self._outer else 0.0
        self._inner += wall
        if self.current is not None:
            self.current[label] = self.current.get(label, 0.0) + wall - inner

    def _enter(self) -> None:
        self._outer.append(self._inner)
        self._inner = 0.0

    def _timed(self, fn, label: str):  # type: ignore[no-untyped-def]
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            self._enter()
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(label, time.perf_counter() - start)
        return timed

    def take(self) -> dict:  # type: ignore[type-arg]
        taken = {"walls": self.walls, "cpu": self.cpu, "blocks": self.blocks, "labels": dict(self.labels),
                 "io_blocked": dict(self.io_blocked), "commit_cpu": dict(self.commit_cpu), "counts": dict(self.counts)}
        self.walls, self.cpu, self.blocks = [], 0.0, []
        self.labels, self.io_blocked, self.counts = defaultdict(float), defaultdict(float), defaultdict(int)
        self.commit_cpu = defaultdict(float)
        return taken

    @staticmethod
    def lines(taken: dict, n: int) -> list[str]:  # type: ignore[type-arg]
        walls = [w * 1000 for w in taken["walls"]]
        if not walls:
            return ["  event loop: no callbacks timed"]
        labels, io, counts, ccpu = taken["labels"], taken["io_blocked"], taken["counts"], taken["commit_cpu"]
        long_ = sorted(taken["blocks"], key=lambda b: -b[0])
        in_long: dict[str, float] = defaultdict(float)
        places: dict[str, int] = defaultdict(int)
        for _wall, _, spent in long_:
            for label, t in spent.items():
                if label.startswith("@"):
                    places[label[1:]] += 1
                else:
                    in_long[label] += t
        out = [f"  event loop held {sum(walls) / n:.2f} ms per update ({taken['cpu'] / n * 1000:.2f} ms of it on the "
               f"CPU) in {len(walls) / n:.1f} callbacks; callback p99 {percentile(walls, 99):.2f} ms, max "
               f"{max(walls):.1f} ms; {len(long_)} over {LoopBlocks.LONG * 1000:.0f} ms "
               f"({sum(b[0] for b in long_) * 1000:.0f} ms in all: "
               + ", ".join(f"{k} {v * 1000:.0f}" for k, v in sorted(in_long.items(), key=lambda kv: -kv[1]))
               + ", the rest " + f"{(sum(b[0] for b in long_) - sum(in_long.values())) * 1000:.0f} ms)"]
        out.append("  labelled wall per update: " + ", ".join(
            f"{k} {v / n * 1000:.3f} ms" for k, v in sorted(labels.items(), key=lambda kv: -kv[1]))
            + "; SQLite commits: " + ", ".join(
            f"{counts[k]} {k} ({labels.get(k, 0.0) / max(1, counts[k]) * 1000:.2f} ms each, of it "
            f"{ccpu.get(k, 0.0) / max(1, counts[k]) * 1000:.2f} ms on the CPU and "
            f"{io.get(k, 0.0) / max(1, counts[k]) * 1000:.2f} ms blocked in I/O)" for k in sorted(counts)))
        out.append("  long ones run: " + ", ".join(f"{k} {v}" for k, v in sorted(places.items(), key=lambda kv: -kv[1])[:6]))
        out.append("  longest: " + "; ".join(
            f"{wall * 1000:.1f} ms (CPU {cpu * 1000:.1f}"
            + "".join(f", {k} {t * 1000:.1f}" for k, t in sorted(spent.items(), key=lambda kv: -kv[1])
                      if not k.startswith("@"))
            + "".join(f", in {k[1:]}" for k in spent if k.startswith("@")) + ")"
            for wall, cpu, spent in long_[:5]))
        return out


def sched(pid: int | str = "self") -> tuple[float, float]:
    """(seconds on a core, seconds runnable but waiting for one) summed over a process's threads, from
    Linux's per-thread schedstat: the second is what the machine's other jobs took from it ((0, 0) elsewhere)."""
    ran = waited = 0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                r, w, _ = (task / "schedstat").read_text().split()
                ran, waited = ran + int(r), waited + int(w)
    return ran / 1e9, waited / 1e9


def load_average() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


async def phase(session, base: str, texts: list[str], users: int, rate: float,  # type: ignore[no-untyped-def]
                pauses: Pauses, stalls: Stalls | None, split: CpuSplit | None = None, fake_pid: int | None = None,
                blocks: LoopBlocks | None = None) -> dict:
    pauses.take()
    if blocks is not None:
        blocks.take()
    if stalls is not None:
        stalls.take()
    if split is not None:
        split.take()
    cpu = time.process_time()
    start, bot0, fake0 = time.monotonic(), sched(), sched(fake_pid) if fake_pid else (0.0, 0.0)
    async with session.post(f"{base}/_bench/push", json={"texts": texts, "users": users, "rate": rate}) as r:
        r.raise_for_status()
    async with session.get(f"{base}/_bench/result", timeout=None) as r:
        r.raise_for_status()
        result = await r.json()
    result["cpu"] = time.process_time() - cpu
    bot1, fake1 = sched(), sched(fake_pid) if fake_pid else (0.0, 0.0)
    result["sched"] = {"wall": time.monotonic() - start, "bot_waited": bot1[1] - bot0[1],
                       "fake_waited": fake1[1] - fake0[1], "load": load_average()}
    result["gc"] = pauses.take()
    result["stalls"] = stalls.take() if stalls is not None else None
    result["split"] = split.take() if split is not None else None
    result["blocks"] = blocks.take() if blocks is not None else None
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
        """(seconds on a core, seconds runnable but waiting for one) of this thread; (CPU time, 0) elsewhere."""
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


class CpuSplit:
    """Where the bot's CPU per update goes (--split): the event loop thread's CPU time inside the core's
    `respond` (which, for a typed question, runs to its end without giving way to other tasks), inside the
    knowledge base's answer (matching and reading follow-ups) and the conversation state's load and save;
    the rest of the process's CPU is the channel's: polling, parsing, PTB's dispatch, sending the reply over
    HTTP, the event loop, other threads. Each wrapper adds ~1 us."""

    def __init__(self) -> None:
        from bot.channels import telegram as tg
        from bot.storage import Storage
        from knowledge.kb import KnowledgeBase

        self.spent: dict[str, float] = defaultdict(float)
        respond = tg.respond

        async def timed_respond(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.thread_time()
            try:
                return await respond(*args, **kwargs)
            finally:
                self.spent["respond"] += time.thread_time() - start

        tg.respond = timed_respond  # type: ignore[assignment]
        for owner, name, label in ((KnowledgeBase, "answer", "kb"), (Storage, "load_session", "session"),
                                   (Storage, "save_session", "session")):
            setattr(owner, name, self._timed(getattr(owner, name), label))

    def _timed(self, fn, label: str):  # type: ignore[no-untyped-def]
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[label] += time.thread_time() - start
        return timed

    def take(self) -> dict[str, float]:
        spent, self.spent = dict(self.spent), defaultdict(float)
        return spent

    @staticmethod
    def line(spent: dict[str, float], cpu: float, n: int) -> str:
        ms = {k: v / n * 1000 for k, v in spent.items()}
        core = ms.get("respond", 0.0)
        return (f"  CPU per update: core {core:.2f} ms (knowledge base {ms.get('kb', 0.0):.2f}, conversation "
                f"state {ms.get('session', 0.0):.2f}, the rest {core - ms.get('kb', 0.0) - ms.get('session', 0.0):.2f}); "
                f"channel and event loop {cpu / n * 1000 - core:.2f} ms")


def report(name: str, n: int, result: dict, warmup: float = 0.0) -> float:
    """Print one phase; the p99 of its latency (ms), over the updates queued after `warmup` seconds."""
    rows = [row for row in result["rows"] if row[0] >= warmup]
    lat = [(out - into) * 1000 for into, _, out in rows]
    wait = [(fetched - into) * 1000 for into, fetched, _ in rows]
    handle = [(out - fetched) * 1000 for _, fetched, out in rows]
    skipped = f" (the {len(result['rows']) - len(rows)} queued in the first {warmup:g} s not counted)" if warmup else ""
    gc_ms = [w * 1000 for w in result["gc"]]
    print(f"{name}: {n} updates, {result['sent']} replies in {result['elapsed']:.2f} s "
          f"-> {n / result['elapsed']:.0f} updates/s; latency{skipped} p50 {statistics.median(lat):.1f} ms, "
          f"p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms\n"
          f"  until fetched p50 {statistics.median(wait):.1f} / p99 {percentile(wait, 99):.1f} ms, fetched to "
          f"replied p50 {statistics.median(handle):.1f} / p99 {percentile(handle, 99):.1f} ms; "
          f"bot CPU {result['cpu'] / n * 1000:.2f} ms/update, fake Bot API {result['fake_cpu'] / n * 1000:.2f} "
          f"ms/update; {result['polls']} getUpdates calls, each update handed out {result['fetched'] / n:.2f} "
          f"times; {len(gc_ms)} garbage collections, {sum(gc_ms):.1f} ms in all, max "
          f"{max(gc_ms, default=0):.1f} ms")
    buckets = (5, 10, 20, 50, 100, 500)
    counts = [sum(lo <= x < hi for x in lat) for lo, hi in zip((0, *buckets), (*buckets, float("inf")), strict=True)]
    print("  latency histogram (ms): " + ", ".join(f"{label} {c}" for label, c in zip(
        [f"<{b}" for b in buckets] + [f">={buckets[-1]}"], counts, strict=True)))
    sch = result.get("sched")
    if sch:
        print(f"  waiting for a core (runnable, the machine's other jobs ran): bot {sch['bot_waited'] * 1000:.0f} ms, "
              f"fake Bot API {sch['fake_waited'] * 1000:.0f} ms over {sch['wall']:.1f} s "
              f"({sch['bot_waited'] / sch['wall']:.0%} and {sch['fake_waited'] / sch['wall']:.0%} of the phase); "
              f"load average {sch['load']:.1f} on {os.cpu_count()} CPU(s)")
        if sch["bot_waited"] > 0.1 * sch["wall"]:
            print("  (the bot waited for a core over 10% of the phase: its latency here measures the other jobs; "
                  "compare runs at a quiet time)")
    if result["stalls"] is not None:
        late = [x * 1000 for x in result["stalls"]]
        print(f"  event loop: a 2 ms timer fired late by p50 {statistics.median(late):.2f} ms, p99 "
              f"{percentile(late, 99):.1f} ms, max {max(late):.1f} ms; {sum(x > 10 for x in late)} times over 10 ms")
    if result.get("split") is not None:
        print(CpuSplit.line(result["split"], result["cpu"], n))
    if result.get("blocks") is not None:
        print("\n".join(LoopBlocks.lines(result["blocks"], n)))
    return percentile(lat, 99)


def spread(values: list[float]) -> str:
    return (f"median {statistics.median(values):.1f}, fastest {min(values):.1f}, spread {min(values):.1f}-"
            f"{max(values):.1f}")


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
    from tests.channelkit import free_port
    from tests.fake_telegram import TOKEN

    logging.basicConfig(level=logging.WARNING)
    port = free_port()  # held in TIME_WAIT until the child binds it
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
        if not args.inline_checkpoints:
            storage.start_checkpoints()  # as bot.runner.run_channels does
        channel = await tg.start(deps, web.Application(), poll_timeout=10, max_rate=None)
        heap.settle()  # as bot.runner does once its channels have started
        try:
            texts = questions()
            print(f"Telegram throughput on {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
                  f"python-telegram-bot {telegram.__version__}; knowledge base: {kb_name} "
                  f"({len(kb.entries)} entries); {len(texts)} distinct questions")
            print("Flood limiter: AIORateLimiter kept with throttling disabled (max_rate=None); "
                  "429 retries still on. Fake Bot API in a separate process.")
            pauses = Pauses()
            stalls = Stalls() if args.stalls else None
            split = CpuSplit() if args.split else None
            blocks = LoopBlocks(storage) if args.blocks else None
            await phase(session, base, texts[:50], 50, 0, pauses, stalls)  # warm up connections and caches
            if writes is not None:
                writes.reset()
            profiler = None
            if args.profile:
                import cProfile
                profiler = cProfile.Profile(time.thread_time)  # CPU time: what other jobs take is not counted
                profiler.enable()
            cycle = itertools.cycle(texts)
            if args.updates:
                burst = [next(cycle) for _ in range(args.updates)]
                report(f"burst ({args.users} users)", len(burst),
                       await phase(session, base, burst, args.users, 0, pauses, stalls, split, child.pid,
                                   blocks))
                if writes is not None:
                    print(f"  {writes.line()}")
                    writes.reset()
            p99s, p50s, cpus, waits = [], [], [], []
            for run in range(1, args.runs + 1):
                paced = [next(cycle) for _ in range(args.paced)]
                result = await phase(session, base, paced, args.users, args.rate, pauses, stalls, split, child.pid,
                                     blocks)
                p99s.append(report(f"paced at {args.rate:.0f}/s ({args.users} users), run {run} of {args.runs}",
                                   len(paced), result, args.warmup))
                rows = [row for row in result["rows"] if row[0] >= args.warmup]
                p50s.append(statistics.median((out - into) * 1000 for into, _, out in rows))
                cpus.append(result["cpu"] / len(paced) * 1000)
                waits.append(result["sched"]["bot_waited"] / result["sched"]["wall"] * 100)
                if writes is not None:
                    print(f"  {writes.line()}")
                    writes.reset()
            if args.runs > 1:
                print(f"paced over {args.runs} runs: p99 {spread(p99s)} ms; p50 {spread(p50s)} ms; "
                      f"bot CPU {spread(cpus)} ms/update; bot waiting for a core {spread(waits)}% of the phase")
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
    parser.add_argument("--updates", type=int, default=2000, help="updates in the burst phase (0: none)")
    parser.add_argument("--users", type=int, default=400, help="distinct users sending them")
    parser.add_argument("--rate", type=float, default=300, help="updates/second in the paced phase")
    parser.add_argument("--paced", type=int, default=3000, help="updates in each paced run")
    parser.add_argument("--runs", type=int, default=3, help="paced runs, one after the other")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="seconds at the start of each paced run whose updates are not counted")
    parser.add_argument("--stalls", action="store_true", help="time how late a 2 ms timer on the event loop fires")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the bot's process (both phases)")
    parser.add_argument("--split", action="store_true",
                        help="split the bot's CPU per update between the core (matching, state) and the channel")
    parser.add_argument("--blocks", action="store_true",
                        help="time every event-loop callback and the SQLite commits, checkpoints and matching in them")
    parser.add_argument("--inline-checkpoints", action="store_true",
                        help="leave WAL checkpoints to SQLite, inside commits on the event loop (as before r16-tg4)")
    parser.add_argument("--sqlite", action="store_true",
                        help="time the SQLite commits on the event loop (wall, blocked, waiting for a core)")
    asyncio.run(main(parser.parse_args()))
