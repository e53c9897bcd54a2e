"""Console chat: the same core in a terminal, or fed one message per line on stdin.

At a terminal a message is what arrives together: a typed line, or a letter of several lines pasted at once
(the lines of a paste come within PASTE_GAP of each other; nobody types the next line that fast). The terminal
is read through the event loop, not a thread, so Ctrl+C quits at once and Ctrl+D says goodbye. Piped input
stays one message per line.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import sys
from typing import TextIO

from ..core import Deps, Incoming, Reply, respond
from .render import number_hint, with_numbered_choices

__all__ = ["chat", "number_hint", "render"]

USER_ID = "local"
WELCOME = (
    "Trợ lý Tổ công nghệ số cộng đồng (bản chạy trên máy). Gõ câu hỏi rồi nhấn Enter. "
    "Gõ /trogiup để xem hướng dẫn, /huy để hủy thao tác, Ctrl+D để thoát."
)
GOODBYE = "Tạm biệt! Khi cần hỏi tiếp, bạn chạy lại lệnh này nhé."
PASTE_GAP = 0.05  # seconds between the lines of one paste; a person needs far longer to type the next line


def render(reply: Reply) -> str:
    """Text, then numbered choices ("Gõ 1, 2 hoặc 3"), then where a file was saved."""
    parts = [with_numbered_choices(reply.text, reply.choices, indent="  ", repeated=reply.repeated)]
    for path in (reply.file, reply.image):
        if path is not None:
            parts.append(f"Đã lưu tệp: {path}")
    return "\n".join(parts)


class Terminal:
    """Messages typed at a terminal, read as the loop sees them arrive: a line, or several pasted at once."""

    def __init__(self, stream: TextIO, loop: asyncio.AbstractEventLoop) -> None:
        self.fd = stream.fileno()
        self.loop = loop
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.decoder = codecs.getincrementaldecoder(getattr(stream, "encoding", None) or "utf-8")("replace")
        loop.add_reader(self.fd, self._ready)

    def _ready(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)  # a terminal hands over one line per read
        except OSError:
            chunk = b""  # the terminal went away
        if not chunk:
            self.close()
        self.chunks.put_nowait(chunk)

    def close(self) -> None:
        self.loop.remove_reader(self.fd)

    async def message(self) -> str | None:
        """The next message, or None at Ctrl+D."""
        first = await self.chunks.get()
        if not first:
            return None
        parts = [first]
        while True:
            try:
                more = await asyncio.wait_for(self.chunks.get(), PASTE_GAP)
            except TimeoutError:
                break
            if not more:  # Ctrl+D right after a paste: answer the paste, then stop
                self.chunks.put_nowait(more)
                break
            parts.append(more)
        return self.decoder.decode(b"".join(parts))


def _terminal(stdin: TextIO) -> Terminal | None:
    if not stdin.isatty():
        return None
    try:
        return Terminal(stdin, asyncio.get_running_loop())
    except (NotImplementedError, OSError, ValueError):  # a loop that cannot watch the terminal (Windows)
        return None


async def chat(deps: Deps, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Read messages until EOF; every message gets the core's replies."""
    interactive = stdin.isatty()
    terminal = _terminal(stdin)
    user = os.environ.get("USER", "bạn")
    if interactive:
        print(WELCOME, file=stdout)
    loop = asyncio.get_running_loop()
    try:
        while True:
            if interactive:
                print("> ", end="", file=stdout, flush=True)
            if terminal is not None:
                line = await terminal.message()
            else:
                line = await loop.run_in_executor(None, stdin.readline) or None
            if line is None:
                break
            incoming = Incoming(channel="console", user_id=USER_ID, chat_id=USER_ID, text=line.rstrip("\r\n"),
                                display_name=user)
            for reply in await respond(incoming, deps):
                print(render(reply), file=stdout, flush=True)
            if not interactive:
                print("", file=stdout, flush=True)
    finally:
        if terminal is not None:
            terminal.close()
        if interactive:  # after Ctrl+D or Ctrl+C the shell's prompt comes on a line of its own
            print("\n" + GOODBYE, file=stdout, flush=True)
