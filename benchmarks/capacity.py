"""Capacity: how many active members one bot process serves with p99 reply < 1 s.

The bot is a real `python -m bot run` process (runner, metrics, scheduler, SQLite file) on Telegram long
polling against the loopback fake Bot API (tests/fake_telegram.py), which runs in this process together
with the load driver. A population of teams (one leader, nine members each) is registered first through
the real core. Then, step by step, actions arrive at a rising rate (Poisson), each by a member or leader
not already busy:

- 60 % a member asks a question (a real phrasing from benchmarks/eval: 1 update);
- 30 % a member logs a visit with the one-line form, "/ghi <tên>; <thôn>; <việc>", answers "Có phải hộ
  này không?" when asked and presses "Lưu" (2-3 updates, each waiting for the previous reply);
- 9 % a leader asks for this week's report (/baocao tuan), 1 % for the month's Excel file (/xuat thang).

Latency is measured per update, from the moment the update is offered to the bot to the first reply
message reaching the fake. A step passes when p99 < 1 s and no update went unanswered (10 s limit).
Each step also shows the bot process's CPU (share of one core, and milliseconds per update) and this
harness's own CPU: when the harness nears 100 % it, not the bot, is what limits the step.

    python benchmarks/capacity.py [--teams 60] [--steps 2,5,10,15,20,30,40] [--seconds 15] [--unthrottled]

By default the bot runs as shipped, with Telegram's flood limit (30 messages/second per bot) enforced by
its rate limiter, which is what a real deployment meets first. `--unthrottled` starts the same bot with
the limiter's throttling off to find where this machine's CPU gives out instead.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import itertools
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channelkit import free_port  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE = ["Văn", "Thị", "Đức", "Ngọc", "Minh", "Quang", "Hữu", "Thanh", "Xuân", "Công"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Lan", "Long", "Mai", "Nam", "Nga"]
VILLAGES = ["Xuân Thượng", "Xuân Hạ", "Đồng Tâm", "Thượng Lâm", "Bình Minh"]
ALIASES = ["vneid", "vneid2", "giayto", "dvc", "hoso", "nganhang", "sth", "momo", "qr", "ansinh"]
LIMIT = 10.0  # seconds before an update counts as unanswered
# Peak-hour behaviour of one active member, for turning a sustained rate into a number of members:
# 4 questions and 3 logged visits in the busiest hour; one leader per ten members adds a report.
ACTIONS_PER_MEMBER_HOUR = 4 + 3 + 0.1
PEAK_FACTOR = 3  # the busiest minutes run at three times that hour's average rate

UNTHROTTLED_LAUNCHER = (
    "import sys; from bot.channels import telegram as t; t.start.__kwdefaults__['max_rate'] = None; "
    "from bot.__main__ import main; sys.exit(main(['run']))")


class Fake(FakeTelegram):
    """The fake Bot API, also handing each sent message to the chat's queue with its arrival time."""

    def __init__(self) -> None:
        super().__init__()
        self.inbox: dict[int, asyncio.Queue[tuple[float, dict[str, Any]]]] = defaultdict(asyncio.Queue)

    async def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        message = await super()._record(message)
        self.inbox[message["chat"]["id"]].put_nowait((time.monotonic(), message))
        return message


@dataclass
class Step:
    rate: float
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    unanswered: int = 0
    unexpected: int = 0
    skipped: int = 0
    actions: int = 0
    cpu: float = 0.0
    harness_cpu: float = 0.0  # this process: the fake Bot API and the driver
    seconds: float = 0.0


