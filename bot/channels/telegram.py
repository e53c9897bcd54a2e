"""Telegram channel: a thin adapter between python-telegram-bot's `Application` and the core.

Updates become `Incoming`, `Reply` objects become messages with inline keyboards. No feature
logic lives here: stale buttons, stickers and bad input are the core's business.
Long polling by default; a webhook route on the shared aiohttp server when TELEGRAM_WEBHOOK_URL is set.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, FloodLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import AIORateLimiter, Application, BaseUpdateProcessor, ContextTypes, ExtBot, TypeHandler

from .. import metrics
from ..core import Choice, Deps, Incoming, Reply, Router, apologise, respond
from .aiohttp_request import AiohttpRequest
from .base import DEFER_WEBHOOK, StartupError
from .render import split_text, utf16_len

log = logging.getLogger(__name__)

NAME = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]  # edited messages, channel posts etc. are not for us
MAX_MESSAGE = 4000  # Telegram allows 4096 UTF-16 units; keep a margin
MAX_CAPTION = 1000  # Telegram allows 1024
MAX_CALLBACK_DATA = 64  # bytes
SHORT_LABEL = 14  # two buttons this short share a row (👍 Có | 👎 Chưa)
CONCURRENT_UPDATES = 32  # different users' updates handled at once (one user's stay in order)
SEND_RETRIES = 3
BACKOFF = 0.5  # seconds, doubled on each retry
BUTTONS_KEY = "telegram-buttons:{chat_id}"  # long payloads, per chat, in the sessions key-value table
BUTTONS_KEPT = 200
START_HELP = ("/start", "bắt đầu, giới thiệu trợ lý")
HELP_EN = ("/help", "hướng dẫn sử dụng")

T = TypeVar("T")


# --- rendering ----------------------------------------------------------------------------------

def short_payload(payload: str) -> str:
    """A stable id that fits in callback_data, for payloads longer than Telegram's 64 bytes."""
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return "~" + base64.urlsafe_b64encode(digest[:12]).decode("ascii")


Keyboard = dict[str, list[list[dict[str, Any]]]]  # an InlineKeyboardMarkup as the Bot API's JSON


def keyboard(choices: tuple[Choice, ...], long_payloads: dict[str, str]) -> Keyboard:
    """One button per row, two when both labels are short; long payloads go into `long_payloads`.

    Built as the JSON the Bot API reads (what InlineKeyboardMarkup.to_dict() gives), not as PTB objects:
    every reply carries a keyboard, and building the objects and turning them back into JSON cost more
    than the rest of rendering."""
    rows: list[list[dict[str, Any]]] = []
    for choice in choices:
        label = choice.label[:120] or "…"
        if choice.url:  # a link; with web_app, a Mini App that Telegram opens signed in
            rows.append([{"text": label, "web_app": {"url": choice.url}} if choice.web_app
                         else {"text": label, "url": choice.url}])
            continue
        data = choice.payload
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
            short = short_payload(data)
            long_payloads[short] = data
            data = short
        button = {"text": label, "callback_data": data}
        last = rows[-1] if rows else None
        if (last is not None and len(last) == 1 and len(choice.label) <= SHORT_LABEL
                and len(last[0]["text"]) <= SHORT_LABEL and "callback_data" in last[0]):
            last.append(button)
        else:
            rows.append([button])
    return {"inline_keyboard": rows}


# --- incoming -----------------------------------------------------------------------------------

def message_kind(message: Message) -> str | None:
    """What a message carries; None for service messages (someone joined, a pinned message...)."""
    if message.text is not None:
        return "text"
    if message.sticker:
        return "sticker"
    if message.photo:
        return "photo"
    if message.voice or message.audio:
        return "voice"
    if message.video or message.video_note or message.animation:
        return "video"
    if message.location or message.venue:
        return "location"
    if message.contact:
        return "contact"
    if message.document:
        return "document"
    if message.effective_attachment is not None:
        return "other"  # polls, dice, games...
    return None


