"""The channel-neutral core: what a message is, what a reply is, and `respond`.

Channel adapters turn platform events into `Incoming` and render `Reply` objects;
no feature logic lives in an adapter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import secrets
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from knowledge.indicators import Indicators, indicators_file, load_indicators
from knowledge.kb import KnowledgeBase
from knowledge.loader import KnowledgeError
from knowledge.normalize import fold

from .clock import now_local
from .config import Settings
from .limits import CodeGuard
from .safety import MASK, WARNING_TEXT, redact
from .storage import Storage

if TYPE_CHECKING:  # types only: both modules import this one
    from .channels.base import Channel
    from .metrics import Metrics

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # longer messages are cut before matching, keeping their start and end (see `clip`)
# Commands, pressed choices and flows that work in group chats; everything else (every leader
# command, /thamgia, /moi, /lienket, /ghi...) answers only in a private chat, so household names,
# files, codes and digests never land in a group. One guard here, not one per handler.
GROUP_COMMANDS = frozenset({"/start", "/help", "/trogiup", "/chude", "/huy"})
GROUP_PAYLOADS = frozenset({"faq", "fb", "topic"})
PRIVATE_ONLY = ("Lệnh này chỉ dùng trong tin nhắn riêng với tôi, để giữ kín thông tin của tổ và của hộ dân. "
                "Bạn bấm vào tên tôi rồi nhắn riêng nhé. Trong nhóm, bạn vẫn hỏi đáp được bình thường.")
STORAGE_DOWN = ("Xin lỗi, nơi lưu dữ liệu của tôi đang gặp sự cố (bộ nhớ đầy hoặc không ghi được), nên việc "
                "này chưa được lưu. Bạn thử lại sau ít phút nhé; nếu vẫn lỗi, hãy báo người quản trị bot.")
# The one answer to a bug, on every channel; {ref} finds the logged traceback.
SORRY = ("Xin lỗi, đã có lỗi khi xử lý tin nhắn của bạn. Bạn thử lại sau ít phút, hoặc gõ /trogiup để xem "
         "cách dùng nhé. Nếu lỗi lặp lại, bạn báo người quản trị mã lỗi {ref}.")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never stored: they break exports and terminals
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
    warned: bool = False  # the core already warned that an ID number, OTP or password was hidden

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
    repeated: bool = False  # the same list as the last message: numbered channels need not re-send it


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


Handler = Callable[["Incoming", "Deps", Session], Awaitable["list[Reply] | None"]]


def _no_command(text: str) -> str | None:
    return None


def _no_expiry(session: Session, deps: Deps) -> list[Reply]:
    return []


def _no_role(deps: Deps, user_key: str) -> str | None:
    return None


@dataclass(frozen=True)
class Router:
    """The features, passed into the core: `handlers/__init__.py` builds one, `bot/app.py` puts it in
    `Deps`. The core and the channels never import `handlers`."""

    handlers: tuple[Handler, ...] = ()
    flows: Mapping[str, Any] = field(default_factory=dict)  # flow name -> bot.flows.Flow
    features: tuple[ModuleType, ...] = ()  # feature modules, in /trogiup order (their HELP, ANSWER_EXTRAS...)
    as_command: Callable[[str], str | None] = _no_command  # "bao cao" -> "/baocao"
    expire: Callable[[Session, Deps], list[Reply]] = _no_expiry  # drop a stale flow, say so
    help_lines: Callable[[str | None], list[tuple[str, str]]] = lambda role: []  # commands a role may use
    role_of: Callable[[Deps, str], str | None] = _no_role  # "member", "leader", "admin" or None


Sender = Callable[[str, "list[Reply]"], Awaitable[None]]  # send(chat_id, replies) on one running channel
Hook = Callable[["Deps"], Awaitable[None]]


@dataclass
class Services:
    """The process's shared services, typed: composed in `bot/app.py`, filled by the runner (channels,
    senders), the background jobs (hooks, tasks) and on first use (indicators, metrics)."""

    senders: dict[str, Sender] = field(default_factory=dict)  # running channel name -> its send()
    channels: list[Channel] = field(default_factory=list)  # started adapters (queue depths for /healthz)
    stopping: bool = False  # the runner is shutting down: /healthz says so
    on_start: list[Hook] = field(default_factory=list)  # background jobs' hooks, run by the runner
    on_stop: list[Hook] = field(default_factory=list)
    jobs: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # running background jobs by name
    invite_guard: CodeGuard = field(default_factory=CodeGuard)  # limits on wrong invite codes
    kb_write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one writer of the local phrasings
    indicators: Indicators | None = None  # loaded on first use: Deps.indicators()
    metrics: Metrics | None = None  # created on first use: bot.metrics.get()


@dataclass
class Deps:
    """Everything a handler may use, passed in rather than imported as globals.

    Build it with `bot.app.compose` (or `build_deps`), which supplies the router of the features."""

    settings: Settings
    storage: Storage
    kb: KnowledgeBase
    clock: Callable[[], dt.datetime] = field(default=now_local)
    services: Services = field(default_factory=Services)
    router: Router = field(default_factory=Router)

    def is_admin(self, user_key: str) -> bool:
        return user_key in self.settings.admin_ids

    def indicators(self) -> Indicators:
        """The province's indicators (knowledge/indicators.yaml, or the local folder's copy), loaded once per
        process, on first use: the bot starts without reading the file (`indicators check` validates it)."""
        if self.services.indicators is None:
            self.services.indicators = load_indicators(indicators_file(self.settings.local_knowledge_dir))
        return self.services.indicators

    def readable_indicators(self) -> Indicators | None:
        """The indicators, or None (logged) when a local indicators.yaml cannot be read or is wrong: the chat
        commands and the web view that need them then say so instead of failing."""
        try:
            return self.indicators()
        except (KnowledgeError, OSError) as exc:
            log.error("Indicators not loaded: %s", exc)
            return None


def _meaningful(text: str) -> bool:
    return any(ch.isalnum() for ch in text.replace(MASK, " "))


def no_such_choice(number: str, offered: int) -> str:
    """A typed number that picks nothing, with what to type instead."""
    return f"Số {number} không ứng với lựa chọn nào. " + (
        f"Bạn hãy gõ số từ 1 đến {offered}." if offered else "Bạn cứ gõ câu hỏi bằng chữ nhé.")


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
        deps.storage.save_session(session.key, session.state, deps.clock())
    except sqlite3.Error as exc:
        if not storage_failure(exc):
            raise
        log.error("Could not save the conversation state: %s", exc)


def apologise(exc: BaseException, what: str) -> Reply:
    """The error policy: log the traceback under a short reference (masked, flood-limited) and answer
    the same friendly sorry, quoting the reference. Channels use it for failures outside `respond`."""
    ref = secrets.token_hex(3)
    log.error("Error %s while %s: %s", ref, what, exc, exc_info=exc)
    return Reply(SORRY.format(ref=ref))


async def respond(incoming: Incoming, deps: Deps) -> list[Reply]:
    """Answer one incoming message. Never raises: a database that cannot be written gets a clear reply,
    any other failure the sorry of `apologise`, and the process goes on."""
    try:
        return await _respond(incoming, deps)
    except Exception as exc:
        if storage_failure(exc):
            log.exception("Storage failure while answering: %s", exc)  # masked, and flood-limited
            return [Reply(STORAGE_DOWN)]
        return [apologise(exc, f"answering a {incoming.channel} message")]


_NUMBER_EDGE = "0123456789 .-/_,()"


def clip(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters, keeping its first third and its end: a pasted letter opens with
    greetings and its story and asks its question last ("… Xin hỏi …? Xin trân trọng cảm ơn."), which a cut
    of the end alone lost. Cut between words, and never through a number (a part of an ID number would be
    too short to be recognised and hidden): digits at either cut are dropped too."""
    if len(text) <= limit:
        return text
    head = text[:limit // 3]
    tail = text[len(text) - (limit - len(head) - 3):]
    if not text[len(head)].isspace():
        head = head.rsplit(" ", 1)[0] if " " in head else ""
    if not text[len(text) - len(tail) - 1].isspace():
        tail = tail.split(" ", 1)[1] if " " in tail else ""
    return f"{head.rstrip(_NUMBER_EDGE)} … {tail.lstrip(_NUMBER_EDGE)}".strip(" …") or text[:limit]


async def _respond(incoming: Incoming, deps: Deps) -> list[Reply]:
    """Safety guard first, then commands said as words, the private-only guard, picks, the ordered handlers."""
    router = deps.router
    if not router.handlers:
        raise RuntimeError("Deps without a router: build them with bot.app.compose")
    session = Session(incoming.user_key, deps.storage.load_session(incoming.user_key))
    # A group never sees (or ends) a private conversation; in a private chat an old draft is dropped, and said so.
    replies: list[Reply] = [] if incoming.is_group else router.expire(session, deps)
    # Cut far beyond MAX_TEXT first (bounded work), redact, then cut: no half number survives the cut.
    # A command, or an answer to an open step, keeps its start whole: its parts (a team's villages) are read in
    # order. Only a question is cut in the middle (`clip`).
    raw = incoming.text or ""
    is_command = raw.lstrip().startswith("/") or session.flow is not None
    text = _CONTROL.sub(" ", raw[:4 * MAX_TEXT] if is_command else clip(raw, 4 * MAX_TEXT)).strip()
    guarded = redact(text)
    name = redact(_CONTROL.sub(" ", (incoming.display_name or "")[:200])).text
    if guarded.needs_warning:
        replies.append(Reply(WARNING_TEXT))
        if not _meaningful(guarded.text) and incoming.payload is None and not session.flow:
            return _done(session, deps, replies)
    text = guarded.text if is_command else clip(guarded.text, MAX_TEXT)
    if incoming.payload is None and incoming.kind == "text":
        command = router.as_command(text)
        # With a step open, words that read as a command with a record ("ghi chú: gọi lại; mang căn cước; thứ 6"
        # typed as a note) stay text for that step: as a command they would replace the draft being written.
        if command is not None and not (session.flow and ";" in command):
            text = command
    incoming = replace(incoming, text=text, display_name=name, warned=guarded.needs_warning)
    if private_only(incoming):
        return replies + [Reply(PRIVATE_ONLY)]
    if incoming.is_group:
        return replies + await _in_group(incoming, deps, session, router.handlers)
    if incoming.payload is None and incoming.kind == "text":
        picks = _picks(text, session)
        if picks is not None:
            return _done(session, deps, replies + await _pick_each(incoming, deps, session, picks), picked=True)
        if text.isdigit() and not session.flow:
            listed = _listed_item(session, text)
            if listed is not None:  # "1" after an answer whose text holds a "1. … 2. …" list and no choices
                kept = session.state.get("listed")
                replies += await _listed(incoming, deps, session, text, listed)
                _remember_choices(session, replies)
                if not session.flow and not session.state.get("choices") and "listed" not in session.state:
                    session.state["listed"] = kept  # "2" after "1" still reads the same list
                _save(deps, session)
                return replies
            replies.append(Reply(no_such_choice(text, len(session.state.get("choices") or []))))
            return _done(session, deps, replies)
    return _done(session, deps, replies + await _handle(incoming, deps, session), picked=incoming.payload is not None)


async def _handle(incoming: Incoming, deps: Deps, session: Session) -> list[Reply]:
    for handler in deps.router.handlers:
        out = await handler(incoming, deps, session)
        if out is not None:
            return out
    return []


async def _in_group(incoming: Incoming, deps: Deps, session: Session, handlers: tuple[Handler, ...]) -> list[Reply]:
    """A group message: a private conversation (an open /ghi, its choices) never reads or answers it."""
    private = Session(session.key, {})
    for handler in handlers:
        out = await handler(incoming, deps, private)
        if out is not None:
            return out
    return []


# What people answer a record's summary with ("Đúng rồi thì bấm Lưu."): typed, it presses "✅ Lưu" (below). The
# other yes-words of a record are built on it (handlers/assist.py: PENDING_YES, ACK_WORDS), so they never drift.
SAVE_WORDS = frozenset({"dung roi", "dung", "dong y", "ok", "oke", "okay", "luu lai", "xac nhan", "dung roi luu",
                        "ok luu"})
# Fixed words for choices whose label starts with the value. Feedback under an answer: "có"/"không" only
# when no flow step is waiting for an answer (there "không" may mean "no phone number").
WORD_PICKS = {"👍": "👍", "👎": "👎", "tiep tuc": "▶️ Tiếp tục", "tiep tuc ghi": "▶️ Tiếp tục",
              **dict.fromkeys(SAVE_WORDS, "✅ Lưu")}
FEEDBACK_WORDS = {"co": "👍", "tot": "👍", "huu ich": "👍", "co ich": "👍", "chua": "👎", "khong": "👎",
                  "ko": "👎", "chua giup duoc": "👎", "khong giup duoc": "👎"}


@lru_cache(maxsize=1024)  # choice labels: entry titles and fixed words, compared on every typed message
def _plain(label: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(label)))