def questions() -> list[str]:
    texts = []
    for path in sorted((ROOT / "benchmarks" / "eval").glob("*.tsv")):
        with path.open(encoding="utf-8") as f:
            texts += [row["question"] for row in csv.DictReader(f, delimiter="\t") if row["question"].strip()]
    return texts or ["kich hoat vneid ko dc", "cach chuyen tien qua ma qr", "quen mat khau dvc"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


class Driver:
    def __init__(self, fake: Fake, rng: random.Random) -> None:
        self.fake, self.rng = fake, rng
        self.texts = itertools.cycle(rng.sample(questions(), len(questions())))
        self.step: Step | None = None

    async def update(self, user: int, kind: str, text: str | None = None,
                     press: tuple[dict[str, Any], str] | None = None) -> dict[str, Any] | None:
        """Offer one update from `user`; the first reply message (timed), or None when none came."""
        inbox = self.fake.inbox[user]
        while not inbox.empty():  # leftovers of an earlier reply
            inbox.get_nowait()
        start = time.monotonic()
        if press is not None:
            await self.fake.push_callback(press[0], press[1], user_id=user, name=f"Người {user}")
        else:
            await self.fake.push_text(text or "", user_id=user, name=f"Người {user}")
        try:
            at, message = await asyncio.wait_for(inbox.get(), LIMIT)
        except TimeoutError:
            self.step.unanswered += 1
            return None
        self.step.latencies.append(at - start)
        self.step.by_kind[kind].append(at - start)
        return message

    async def until(self, user: int, first: dict[str, Any], want: str) -> dict[str, Any] | None:
        """The reply message (the first or one right after it) with a button containing `want`."""
        message = first
        for _ in range(3):
            if any(want in b["text"] for b in buttons(message)):
                return message
            try:
                _, message = await asyncio.wait_for(self.fake.inbox[user].get(), LIMIT)
            except TimeoutError:
                return None
        return None

    async def ask(self, user: int) -> None:
        await self.update(user, "ask", next(self.texts))

    async def log_visit(self, user: int) -> None:
        rng = self.rng
        head = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        services = ", ".join(rng.sample(ALIASES, rng.randint(1, 3)))
        first = await self.update(user, "log", f"/ghi {head}; {rng.choice(VILLAGES)}; {services}")
        if first is None:
            return
        if "Có phải hộ này" in first.get("text", ""):
            new = next((b for b in buttons(first) if "hộ mới" in b["text"]), None)
            if new is None:
                self.step.unexpected += 1
                return
            first = await self.update(user, "log", press=(first, new["callback_data"]))
            if first is None:
                return
        summary = await self.until(user, first, "Lưu")
        if summary is None:
            self.step.unexpected += 1
            return
        save = next(b for b in buttons(summary) if "Lưu" in b["text"])
        done = await self.update(user, "log", press=(summary, save["callback_data"]))
        if done is not None and "Số phiếu" not in done.get("text", ""):
            self.step.unexpected += 1

    async def report(self, user: int) -> None:
        await self.update(user, "report", "/baocao tuan")

    async def export(self, user: int) -> None:
        await self.update(user, "export", "/xuat thang")


def admins(teams: int) -> frozenset[str]:
    return frozenset({"telegram:1"})


async def seed(database: Path, teams: int, rng: random.Random) -> tuple[list[int], list[int]]:
    """Register the population through the real core, as Telegram users; a few past visits each."""
    from bot.app import compose
    from bot.assist import Draft, save_record
    from bot.config import Settings
    from bot.core import Incoming, respond
    from bot.storage import Storage
    from knowledge.kb import KnowledgeBase

    settings = Settings(database_path=database, admin_ids=admins(teams))
    store = Storage(database)
    deps = compose(settings=settings, storage=store, kb=KnowledgeBase([]))

    async def say(user: int, text: str, pick: str = "") -> str:
        incoming = Incoming("telegram", str(user), str(user), text=text, display_name=f"Người {user}")
        replies = await respond(incoming, deps)
        choice = next((c for r in replies for c in r.choices if pick and c.label.startswith(pick)), None)
        if choice is not None:  # an admin of several teams is asked which team the invitation is for
            replies = await respond(Incoming("telegram", str(user), str(user), payload=choice.payload), deps)
        return "\n".join(r.text for r in replies)

    def code(text: str) -> str:
        return text.split("/thamgia ", 1)[1].split()[0]

    leaders, members = [], []
    uid = itertools.count(100_000)
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=7)))
    admin = 1
    for t in range(teams):
        await say(admin, f"/taoto Tổ CNS {t}; Xã {t}; {', '.join(VILLAGES)}")
        leader = next(uid)
        await say(leader, f"/thamgia {code(await say(admin, '/moi totruong', f'Tổ CNS {t} ('))}")
        leaders.append(leader)
        for _ in range(9):
            member = next(uid)
            await say(member, f"/thamgia {code(await say(leader, '/moi'))}")
            members.append(member)
    team_of = dict(store.db.execute("SELECT i.key, m.team_id FROM identities i JOIN members m ON m.id = i.member_id"))
    member_id = dict(store.db.execute("SELECT key, member_id FROM identities"))
    villages = defaultdict(list)
    for vid, team in store.db.execute("SELECT id, team_id FROM villages"):
        villages[team].append(vid)
    for n, member in enumerate(members * 5):  # five past visits per member, over the last three weeks
        key = f"telegram:{member}"
        save_record(store, Draft(request_id=f"seed-{n}", team_id=team_of[key], member_id=member_id[key],
                                 village_id=rng.choice(villages[team_of[key]]), services=["vneid2"],
                                 head_name=f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
                                 helped_on=(now.date() - dt.timedelta(days=rng.randrange(21))).isoformat()), now)
    store.close()
    return leaders, members


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_step(driver: Driver, step: Step, seconds: float, leaders: list[int], members: list[int],
                   pid: int) -> None:
    driver.step = step
    rng = driver.rng
    busy: set[int] = set()
    tasks: set[asyncio.Task] = set()

    async def act(user: int, action) -> None:
        try:
            await action(user)
        finally:
            busy.discard(user)

    cpu0, own0, start = cpu_seconds(pid), time.process_time(), time.monotonic()
    next_at = start
    while next_at - start < seconds:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        roll = rng.random()
        pool, action = ((members, driver.ask) if roll < 0.6 else (members, driver.log_visit) if roll < 0.9
                        else (leaders, driver.report) if roll < 0.99 else (leaders, driver.export))
        user = rng.choice(pool)
        if user in busy:
            step.skipped += 1
        else:
            busy.add(user)
            step.actions += 1
            task = asyncio.create_task(act(user, action))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        next_at += rng.expovariate(step.rate)
    if tasks:
        await asyncio.wait(tasks, timeout=LIMIT * 4)
    step.seconds = time.monotonic() - start
    step.cpu = cpu_seconds(pid) - cpu0
    step.harness_cpu = time.process_time() - own0