def _mention_pattern(username: str) -> re.Pattern[str]:
    return re.compile(rf"@{re.escape(username)}\b[\s,:;.!?]*", re.IGNORECASE)


def addressed_text(message: Message, bot_id: int, username: str) -> str | None:
    """In a group, the text meant for the bot (mention stripped), or None when not addressed to it."""
    text = message.text or message.caption or ""
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        _, at, target = command.partition("@")
        return text if not at or target.lower() == username.lower() else None
    reply_to = message.reply_to_message
    to_bot = reply_to is not None and reply_to.from_user is not None and reply_to.from_user.id == bot_id
    entities = message.parse_entities() if message.text is not None else message.parse_caption_entities()
    for entity, value in entities.items():
        if entity.type == MessageEntity.MENTION and value.lower() == f"@{username.lower()}":
            to_bot = True
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            to_bot = True
            text = text.replace(value, " ", 1)
    if not to_bot:
        return None
    return _mention_pattern(username).sub(" ", text).strip()


@dataclass(frozen=True)
class PlainText:
    """A person's text message in a private chat, the bulk of what the bot gets, read from Telegram's JSON
    by `plain_text` without building python-telegram-bot's objects (Update.de_json cost ~0.25 ms, an eighth
    of an update's CPU). The Application dispatches it like an Update, to its own TypeHandler."""

    update_id: int
    incoming: Incoming


_PLAIN_MESSAGE_KEYS = frozenset({"message_id", "from", "chat", "date", "text", "entities"})
_PLAIN_ENTITY_KEYS = frozenset({"type", "offset", "length"})


def plain_text(raw: dict[str, Any]) -> PlainText | None:
    """A private chat's text message from a person, as `to_incoming` reads it from PTB's Update; None for
    any other update, or any field this reader does not check (PTB parses those, exactly as before).

    Only shapes PTB reads without error are taken: the fields PTB requires are there with their types,
    and entities (a command's /, a phone number...) carry only their type and position."""
    if len(raw) != 2 or type(raw.get("update_id")) is not int:
        return None
    message = raw.get("message")
    if type(message) is not dict or not _PLAIN_MESSAGE_KEYS.issuperset(message):
        return None
    sender, chat, text = message.get("from"), message.get("chat"), message.get("text")
    if type(sender) is not dict or type(chat) is not dict or type(text) is not str:
        return None
    message_id, date, name = message.get("message_id"), message.get("date"), sender.get("first_name")
    user_id, chat_id = sender.get("id"), chat.get("id")
    if (type(message_id) is not int or type(date) is not int or not 0 <= date < 2 ** 32 or type(name) is not str
            or type(user_id) is not int or type(chat_id) is not int or sender.get("is_bot") is not False
            or chat.get("type") != ChatType.PRIVATE):
        return None
    entities = message.get("entities", [])
    if type(entities) is not list or not all(
            type(e) is dict and _PLAIN_ENTITY_KEYS.issuperset(e) and type(e.get("type")) is str
            and type(e.get("offset")) is int and type(e.get("length")) is int for e in entities):
        return None
    return PlainText(raw["update_id"], Incoming(
        channel=NAME, user_id=str(user_id), chat_id=str(chat_id), text=text, kind="text", display_name=name,
        is_group=False, message_id=str(message_id)))


def read_update(raw: dict[str, Any], bot: ExtBot[Any]) -> Update | PlainText:
    """What the poller and the webhook hand to the Application. Raises when PTB cannot read it."""
    return plain_text(raw) or Update.de_json(raw, bot)