def _picks(text: str, session: Session) -> list[int] | None:
    """Positions picked by typed numbers ('3', '3 7', '3,7'), a choice's label typed out ('xong', 'luu')
    or fixed words ('👍', 'tiếp tục'); None if the text is not a pick."""
    choices = session.state.get("choices") or []
    if re.fullmatch(r"\d+(?:\s*[ ,;]\s*\d+)*", text):
        numbers = [int(n) - 1 for n in re.findall(r"\d+", text)]
        if all(0 <= n < len(choices) for n in numbers):
            return list(dict.fromkeys(numbers))
        return None
    if text.startswith("/"):  # a command ("/huy") is never a label typed out
        return None
    said = _plain(text)
    word = WORD_PICKS.get(text.strip()) or WORD_PICKS.get(said)
    if word is None and not session.flow:
        word = FEEDBACK_WORDS.get(said)
    if word is not None:
        return next(([i] for i, (label, _) in enumerate(choices) if label.startswith(word)), None)
    exact = [i for i, (label, _) in enumerate(choices) if said and _plain(label) == said]
    return exact[:1] or None


async def _pick_each(incoming: Incoming, deps: Deps, session: Session, picks: list[int]) -> list[Reply]:
    """Several picks in one message: each taken in turn; only the last answer is shown (no re-sent lists)."""
    out: list[Reply] = []
    original = [list(c) for c in session.state.get("choices") or []]
    for i, position in enumerate(picks):
        current = session.state.get("choices") or original
        # Toggle lists keep their order, so a position means the same item after each pick.
        label, payload = (current if position < len(current) else original)[position]
        out = await _handle(replace(incoming, payload=payload, text=label), deps, session)
        if i < len(picks) - 1:
            _remember_choices(session, out)
    return out