async def main(args: argparse.Namespace) -> None:
    import aiohttp

    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="capacity-"))
    t0 = time.monotonic()
    leaders, members = await seed(tmp / "tcns.db", args.teams, rng)
    print(f"Capacity on {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at start, Python "
          f"{platform.python_version()}; {len(leaders)} leaders and {len(members)} members registered "
          f"({len(members) * 5} past visits) in {time.monotonic() - t0:.0f} s; "
          f"{'throttling OFF' if args.unthrottled else 'flood limiter as shipped (30 msg/s)'}")
    fake = Fake()
    await fake.start()
    port = free_port()  # held in TIME_WAIT until the bot's webhook server binds it
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(tmp / "tcns.db"),
           "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url, "ADMIN_IDS": ",".join(sorted(admins(args.teams))),
           "WEBHOOK_LISTEN": f"127.0.0.1:{port}", "BACKUP_TIME": "", "LOG_LEVEL": "WARNING",
           "EXPORT_DIR": str(tmp / "exports")}
    command = ["-c", UNTHROTTLED_LAUNCHER] if args.unthrottled else ["-m", "bot", "run"]
    proc = await asyncio.create_subprocess_exec(sys.executable, *command, cwd=tmp, env=env)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        driver = Driver(fake, rng)
        await run_step(driver, Step(2), 3, leaders, members, proc.pid)  # warm-up
        best = None
        print(f"{'actions/s':>9} {'updates/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
              f"{'ask p99':>7} {'log p99':>7} {'rep p99':>7} {'lost':>4} {'odd':>4} {'bot CPU':>7} {'ms/upd':>6} "
              f"{'harness':>7}")
        for rate in args.steps:
            step = Step(rate)
            await run_step(driver, step, args.seconds, leaders, members, proc.pid)
            lat = [x * 1000 for x in step.latencies]
            p99 = pct(lat, 99)
            print(f"{step.actions / step.seconds:9.1f} {len(lat) / step.seconds:9.1f} {statistics.median(lat):7.0f} "
                  f"{p99:7.0f} {max(lat):7.0f} {pct([x * 1000 for x in step.by_kind['ask']], 99):7.0f} "
                  f"{pct([x * 1000 for x in step.by_kind['log']], 99):7.0f} "
                  f"{pct([x * 1000 for x in step.by_kind['report'] + step.by_kind['export']], 99):7.0f} "
                  f"{step.unanswered:4d} {step.unexpected:4d} {100 * step.cpu / step.seconds:6.0f}% "
                  f"{1000 * step.cpu / max(1, len(lat)):6.1f} {100 * step.harness_cpu / step.seconds:6.0f}%", flush=True)
            if p99 < 1000 and not step.unanswered:
                best = step
            else:
                break
        if best is not None:
            rate = best.actions / best.seconds
            print(f"Highest step with p99 < 1 s: {rate:.1f} actions/s ({len(best.latencies) / best.seconds:.1f} "
                  f"updates/s). At {ACTIONS_PER_MEMBER_HOUR} actions per active member in the peak hour and "
                  f"peaks {PEAK_FACTOR}x that hour's average: about "
                  f"{rate * 3600 / ACTIONS_PER_MEMBER_HOUR / PEAK_FACTOR:,.0f} active members.")
    finally:
        proc.terminate()
        await proc.wait()
        await fake.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=60, help="teams of one leader and nine members")
    parser.add_argument("--steps", type=lambda s: [float(x) for x in s.split(",")], default=[2, 5, 10, 15, 20, 30, 40],
                        help="action rates per second, tried in order until p99 >= 1 s")
    parser.add_argument("--seconds", type=float, default=15, help="length of each step")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--unthrottled", action="store_true", help="turn the flood limiter's throttling off")
    asyncio.run(main(parser.parse_args()))