class PerUserProcessor(BaseUpdateProcessor):
    """Updates from different users run concurrently; one user's updates run in order.

    Fair: an update first waits for its user's turn and only then for one of `max_concurrent_updates`
    slots, so one user's queued flood never holds the slots everyone else needs (PTB's own semaphore
    is sized far above the slots). A user with more than MAX_QUEUED_PER_USER updates waiting is
    flooding: further updates from them are dropped (logged) until the queue drains.
    """

    MAX_QUEUED_PER_USER = 30
    PENDING = 4096  # PTB's outer semaphore: only bounds tasks waiting for their user's turn

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(self.PENDING)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self.dropped = 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = 0
        if isinstance(update, PlainText):  # the same key its user's Update would have
            key = int(update.incoming.user_id)
        elif isinstance(update, Update):
            who = update.effective_user or update.effective_chat
            key = who.id if who is not None else 0
        if self._waiting.get(key, 0) >= self.MAX_QUEUED_PER_USER:
            self.dropped += 1
            if hasattr(coroutine, "close"):
                coroutine.close()  # never awaited: say so to Python, not as a warning
            log.warning("Dropped an update from a user with %d updates waiting (flood)", self._waiting[key])
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


async def with_retries(call: Callable[[], Awaitable[T]], what: str,
                       on_retry: Callable[[str], None] | None = None) -> T:
    """Retry a Bot API call on network errors and time-outs, with exponential backoff.

    Flood limits (429) are the rate limiter's business; a bad request or a blocked bot is final.
    A retried send may, rarely, arrive twice (the first attempt reached Telegram but the answer
    was lost); that beats losing it.
    """
    for attempt in range(SEND_RETRIES + 1):
        try:
            return await call()
        except (BadRequest, Forbidden, InvalidToken, Conflict, ChatMigrated, RetryAfter):
            raise
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            if attempt == SEND_RETRIES:
                raise
            delay = BACKOFF * 2 ** attempt
            log.warning("Telegram %s failed (%s); retry %d in %.1fs", what, exc, attempt + 1, delay)
            if on_retry is not None:
                on_retry(what)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def bot_commands(router: Router, role: str | None = "member") -> list[BotCommand]:
    """/start, then the commands `role` may use (as /trogiup lists them for that role), then /help."""
    commands: list[BotCommand] = []
    seen: set[str] = set()
    for command, description in [START_HELP, *router.help_lines(role), HELP_EN]:
        name = command.split()[0].lstrip("/").lower()
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or name in seen or not description.strip():
            continue
        seen.add(name)
        commands.append(BotCommand(name, description.strip()[:256]))
    return commands[:100]


# --- the channel --------------------------------------------------------------------------------