def _done(session: Session, deps: Deps, replies: list[Reply], picked: bool = False) -> list[Reply]:
    _remember_choices(session, replies, picked)
    _save(deps, session)
    return replies


# A line of a list written in a reply's text ("1. Hỏi lại ngắn gọn…"): on Zalo and the console it looks like the
# numbered choices, so a number typed after it is read as that line, never "Số 1 không ứng với lựa chọn nào".
_LIST_LINE = re.compile(r"^\s*(\d{1,2})[.)]\s+(\S.*)$")
_COMMAND_IN = re.compile(r"(?<![\w/])/[a-z]+\b")


def _listed_item(session: Session, number: str) -> str | None:
    return next((item for n, item in session.state.get("listed") or [] if str(n) == number.lstrip("0")), None)


async def _listed(incoming: Incoming, deps: Deps, session: Session, number: str, item: str) -> list[Reply]:
    """A typed number naming a line of the last reply's own list: the line again; when it says to type one
    command ("Gõ /chude để chọn chủ đề"), that command is done too."""
    commands = set(_COMMAND_IN.findall(item))
    said = Reply(f"Mục {number} ở trên: {item}\n(Các số trong câu trả lời là các bước để đọc, không phải lựa chọn; "
                 "bạn cứ gõ câu hỏi hoặc lệnh bằng chữ nhé.)")
    if len(commands) != 1:
        return [said]
    command = commands.pop()
    out = await _handle(replace(incoming, text=command), deps, session)
    return [Reply(f"Mục {number} ở trên: {item}\nTôi làm luôn {command} cho bạn:"), *out] if out else [said]


