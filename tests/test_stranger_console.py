"""The console chat (`python -m bot chat`) at a real terminal, as a stranger's first minutes go (round 19,
r19-stranger3): a pseudo-terminal, so the chat reads a terminal as it would on a laptop.

Pasting a letter of several lines sent each line as its own question (three answers, and "Xin cảm ơn." closed
the conversation); Ctrl+C did nothing until Enter was pressed; Ctrl+D left the shell's prompt on the chat's line.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

from bot.channels import console
from bot.core import Deps
from tests.waiting import until

ROOT = Path(__file__).resolve().parent.parent
LETTER = "Chào tổ công nghệ số,\nMẹ tôi quên mật khẩu VNeID.\nPhải làm sao ạ?\n"


async def test_a_pasted_letter_is_one_message_and_ctrl_d_says_goodbye(deps: Deps):
    master, slave = pty.openpty()
    stdin = os.fdopen(slave, "r", encoding="utf-8")
    out = io.StringIO()
    task = asyncio.create_task(console.chat(deps, stdin=stdin, stdout=out))
    try:
        await until(lambda: out.getvalue().endswith("> "), "the first prompt")
        os.write(master, LETTER.encode())  # pasted: every line arrives at once
        await until(lambda: out.getvalue().count("> ") == 2, "the answer and the next prompt")
        first = out.getvalue().split("> ")[1]
        assert "Quên mật khẩu" in first and "Xin chào" not in first  # one answer to the whole letter
        answered = deps.storage.db.execute("SELECT count(*) FROM unanswered").fetchone()[0]
        assert answered == 0  # "Phải làm sao ạ?" was not logged as a question on its own
        # Typed lines, a person's pace apart, stay separate messages.
        os.write(master, "xin chào\n".encode())
        await until(lambda: out.getvalue().count("> ") == 3, "the greeting")
        assert "Xin chào" in out.getvalue().split("> ")[2]
        os.write(master, b"\x04")  # Ctrl+D at the start of a line
        await asyncio.wait_for(task, 30)
    finally:
        task.cancel()
        stdin.close()
        os.close(master)
    assert out.getvalue().endswith("\n" + console.GOODBYE + "\n")


async def test_piped_lines_stay_one_message_each(deps: Deps):
    out = io.StringIO()
    await console.chat(deps, stdin=io.StringIO("xin chào\nquên mật khẩu vneid\n"), stdout=out)
    greeting, answer = out.getvalue().split("\n\n")[:2]
    assert "Xin chào" in greeting and "Quên mật khẩu" in answer
    assert console.GOODBYE not in out.getvalue()  # a script's output is only the answers


def _own_terminal() -> None:  # in the child: the pseudo-terminal becomes its controlling terminal
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_ctrl_c_quits_at_once(tmp_path):
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN",
                                                             "PUBLIC_BASE_URL")}
    env.update(DATABASE_PATH=str(tmp_path / "bot.db"), EXPORT_DIR=str(tmp_path / "exports"))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "chat"], cwd=ROOT, stdin=slave, stdout=slave,
                            stderr=slave, env=env, preexec_fn=_own_terminal)
    os.close(slave)
    seen = b""

    def read_until(done, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    return

    try:
        read_until(lambda: seen.endswith(b"> "))
        assert seen.endswith(b"> "), seen[-500:]
        os.write(master, b"\x03")  # Ctrl+C, and no Enter after it
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            read_until(lambda: False, 0.5)
        assert proc.poll() == 130, "Ctrl+C did not end the chat without Enter"
        read_until(lambda: False, 0.5)
        assert console.GOODBYE.encode() in seen
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        os.close(master)