class TelegramChannel:
    name = NAME

    def __init__(self, deps: Deps, application: Application, webhook_url: str) -> None:
        self.deps = deps
        self.application = application
        self.webhook_url = webhook_url
        self.needs_server = bool(webhook_url)
        self.menus: dict[int, str] = {}  # private chats given a leader's or admin's menu, by role
        self.poller: Poller | None = None
        application.add_handler(TypeHandler(Update, self.on_update))
        application.add_handler(TypeHandler(PlainText, self.on_plain_text))
        application.add_error_handler(self.on_error)

    @property
    def bot(self):
        return self.application.bot

    def _retry(self, call: Callable[[], Awaitable[T]], what: str) -> Awaitable[T]:
        return with_retries(call, what, lambda method: metrics.get(self.deps).api_retry(NAME, method))

    def queue_depth(self) -> int:
        """Updates taken from Telegram and not yet answered."""
        health = metrics.get(self.deps).channels.get(NAME)
        waiting = len(self.poller.in_flight) if self.poller is not None else self.application.update_queue.qsize()
        return max(waiting, health.in_flight if health else 0)

    async def register_webhook(self) -> None:
        """setWebhook with the secret; `run_channels` calls it once the server listens."""
        settings = self.deps.settings
        try:
            await self._retry(lambda: self.bot.set_webhook(
                self.webhook_url, secret_token=settings.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False), "setWebhook")
        except (NetworkError, InvalidToken) as exc:
            raise StartupError(f"Không đặt được webhook Telegram: {exc}") from exc

    # Incoming -----------------------------------------------------------------------------------

    def to_incoming(self, update: Update) -> tuple[Incoming, int | None] | None:
        """The core's view of an update, and the message to reply to in groups; None to ignore it."""
        query = update.callback_query
        if query is not None:
            message = query.message
            chat = message.chat if message is not None else None
            chat_id = chat.id if chat is not None else query.from_user.id
            payload = self._expand(chat_id, query.data or "")
            return Incoming(
                channel=NAME, user_id=str(query.from_user.id), chat_id=str(chat_id),
                text=self._label(message, query.data or ""), payload=payload,
                display_name=query.from_user.first_name or "",
                is_group=chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP),
                message_id=str(message.message_id) if message is not None else "",
            ), None
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return None
        kind = message_kind(message)
        if kind is None:
            return None
        chat = message.chat
        is_group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        if chat.type == ChatType.CHANNEL:
            return None
        text = message.text or ""
        if is_group:
            addressed = addressed_text(message, self.bot.id, self.bot.username or "")
            if addressed is None:
                return None
            text = addressed if kind == "text" else ""
        # Photos, contacts and the like are never downloaded or kept: only their kind goes on, and in a private
        # chat the caption typed under them (a question about the screenshot), redacted like any text.
        if kind != "text":
            text = "" if is_group else (message.caption or "")
        incoming = Incoming(
            channel=NAME, user_id=str(message.from_user.id), chat_id=str(chat.id),
            text=text, kind=kind,
            display_name=message.from_user.first_name or "", is_group=is_group,
            message_id=str(message.message_id),
        )
        return incoming, message.message_id if is_group else None

    @staticmethod
    def _label(message: object, data: str) -> str:
        """The pressed button's label, read back from the message's keyboard."""
        markup = getattr(message, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", ()) or ():
            for button in row:
                if button.callback_data == data:
                    return button.text
        return ""

    def _expand(self, chat_id: int, data: str) -> str:
        if not data.startswith("~"):
            return data
        state = self.deps.storage.load_session(BUTTONS_KEY.format(chat_id=chat_id))
        # An unknown short id becomes an unknown payload, which the core answers as a stale button.
        return state.get("map", {}).get(data, "~")

    def _remember(self, chat_id: int, long_payloads: dict[str, str]) -> None:
        key = BUTTONS_KEY.format(chat_id=chat_id)
        state = self.deps.storage.load_session(key)
        mapping: dict[str, str] = state.get("map", {})
        for short, payload in long_payloads.items():
            mapping.pop(short, None)
            mapping[short] = payload  # most recent last
        state["map"] = dict(list(mapping.items())[-BUTTONS_KEPT:])
        self.deps.storage.save_session(key, state, self.deps.clock())

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None:
            try:  # always, and first: it stops the spinner on the user's button
                await self._retry(lambda: query.answer(), "answerCallbackQuery")
            except TelegramError as exc:  # too old, or Telegram unreachable: the press is still handled
                log.warning("Callback query not answered: %s", exc)
        found = self.to_incoming(update)
        if found is None:
            return
        await self.answer(*found)

    async def on_plain_text(self, update: PlainText, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.answer(update.incoming, None)

    async def answer(self, incoming: Incoming, reply_to: int | None) -> None:
        async with metrics.update(self.deps, incoming):
            replies = await respond(incoming, self.deps)
            await self.deliver(int(incoming.chat_id), replies, reply_to)
        if not incoming.is_group:
            await self.sync_menu(incoming)

    async def sync_menu(self, incoming: Incoming) -> None:
        """Leaders and admins get their own command menu in their private chat (BotCommandScopeChat);
        everyone else keeps the default one, which lists only what members use."""
        role = self.deps.router.role_of(self.deps, incoming.user_key)
        role = role if role in ("leader", "commune", "province", "admin") else None
        chat_id = int(incoming.chat_id)
        if self.menus.get(chat_id) == role:
            return
        scope = BotCommandScopeChat(chat_id)
        try:
            if role is None:  # no longer a leader: back to the default menu
                await self._retry(lambda: self.bot.delete_my_commands(scope=scope), "deleteMyCommands")
            else:
                await self._retry(lambda: self.bot.set_my_commands(bot_commands(self.deps.router, role), scope=scope),
                                  "setMyCommands")
        except TelegramError as exc:  # the menu is a convenience; answering matters more
            log.warning("Could not set the command menu of a chat: %s", exc)
            return
        if role is None:
            self.menus.pop(chat_id, None)
        else:
            self.menus[chat_id] = role

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log (the logging filter masks secrets and personal data) and tell the user."""
        update_id = update.update_id if isinstance(update, Update | PlainText) else None
        sorry = apologise(context.error or RuntimeError("unknown"), f"handling Telegram update {update_id}")
        chat = update.effective_chat if isinstance(update, Update) else None
        chat_id = int(update.incoming.chat_id) if isinstance(update, PlainText) else chat.id if chat else None
        if chat_id is None:
            return
        try:
            await self._retry(lambda: self.bot.send_message(chat_id, sorry.text), "sendMessage")
        except Exception as exc:  # nothing more we can do; it is logged
            log.error("Could not tell chat about the error: %s", exc)

    # Outgoing -----------------------------------------------------------------------------------

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        """Proactive messages (digests, reminders) to a chat id."""
        target = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id  # "@channelname" too
        await self.deliver(target, replies)  # type: ignore[arg-type]

    async def deliver(self, chat_id: int, replies: list[Reply], reply_to: int | None = None) -> None:
        long_payloads: dict[str, str] = {}
        rendered = [(reply, keyboard(reply.choices, long_payloads) if reply.choices else None)
                    for reply in replies]
        if long_payloads:  # before sending, so a quick press finds them
            self._remember(chat_id, long_payloads)
        params: dict[str, Any] = {}
        if reply_to is not None:
            params["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
        for reply, markup in rendered:
            await self._send_one(chat_id, reply, markup, params)
            params = {}  # only the first message quotes the question

    async def _send_one(self, chat_id: int, reply: Reply, markup: Keyboard | None,
                        params: dict[str, Any]) -> None:
        """Text (split if long), then the image and/or the file; the keyboard goes on the last message."""
        attachments: list[tuple[str, Path]] = []
        for kind, path in (("photo", reply.image), ("document", reply.file)):
            if path is not None and path.is_file():
                attachments.append((kind, path))
            elif path is not None:
                log.error("Reply attachment is missing: %s", path.name)
        text = reply.text.strip()
        caption = text if attachments and utf16_len(text) <= MAX_CAPTION else ""
        chunks = [] if caption else split_text(text, MAX_MESSAGE)
        if not attachments and not chunks:
            chunks = ["…"]  # Telegram refuses an empty message
        for i, chunk in enumerate(chunks):
            last = not attachments and i == len(chunks) - 1
            await self._send_text(chat_id, chunk, markup if last else None, params)
            params = {}
        for i, (kind, path) in enumerate(attachments):
            last = i == len(attachments) - 1
            await self._send_file(chat_id, kind, path, caption if i == 0 else "", markup if last else None,
                                  params)
            params = {}

    async def _send_file(self, chat_id: int, kind: str, path: Path, caption: str,
                         keys: Keyboard | None, params: dict[str, Any]) -> None:
        bot = self.bot
        markup = InlineKeyboardMarkup.de_json(keys, bot) if keys else None
        data = await asyncio.to_thread(path.read_bytes)  # bytes, so a retry can send them again
        if kind == "photo":
            await self._retry(lambda: bot.send_photo(
                chat_id, data, caption=caption or None, reply_markup=markup, **params), "sendPhoto")
            return
        await self._retry(lambda: bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT), "sendChatAction")
        await self._retry(lambda: bot.send_document(
            chat_id, data, filename=path.name, caption=caption or None, reply_markup=markup, **params),
            "sendDocument")

    async def _send_text(self, chat_id: int, text: str, markup: Keyboard | None,
                         params: dict[str, Any]) -> None:
        bot: LeanBot = self.bot
        await self._retry(lambda: bot.send_text(chat_id, text, markup, params.get("reply_parameters")),
                          "sendMessage")

    # Webhook ------------------------------------------------------------------------------------

    async def on_webhook(self, request: web.Request) -> web.Response:
        secret = self.deps.settings.telegram_webhook_secret.encode("utf-8")
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode("utf-8")
        if not hmac.compare_digest(given, secret):
            return web.Response(status=403, text="forbidden")
        if not self.application.running:
            return web.Response(status=503, text="stopping")  # Telegram delivers it again later
        try:
            body = await request.json()
            if not isinstance(body, dict) or type(body.get("update_id")) is not int:
                return web.Response(status=400, text="bad update")
            update = read_update(body, self.bot)
        except Exception:  # malformed JSON (also nested too deep) or not an update
            return web.Response(status=400, text="bad update")
        if update is None:
            return web.Response(status=400, text="bad update")
        if self._seen_before(update.update_id):
            return web.Response(text="ok")
        # Answer at once; the update is processed in the background like a polled one.
        await self.application.update_queue.put(update)
        return web.Response(text="ok")

    def _seen_before(self, update_id: int) -> bool:
        """Telegram redelivers when it did not get our 200; remember ids across restarts."""
        now = self.deps.clock()
        return not self.deps.storage.first_delivery(NAME, str(update_id), now, _prune_before(now, [update_id]))

    # Long polling: process, then confirm ----------------------------------------------------------

    async def start_polling(self, poll_timeout: float) -> None:
        """Delete any webhook (keeping pending updates), then poll in the background."""
        await self._retry(lambda: self.bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")
        self.poller = Poller(self, poll_timeout)
        self.poller.start()

    # Lifecycle ----------------------------------------------------------------------------------

    async def stop(self) -> None:
        app = self.application
        if self.poller is not None:
            await self.poller.stop()  # bounded, even when Telegram is unreachable
        updater = app.updater
        if updater is not None and updater.running:
            await updater.stop()
        if app.running:
            await app.stop()  # finishes the (webhook) updates already taken
        await app.shutdown()


SEEN_KEEP = dt.timedelta(days=2)  # remembered update ids: Telegram redelivers within a day at most


def _prune_before(now: dt.datetime, update_ids: list[int]) -> dt.datetime | None:
    """When recording these update ids, forget the ones older than SEEN_KEEP too: about once every 500
    updates (webhook and polling alike)."""
    return now - SEEN_KEEP if any(i % 500 == 0 for i in update_ids) else None


class Poller:
    """getUpdates that confirms an update only once it was processed (at-least-once, never lost).

    Telegram confirms every update below the `offset` of the next getUpdates call. PTB's updater moves
    the offset as soon as it *fetches* updates, so updates fetched but not yet answered were lost on a
    crash. Here the offset is the oldest update still being processed: a crash or restart gets every
    unfinished update again. Processed ids are remembered (seen_messages), so a redelivered update that
    was already answered is not answered again. Updates of different users run concurrently through the
    application's fair per-user processor; failures back off to at most MAX_BACKOFF seconds.

    The answered ids are written in one transaction per turn of the loop, just before the getUpdates call
    that confirms them (not one commit per update): nothing confirmed to Telegram is unrecorded. Only a
    crash (not a stop) between an answer and the next turn, at most BATCH_WAIT later, gets that update
    delivered and answered again after the restart, as a crash between sending and recording always could.
    """

    MAX_BACKOFF = 5.0
    STOP_GRACE = 10.0  # seconds in-flight updates get to finish on stop; the rest stay unconfirmed
    BATCH_WAIT = 0.5  # seconds a fetched batch gets to finish before the next getUpdates re-sends what is left

    def __init__(self, channel: TelegramChannel, poll_timeout: float) -> None:
        self.channel, self.poll_timeout = channel, poll_timeout
        self.in_flight: dict[int, asyncio.Task[None]] = {}
        self.answered: list[int] = []  # update ids answered since the last turn, not yet recorded
        self.next_offset = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    @property
    def offset(self) -> int:
        return min(self.in_flight) if self.in_flight else self.next_offset

    async def _run(self) -> None:
        bot = self.channel.bot
        failures = 0
        while True:
            self.record_answered()  # before the call below confirms them
            busy = bool(self.in_flight)
            try:
                updates = await bot.fetch_updates(
                    offset=self.offset or None, timeout=0 if busy else self.poll_timeout,
                    allowed_updates=ALLOWED_UPDATES, read_timeout=self.poll_timeout + 10)
            except (InvalidToken, Conflict) as exc:
                log.error("Telegram polling refused: %s", exc)
                failures += 1
                await asyncio.sleep(self.MAX_BACKOFF)
                continue
            except TelegramError as exc:
                failures += 1
                delay = min(self.MAX_BACKOFF, 0.5 * 2 ** (failures - 1))
                log.warning("Telegram getUpdates failed (%s); retry in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            # Updates still in flight come again in every answer until they are done: only new ones are parsed.
            for raw in updates:
                update_id = raw.get("update_id")
                if type(update_id) is not int or update_id < self.next_offset or update_id in self.in_flight:
                    continue
                self.next_offset = update_id + 1
                if self._done_before(update_id):
                    continue
                try:
                    update = read_update(raw, bot)
                except Exception:  # PTB cannot read it: it would come back forever; skip it, and say so
                    log.exception("Skipped Telegram update %s that could not be read", update_id)
                    continue
                self.in_flight[update_id] = asyncio.create_task(self._process(update))
            if self.in_flight:
                # The next call must ask again from the oldest unfinished update, so Telegram would send the
                # whole batch again: let the batch finish first (bounded, so one slow export cannot hold
                # everyone up for long), then ask from past it.
                await asyncio.wait(list(self.in_flight.values()), timeout=self.BATCH_WAIT)

    def _done_before(self, update_id: int) -> bool:
        return self.channel.deps.storage.seen(NAME, str(update_id))

    def record_answered(self) -> None:
        """Remember the updates answered since the last call, in one transaction."""
        if not self.answered:
            return
        ids, self.answered = self.answered, []
        deps = self.channel.deps
        now = deps.clock()
        try:
            deps.storage.remember_delivered(NAME, [str(i) for i in ids], now, _prune_before(now, ids))
        except sqlite3.Error as exc:  # read-only or full database: answered again if delivered again
            log.warning("Could not record %d answered Telegram updates: %s", len(ids), exc)

    async def _process(self, update: Update | PlainText) -> None:
        app = self.channel.application
        work = app.process_update(update)
        try:
            await app.update_processor.process_update(update, work)
            self.answered.append(update.update_id)  # recorded before the next getUpdates confirms it
        except Exception:  # process_update reports handler errors itself; this is a last resort
            log.exception("Error while processing Telegram update %s", update.update_id)
        finally:
            work.close()  # a no-op once it ran; stops a "never awaited" warning when cancelled first
            self.in_flight.pop(update.update_id, None)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.in_flight:
            await asyncio.wait(list(self.in_flight.values()), timeout=self.STOP_GRACE)
        confirm = self.offset  # before cancelling: what is still unfinished stays unconfirmed
        for task in list(self.in_flight.values()):
            task.cancel()  # not confirmed: Telegram delivers it again after the restart
        await asyncio.gather(*self.in_flight.values(), return_exceptions=True)
        self.record_answered()
        try:  # confirm what was processed
            await asyncio.wait_for(self.channel.bot.get_updates(
                offset=confirm or None, timeout=0, allowed_updates=ALLOWED_UPDATES), 5)
        except Exception as exc:  # unreachable: those updates come again and are skipped as answered
            log.info("Could not confirm processed updates on stop: %s", exc)


class LeanBot(ExtBot[int]):
    """PTB's bot, plus a sendMessage that does not turn Telegram's answer into a `Message`.

    Nothing here reads the message Telegram sends back, and building it (every field of the message and
    of its keyboard through TelegramObject.__setattr__) took about 0.2 ms of CPU per reply, as much as
    the rest of the send. The call itself is PTB's: the same defaults, flood limiter and error mapping.
    """

    async def fetch_updates(self, offset: int | None, timeout: float, allowed_updates: list[str],
                            read_timeout: float) -> list[dict[str, Any]]:
        """getUpdates as Telegram's JSON: the poller parses only the updates it has not taken yet (while some
        are in flight, each answer repeats them). Time-outs as PTB's get_updates sets them."""
        result = await self._post("getUpdates", {"offset": offset, "timeout": timeout,
                                                 "allowed_updates": allowed_updates},
                                  read_timeout=read_timeout + timeout)
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def send_text(self, chat_id: int, text: str, reply_markup: Keyboard | None = None,
                        reply_parameters: ReplyParameters | None = None) -> None:
        await self._post("sendMessage", {"chat_id": chat_id, "text": text, "reply_markup": reply_markup,
                                         "reply_parameters": reply_parameters})


def build_application(settings, max_rate: float | None,
                      on_error: Callable[[str], None] | None = None) -> Application:
    limiter = AIORateLimiter(
        overall_max_rate=max_rate or 0, group_max_rate=FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP if max_rate else 0,
        max_retries=3)
    bot = LeanBot(
        settings.telegram_bot_token, base_url=settings.telegram_base_url,
        request=AiohttpRequest(connection_pool_size=16, connect_timeout=10, read_timeout=15,
                               write_timeout=15, pool_timeout=10, media_write_timeout=60, on_error=on_error),
        get_updates_request=AiohttpRequest(connection_pool_size=2, connect_timeout=10, read_timeout=10,
                                           write_timeout=10, pool_timeout=10, on_error=on_error),
        rate_limiter=limiter)
    return Application.builder().bot(bot).concurrent_updates(PerUserProcessor(CONCURRENT_UPDATES)).build()


async def start(deps: Deps, web_app: web.Application, *, poll_timeout: float = 30,
                max_rate: float | None = FloodLimit.MESSAGES_PER_SECOND) -> TelegramChannel:
    """Connect to the Bot API, register commands, and start polling or the webhook route.

    `max_rate` is the outgoing message rate the flood limiter allows (None: no throttling,
    429 answers are still retried); `poll_timeout` is the long-polling wait in seconds.
    """
    settings = deps.settings
    webhook_url = settings.telegram_webhook_url
    if webhook_url and not settings.telegram_webhook_secret:
        raise StartupError("Dùng webhook Telegram thì phải đặt TELEGRAM_WEBHOOK_SECRET.")
    if webhook_url and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.telegram_webhook_secret):
        raise StartupError("TELEGRAM_WEBHOOK_SECRET chỉ được gồm chữ cái không dấu, chữ số, dấu _ và -, "
                           "dài tối đa 256 ký tự.")
    application = build_application(settings, max_rate,
                                    lambda method: metrics.get(deps).api_error(NAME, method))
    channel = TelegramChannel(deps, application, webhook_url)
    try:
        await application.initialize()  # getMe: checks the token
    except InvalidToken as exc:
        raise StartupError("Telegram không chấp nhận mã bot (TELEGRAM_BOT_TOKEN). "
                           "Bạn kiểm tra lại mã lấy từ @BotFather nhé.") from exc
    except NetworkError as exc:
        raise StartupError(f"Không kết nối được tới máy chủ Telegram ({settings.telegram_base_url}). "
                           "Bạn kiểm tra mạng hoặc TELEGRAM_BASE_URL nhé.") from exc
    try:
        try:
            await channel._retry(lambda: application.bot.set_my_commands(bot_commands(deps.router)), "setMyCommands")
        except Exception as exc:  # the menu is a convenience; the bot works without it
            log.warning("Could not set the Telegram command menu: %s", exc)
        await application.start()
        if webhook_url:
            web_app.router.add_post(urlparse(webhook_url).path or "/", channel.on_webhook)
            if not web_app.get(DEFER_WEBHOOK, False):
                await channel.register_webhook()
        else:
            await channel.start_polling(poll_timeout)  # process, then confirm
    except BaseException as exc:
        await channel.stop()
        if isinstance(exc, NetworkError | InvalidToken):
            raise StartupError(f"Không khởi động được kênh Telegram: {exc}") from exc
        raise
    log.info("Telegram bot @%s started (%s)", application.bot.username,
             "webhook" if webhook_url else "long polling")
    return channel
