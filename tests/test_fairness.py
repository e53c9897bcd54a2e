"""M5: one user's flood of updates cannot delay another user's answer."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.channels.telegram import PerUserProcessor
from tests.fake_telegram import FakeTelegram
from tests.waiting import until


def update(user_id: int, n: int) -> Update:
    data = {"update_id": n, **FakeTelegram().message(user_id, f"tin {n}")}
    return Update.de_json(data, None)


async def test_a_flooding_user_does_not_hold_everyone_elses_slots():
    processor = PerUserProcessor(4)
    order: list[tuple[int, int]] = []

    async def work(user_id: int, n: int) -> None:
        await asyncio.sleep(0.02)
        order.append((user_id, n))

    flood = [asyncio.create_task(processor.process_update(update(1, n), work(1, n))) for n in range(200)]
    await until(lambda: order, "the flood to start")  # the other user writes while the flood is going on
    await processor.process_update(update(2, 999), work(2, 999))
    # The other user waited for a piece of work or two, not for the flood behind it.
    assert order.index((2, 999)) < 5, order[:10]
    await asyncio.gather(*flood)
    mine = [n for user, n in order if user == 1]
    assert mine == sorted(mine)  # one user's updates stay in order
    assert len(mine) == PerUserProcessor.MAX_QUEUED_PER_USER and processor.dropped == 200 - len(mine)
