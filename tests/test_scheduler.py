"""The weekly digest with a controlled clock: fires at the slot, once, not before; survives restarts."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot import scheduler
from bot.app import build_deps, compose
from bot.core import Deps, Reply, Services
from bot.runner import run_channels
from bot.storage import Storage
from tests import fixtures_data as fx
from tests.waiting import until

TZ = dt.timezone(dt.timedelta(hours=7))


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def sender(self, channel: str):
        async def send(chat_id: str, replies: list[Reply]) -> None:
            self.sent.extend((channel, chat_id, r.text) for r in replies)
        return send

    def to(self, chat_id: str) -> list[str]:
        return [text for _, c, text in self.sent if c == chat_id]


@pytest.fixture
def outbox(small_deps: Deps) -> Outbox:
    box = Outbox()
    small_deps.services.senders = {"console": box.sender("console"), "telegram": box.sender("telegram")}
    fx.build(small_deps.storage)
    return box


def test_slots():
    assert scheduler.last_slot(at(23, 7), 0, "07:00") == at(23, 7)  # Monday 23/11 07:00 exactly
    assert scheduler.last_slot(at(23, 6, 59), 0, "07:00") == at(16, 7)
    assert scheduler.next_slot(at(25, 12), 0, "07:00") == at(30, 7)
    assert scheduler.last_slot(at(22, 23, 59), 6, "21:30") == at(22, 21, 30)  # Sunday slot
    assert scheduler.week_key(at(23, 7)) == "2026-W48"


async def test_fires_at_the_slot_once(small_deps, outbox):
    assert await scheduler.run_due(small_deps, at(23, 6, 59)) == 0  # a minute early: nothing
    assert outbox.sent == []
    assert await scheduler.run_due(small_deps, at(23, 7)) == 3  # leaders Hoa and Khánh, member Lan
    assert await scheduler.run_due(small_deps, at(23, 7, 5)) == 0  # never twice
    assert await scheduler.run_due(small_deps, at(27, 18)) == 0
    assert len(outbox.sent) == 3
    hoa = outbox.to("hoa")[0]
    # Last week 16..22/11: a3, a4, a5. Minh logged nothing; the inactive member is not listed.
    assert "Lượt hỗ trợ: 3. Số hộ được hỗ trợ: 3." in hoa and "16/11/2026 - 22/11/2026" in hoa
    assert "chưa ghi lượt nào tuần trước: Minh." in hoa
    assert "15/11/2026: Nguyễn Văn An (Thôn 1), Lan" in hoa  # due follow-up a2; a5 is due 25/11
    assert "Yên Bình" not in hoa and "Phạm Văn Dũng" not in hoa
    khanh = outbox.to("bao")[0]
    assert "Yên Bình" in khanh and "Xuân Thượng" not in khanh and "Lượt hỗ trợ: 2." in khanh
    lan = outbox.to("200")[0]
    assert "Nguyễn Văn An" in lan and "Lê Văn Cường" not in lan
    assert ("telegram", "200") == outbox.sent[[c for _, c, _ in outbox.sent].index("200")][:2]
    # Next week's slot sends the next week's digests.
    assert await scheduler.run_due(small_deps, at(30, 7)) == 3


async def test_restart_does_not_resend(small_deps, outbox, settings, small_kb):
    assert await scheduler.run_due(small_deps, at(23, 7)) == 3
    small_deps.storage.close()
    again = compose(settings=settings, storage=Storage(settings.database_path), kb=small_kb,
                 services=Services(senders=small_deps.services.senders))
    try:
        assert await scheduler.run_due(again, at(23, 9)) == 0
    finally:
        again.storage.close()
    assert len(outbox.sent) == 3


async def test_missed_slot_is_sent_later_that_week_only(small_deps, outbox):
    assert await scheduler.run_due(small_deps, at(25, 10)) == 3  # down on Monday, up on Wednesday
    assert await scheduler.run_due(small_deps, at(25, 11)) == 0
    fresh = Outbox()
    small_deps.services.senders = {"console": fresh.sender("console")}
    assert await scheduler.run_due(small_deps, at(30, 6)) == 0  # Monday before 07:00: wait for it


async def test_member_without_running_channel_is_kept_for_later(small_deps, outbox):
    small_deps.services.senders = {"console": outbox.sender("console")}  # Telegram is down
    assert await scheduler.run_due(small_deps, at(23, 7)) == 2
    assert outbox.to("200") == []
    small_deps.services.senders["telegram"] = outbox.sender("telegram")
    assert await scheduler.run_due(small_deps, at(23, 8)) == 1
    assert len(outbox.to("200")) == 1


async def test_failed_send_is_not_retried(small_deps, outbox):
    async def broken(chat_id: str, replies: list[Reply]) -> None:
        raise ConnectionError("down")

    small_deps.services.senders["telegram"] = broken
    assert await scheduler.run_due(small_deps, at(23, 7)) == 2
    small_deps.services.senders["telegram"] = outbox.sender("telegram")
    assert await scheduler.run_due(small_deps, at(23, 8)) == 0  # at most once


async def test_background_loop_fires_when_the_clock_reaches_the_slot(small_deps, outbox, monkeypatch):
    monkeypatch.setattr(scheduler, "MAX_SLEEP", 0.01)
    now = [at(23, 6, 59)]
    reads = [0]

    def clock() -> dt.datetime:
        reads[0] += 1
        return now[0]

    async def ticks(count: int) -> None:
        """Wait until the loop has read the clock `count` more times."""
        target = reads[0] + count
        await until(lambda: reads[0] >= target, "the scheduler loop to read the clock")

    small_deps.clock = clock
    await scheduler.start_scheduler(small_deps)
    try:
        await ticks(3)  # the loop ran before the slot
        assert outbox.sent == []
        now[0] = at(23, 7)
        await until(lambda: len(outbox.sent) >= 3, "the digests to be sent")
        assert len(outbox.sent) == 3
        await ticks(3)  # and ran on after it: nothing sent twice
        assert len(outbox.sent) == 3
    finally:
        await scheduler.stop_scheduler(small_deps)
    assert "scheduler" not in small_deps.services.jobs


async def test_runner_starts_and_stops_the_scheduler(settings, small_kb):
    deps = build_deps(settings, kb=small_kb)
    try:
        assert scheduler.start_scheduler in deps.services.on_start
        box = Outbox()
        deps.services.senders = {"console": box.sender("console"), "telegram": box.sender("telegram")}
        fx.build(deps.storage)
        deps.clock = lambda: at(24, 8)  # Tuesday: this week's digest was missed
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(run_channels(deps, [], stop, ready))
        await asyncio.wait_for(ready.wait(), 30)
        await until(lambda: len(box.sent) >= 3, "the missed digests to be sent")
        assert len(box.sent) == 3
        stop.set()
        await asyncio.wait_for(task, 30)
        assert "scheduler" not in deps.services.jobs
    finally:
        deps.storage.close()


async def test_a_clock_that_jumps_back_sends_no_stale_digest(small_deps, outbox):
    """L8: after this week's digests, a clock stepped back into last week, or reset to 2000, sends nothing."""
    assert await scheduler.run_due(small_deps, at(30, 7)) == 3  # week 49
    assert await scheduler.run_due(small_deps, at(23, 9)) == 0  # stepped back into week 48: stale
    reset = dt.datetime(2000, 1, 3, 7, 5, tzinfo=TZ)
    assert await scheduler.run_due(small_deps, reset) == 0
    assert len(outbox.sent) == 3


async def test_a_digest_never_goes_to_a_group_chat(small_deps, outbox):
    """H2: an identity whose chat is a group (stored before the private-only guard) gets it privately."""
    with small_deps.storage.transaction() as conn:
        conn.execute("UPDATE identities SET chat_id = '-100555' WHERE key LIKE 'telegram:%'")
    await scheduler.run_due(small_deps, at(23, 7))
    assert any(s[0] == "telegram" for s in outbox.sent)
    assert not [s for s in outbox.sent if s[1].startswith("-")]
