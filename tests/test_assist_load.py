"""Many members at once, and a bot killed mid-burst: every record counted once, every receipt kept."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from bot.app import compose
from bot.storage import Storage
from tests.chat import FIXTURE_KB, Chat
from tests.teamkit import Clock, make_team, receipt

ROOT = Path(__file__).resolve().parent.parent


async def burst(chat: Chat, member: int, count: int = 20) -> list[int]:
    """Log `count` households through the one-line form, pressing every "Lưu" twice at once."""
    numbers = []
    for i in range(count):
        replies = await chat.say(f"/ghi Hộ {member} số {i}; Xuân Thượng; vneid2, qr")
        if "Có phải hộ này" in chat.text:
            replies = await chat.pick("hộ mới")
        save = next(c.payload for r in replies for c in r.choices if "Lưu" in c.label)
        first, second = await asyncio.gather(chat.press(save), chat.press(save))
        numbers.append(receipt(first[0].text))
        assert receipt(second[0].text) == numbers[-1] and "đã được lưu rồi" in second[0].text
    return numbers


async def test_fifty_members_log_twenty_records_each_at_once(settings, storage, small_kb):
    clock = Clock()
    deps = compose(settings=settings, storage=storage, kb=small_kb, clock=clock)
    _, _, members = await make_team(deps, members=50)
    errors: list[BaseException] = []
    other: list[int] = []

    def second_process_like_writer() -> None:
        # Half the members talk to a bot on a second connection to the same file: real lock contention.
        store = Storage(settings.database_path)
        other_deps = compose(settings=settings, storage=store, kb=small_kb, clock=clock)
        chats = [Chat(other_deps, f"m{i}") for i in range(25, 50)]

        async def run() -> None:
            results = await asyncio.gather(*(burst(c, i + 25) for i, c in enumerate(chats)))
            other.extend(n for numbers in results for n in numbers)

        try:
            asyncio.run(run())
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    thread = threading.Thread(target=second_process_like_writer)
    thread.start()
    mine = await asyncio.gather(*(burst(c, i) for i, c in enumerate(members[:25])))
    await asyncio.to_thread(thread.join)
    assert not errors, errors
    numbers = [n for group in mine for n in group] + other
    db = storage.db
    assert len(numbers) == len(set(numbers)) == 1000
    assert db["records"].count == 1000
    assert db.execute("SELECT count(DISTINCT request_id) FROM records").fetchone()[0] == 1000
    assert db.execute("SELECT count(*) FROM record_services").fetchone()[0] == 2000
    per_member = db.execute("SELECT count(*) FROM records GROUP BY member_id").fetchall()
    assert [row[0] for row in per_member] == [20] * 50
    assert db["households"].count == 1000
    assert db["audit"].count_where("table_name = 'records'") == 1000


CHILD = textwrap.dedent("""
    import asyncio, re, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from bot.config import Settings
    from bot.app import compose
    from bot.core import Incoming, respond
    from bot.storage import Storage
    from knowledge.kb import KnowledgeBase
    from knowledge.loader import load

    async def main(path, kb_dir):
        settings = Settings(database_path=Path(path), admin_ids=frozenset({"console:admin"}))
        deps = compose(settings=settings, storage=Storage(path), kb=KnowledgeBase(load(shipped_dir=Path(kb_dir))))

        async def say(user, text="", payload=None):
            replies = await respond(Incoming("console", user, user, text=text, payload=payload,
                                             display_name=user), deps)
            return replies, [c for r in replies for c in r.choices]

        await say("admin", "/taoto Tổ A; Xã A; Thôn Một")
        replies, _ = await say("admin", "/moi")
        code = re.search(r"/thamgia ([A-Z0-9]{6})", replies[0].text).group(1)
        await say("m", "/thamgia " + code)
        i = 0
        while True:
            replies, choices = await say("m", f"/ghi Hộ số {i}; Thôn Một; vneid2")
            new = [c for c in choices if "hộ mới" in c.label]
            if new:
                replies, choices = await say("m", payload=new[0].payload)
            save = next(c for c in choices if "Lưu" in c.label)
            replies, _ = await say("m", payload=save.payload)
            number = re.search(r"Số phiếu: (\\d+)", replies[0].text).group(1)
            print(number, flush=True)  # the receipt is "sent"
            i += 1

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


def test_receipts_survive_sigkill_mid_burst(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    db_path = tmp_path / "kill.db"
    child = subprocess.Popen([sys.executable, str(script), str(db_path), str(FIXTURE_KB), str(ROOT)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sent: list[int] = []
    watchdog = threading.Timer(120, child.kill)  # never hang the suite if the child stalls
    watchdog.start()
    try:
        for line in child.stdout:
            sent.append(int(line))
            if len(sent) >= 150:
                os.kill(child.pid, signal.SIGKILL)  # mid-burst: the child is writing all the time
                break
        rest = child.stdout.read()
        sent += [int(n) for n in re.findall(r"\d+", rest)]
    finally:
        watchdog.cancel()
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    assert len(sent) >= 150
    store = Storage(db_path)  # restart
    try:
        kept = {row[0] for row in store.db.execute("SELECT id FROM records WHERE deleted = 0").fetchall()}
        assert set(sent) <= kept
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()
