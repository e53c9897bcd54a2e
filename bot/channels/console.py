"""Console chat: the same core in a terminal, or fed one message per line on stdin."""

from __future__ import annotations

import asyncio
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


def render(reply: Reply) -> str:
    """Text, then numbered choices ("Gõ 1, 2 hoặc 3"), then where a file was saved."""
    parts = [with_numbered_choices(reply.text, reply.choices, indent="  ", repeated=reply.repeated)]
    for path in (reply.file, reply.image):
        if path is not None:
            parts.append(f"Đã lưu tệp: {path}")
    return "\n".join(parts)


async def chat(deps: Deps, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Read lines until EOF; every line gets the core's replies."""
    interactive = stdin.isatty()
    user = os.environ.get("USER", "bạn")
    if interactive:
        print(WELCOME, file=stdout)
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        incoming = Incoming(channel="console", user_id=USER_ID, chat_id=USER_ID, text=line.rstrip("\r\n"),
                            display_name=user)
        for reply in await respond(incoming, deps):
            print(render(reply), file=stdout, flush=True)
        if not interactive:
            print("", file=stdout, flush=True)