def _remember_listed(session: Session, replies: list[Reply], offered: list[Choice]) -> None:
    listed = [] if offered else [[int(m.group(1)), m.group(2).strip()[:300]] for r in replies
                                 for line in r.text.split("\n") if (m := _LIST_LINE.match(line))]
    if listed:
        session.state["listed"] = listed[:20]
    else:
        session.state.pop("listed", None)


def _remember_choices(session: Session, replies: list[Reply], picked: bool = False) -> None:
    """Keep the last offered choices so a typed number can pick one (console, Zalo).

    When a pick is answered with the same long list again (a toggle in a list of services), the reply
    is marked `repeated`, so numbered channels send a short reminder instead of the whole list."""
    # Link choices (url) open a page; they are never numbered, so they never take a number.
    last = next((r for r in reversed(replies) if any(not c.url for c in r.choices)), None)
    offered = [c for c in (last.choices if last else ()) if not c.url]
    before = [_bare(label) for label, _ in session.state.get("choices") or []]
    if picked and last is not None and len(offered) > 6 and [_bare(c.label) for c in offered] == before:
        last.repeated = True
    session.state["choices"] = [[c.label, c.payload] for c in offered]
    _remember_listed(session, replies, offered)


def _bare(label: str) -> str:
    return label.removeprefix("✅ ")
