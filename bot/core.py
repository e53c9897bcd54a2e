"""The channel-neutral core: what a message is, what a reply is, and `respond`.

Channel adapters turn platform events into `Incoming` and render `Reply` objects;
no feature logic lives in an adapter.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from knowledge.kb import KnowledgeBase

from .config import Settings
from .safety import MASK, WARNING_TEXT, redact
from .storage import Storage

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # longer messages are cut before matching (nobody types a 5,000-character question)
# Commands, pressed choices and flows that work in group chats; everything else (every leader
# command, /thamgia, /moi, /lienket, /ghi...) answers only in a private chat, so household names,
# files, codes and digests never land in a group. One guard here, not one per handler.
GROUP_COMMANDS = frozenset({"/start", "/help", "/trogiup", "/chude", "/huy"})
GROUP_PAYLOADS = frozenset({"faq", "fb", "topic"})
PRIVATE_ONLY = ("Lệnh này chỉ dùng trong tin nhắn riêng với tôi, để giữ kín thông tin của tổ và của hộ dân. "
                "Bạn bấm vào tên tôi rồi nhắn riêng nhé. Trong nhóm, bạn vẫn hỏi đáp được bình thường.")
STORAGE_DOWN = ("Xin lỗi, nơi lưu dữ liệu của tôi đang gặp sự cố (bộ nhớ đầy hoặc không ghi được), nên việc "
                "này chưa được lưu. Bạn thử lại sau ít phút nhé; nếu vẫn lỗi, hãy báo người quản trị bot.")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never stored: they break exports and terminals
KINDS = ("text", "photo", "sticker", "voice", "location", "contact", "document", "video", "other")


@dataclass(frozen=True)
class Incoming:
    """One message or button press, from any channel."""

    channel: str
    user_id: str
    chat_id: str
    text: str = ""
    kind: str = "text"
    payload: str | None = None  # set when a choice (button) was pressed
    display_name: str = ""
    is_group: bool = False
    message_id: str = ""

    @property
    def user_key(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True)
class Choice:
    """A button: a payload sent back when pressed, or a link (`url`) that opens a page.

    With `web_app`, Telegram opens the link as a Mini App (signed in); other channels show the
    link as text. Link choices are never numbered."""

    label: str
    payload: str = ""
    url: str = ""
    web_app: bool = False


@dataclass
class Reply:
    """Text plus optional choices; optionally a file (document) or an image to send."""

    text: str
    choices: tuple[Choice, ...] = ()
    file: Path | None = None
    image: Path | None = None
    summary: str = ""  # what to say instead of the file on channels that cannot send files


class Session:
    """Per-user conversation state, stored in SQLite so flows survive restarts."""

    def __init__(self, key: str, state: dict[str, Any]) -> None:
        self.key = key
        self.state = state

    @property
    def flow(self) -> dict[str, Any] | None:
        return self.state.get("flow")

    def start_flow(self, name: str, step: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        flow = {"name": name, "step": step, "nonce": secrets.token_hex(3), "data": data or {}}
        self.state["flow"] = flow
        return flow

    def end_flow(self) -> None:
        self.state.pop("flow", None)

    def flow_choice(self, label: str, value: str) -> Choice:
        """A choice that belongs to the current flow step; stale once the flow moves on."""
        flow = self.flow
        if flow is None:
            raise RuntimeError("no active flow")
        return Choice(label, f"f:{flow['nonce']}:{value}")

    def advance(self, step: str) -> None:
        """Move the flow to `step`; buttons from earlier steps become stale."""
        if self.flow is not None:
            self.flow["step"] = step
            self.flow["nonce"] = secrets.token_hex(3)


def now_local(tz: str = "Asia/Ho_Chi_Minh") -> dt.datetime:
    return dt.datetime.now(ZoneInfo(tz))


@dataclass
class Deps:
    """Everything a handler may use, passed in rather than imported as globals."""

    settings: Settings
    storage: Storage
    kb: KnowledgeBase
    clock: Callable[[], dt.datetime] = field(default=now_local)
    extras: dict[str, Any] = field(default_factory=dict)

    def is_admin(self, user_key: str) -> bool:
        return user_key in self.settings.admin_ids


Handler = Callable[[Incoming, Deps, Session], Awaitable[list[Reply] | None]]


def _meaningful(text: str) -> bool:
    return any(ch.isalnum() for ch in text.replace(MASK, " "))


def command_word(text: str) -> str | None:
    """'/Ghi@tcns_bot Nguyen' -> '/ghi'."""
    if not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0].split("@", 1)[0].lower()


def private_only(incoming: Incoming) -> bool:
    """True for a group message that asks for something only answered in a private chat."""
    if not incoming.is_group:
        return False
    if incoming.payload is not None:
        return incoming.payload.partition(":")[0] not in GROUP_PAYLOADS
    name = command_word(incoming.text)
    return name is not None and name not in GROUP_COMMANDS


def storage_failure(exc: BaseException) -> bool:
    """A database that cannot be written (read-only file, full disk, locked or broken file)."""
    return isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.ProgrammingError | sqlite3.IntegrityError)


def _save(deps: Deps, session: Session) -> None:
    """Conversation state is a convenience: a database that cannot be written must not stop answers."""
    try:
        deps.storage.save_session(session.key, session.state)
    except sqlite3.Error as exc:
        if not storage_failure(exc):
            raise
        log.error("Could not save the conversation state: %s", exc)


async def respond(incoming: Incoming, deps: Deps) -> list[Reply]:
    """Answer one incoming message; a database that cannot be written gets a clear reply."""
    try:
        return await _respond(incoming, deps)
    except sqlite3.Error as exc:
        if not storage_failure(exc):
            raise
        log.exception("Storage failure while answering: %s", exc)  # masked, and flood-limited
        return [Reply(STORAGE_DOWN)]


async def _respond(incoming: Incoming, deps: Deps) -> list[Reply]:
    """Safety guard first, then the private-only guard, then the ordered handlers."""
    from handlers import HANDLERS  # handlers import core types; import late to avoid a cycle

    session = Session(incoming.user_key, deps.storage.load_session(incoming.user_key))
    replies: list[Reply] = []
    # Cut far beyond MAX_TEXT first (bounded work), redact, then cut: no half number survives the cut.
    text = _CONTROL.sub(" ", (incoming.text or "")[:4 * MAX_TEXT]).strip()
    guarded = redact(text)
    name = redact(_CONTROL.sub(" ", (incoming.display_name or "")[:200])).text
    if guarded.needs_warning:
        replies.append(Reply(WARNING_TEXT))
        if not _meaningful(guarded.text) and incoming.payload is None and not session.flow:
            _remember_choices(session, replies)
            _save(deps, session)
            return replies
    text = guarded.text
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    incoming = replace(incoming, text=text, display_name=name)
    if private_only(incoming):
        return replies + [Reply(PRIVATE_ONLY)]
    if incoming.is_group:
        return replies + await _in_group(incoming, deps, session, HANDLERS)

    payload = incoming.payload
    if payload is None and text.isdigit() and incoming.kind == "text":
        choices = session.state.get("choices") or []
        index = int(text) - 1
        if 0 <= index < len(choices):
            incoming = replace(incoming, payload=choices[index][1], text=choices[index][0])
        elif choices or not session.flow:
            replies.append(Reply(
                f"Số {text} không ứng với lựa chọn nào đang mở. "
                + (f"Bạn hãy gõ số từ 1 đến {len(choices)}." if choices else "Bạn cứ gõ câu hỏi bằng chữ nhé.")
            ))
            _save(deps, session)
            return replies

    for handler in HANDLERS:
        out = await handler(incoming, deps, session)
        if out is not None:
            replies.extend(out)
            break
    _remember_choices(session, replies)
    _save(deps, session)
    return replies


async def _in_group(incoming: Incoming, deps: Deps, session: Session, handlers: list[Handler]) -> list[Reply]:
    """A group message: a private conversation (an open /ghi, its choices) never reads or answers it."""
    private = Session(session.key, {})
    for handler in handlers:
        out = await handler(incoming, deps, private)
        if out is not None:
            return out
    return []


def _remember_choices(session: Session, replies: list[Reply]) -> None:
    """Keep the last offered choices so a typed number can pick one (console, Zalo)."""
    last = next((r.choices for r in reversed(replies) if any(not c.url for c in r.choices)), ())
    session.state["choices"] = [[c.label, c.payload] for c in last if not c.url]
