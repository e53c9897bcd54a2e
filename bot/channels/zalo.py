"""Zalo channel on the Zalo Bot API (bot-api.zaloplatforms.com), not the Official Account API.

Calls are POST JSON to `{ZALO_BASE_URL}/bot{TOKEN}/{method}` and answer `{ok, result}`; an HTTP 2xx
can still carry `ok: false`. Long polling by default (`getUpdates` returns ONE update, or error 408
when idle; there are no offsets), a webhook on the shared aiohttp server when ZALO_WEBHOOK_URL is set.
Zalo has no buttons and no documents: choices become a numbered list, files become download links.
URLs carry the token, so only method names are ever logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlparse

import aiohttp
from aiohttp import web

from .. import downloads, metrics
from ..core import Deps, Incoming, Reply, apologise, respond
from .base import DEFER_WEBHOOK, StartupError
from .render import split_text, with_numbered_choices

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000  # sendMessage rejects longer texts
POLL_TIMEOUT = 30  # seconds getUpdates may hold the request
CALL_TIMEOUT = 20.0
SEND_ATTEMPTS = 4
BACKOFF_BASE = 1.0  # seconds; tests shrink it
BACKOFF_CAP = 60.0
TYPING_EVERY = 5.0
SHUTDOWN_GRACE = 20.0  # seconds a stopping bot gives replies already being written (systemd waits 30)
SEEN_KEEP = dt.timedelta(days=2)  # Zalo redelivers within minutes; two days is plenty
SECRET_HEADER = "X-Bot-Api-Secret-Token"
IDLE = 408  # getUpdates: nothing new, not an error

KINDS = {
    "message.text.received": "text",
    "message.image.received": "photo",
    "message.sticker.received": "sticker",
    "message.voice.received": "voice",
    # Sent instead of the content for legally protected senders (e.g. minors).
    "message.unsupported.received": "other",
}

NO_FILE_HINT = ("Zalo chưa gửi được tệp đính kèm. Muốn nhận tệp, bạn dùng bot trên Telegram "
                "hoặc bản chạy trên máy tính nhé.")
LINK_NOTE = "Tải tệp {name} tại đây (liên kết dùng được trong 24 giờ):\n{link}"


MAX_QUEUED_PER_USER = 30  # one person's messages waiting; more is a flood and is dropped


class ZaloError(Exception):
    """The Bot API answered `ok: false`."""

    def __init__(self, method: str, code: int, description: str) -> None:
        super().__init__(f"{method}: {code} {description}")
        self.method, self.code, self.description = method, code, description

    @property
    def retryable(self) -> bool:
        return self.code == 429 or self.code >= 500


class NetworkError(Exception):
    """No usable answer (connection dropped, timeout, a proxy's HTML error page). Never carries the URL."""


class SendError(RuntimeError):
    """A message could not be delivered even after retries."""


def backoff(attempt: int) -> float:
    """Exponential delay with jitter, capped: about 1, 2, 4 ... BACKOFF_CAP seconds."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempt - 1, 0)) * random.uniform(0.5, 1.0)


class ZaloApi:
    """The `{ok, result}` envelope over one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str,
                 on_error: Callable[[str], None] | None = None) -> None:
        self._session = session
        self._prefix = f"{base_url.rstrip('/')}/bot{token}/"
        self._on_error = on_error  # called with the method name of each failed call

    def _failed(self, method: str) -> None:
        if self._on_error is not None:
            self._on_error(method)

    async def call(self, method: str, payload: dict[str, Any] | None = None,
                   timeout: float = CALL_TIMEOUT) -> Any:
        try:
            async with self._session.post(self._prefix + method, json=payload or {},
                                          timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                status = resp.status
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # `from None`: aiohttp exceptions print the request URL, which holds the token.
            self._failed(method)
            raise NetworkError(f"{method}: {type(exc).__name__}") from None
        if not isinstance(body, dict) or "ok" not in body:
            self._failed(method)
            raise NetworkError(f"{method}: HTTP {status} without a Bot API answer")
        if body["ok"] is not True:
            if not (method == "getUpdates" and body.get("error_code") == IDLE):  # idle polling is no error
                self._failed(method)
            try:
                code = int(body.get("error_code") or status)
            except (TypeError, ValueError):
                code = status
            raise ZaloError(method, code, str(body.get("description") or "")[:200])
        return body.get("result")


def parse_event(body: Any) -> tuple[str, dict[str, Any]]:
    """(event_name, message) from a wrapped `{ok, result: {...}}` or a bare `{event_name, message}` body."""
    if not isinstance(body, dict):
        raise ValueError("not an object")
    if "event_name" not in body and "result" in body:
        if body.get("ok") is False:
            raise ValueError("ok is false")
        body = body["result"]
        if not isinstance(body, dict):
            raise ValueError("result is not an object")
    name, message = body.get("event_name"), body.get("message")
    if not isinstance(name, str) or not isinstance(message, dict):
        raise ValueError("no event_name or message")
    return name, message


def to_incoming(event_name: str, message: dict[str, Any]) -> Incoming | None:
    """The core's view of an event; None for events the bot does not answer (unknown, from a bot)."""
    kind = KINDS.get(event_name)
    sender = message.get("from")
    chat: dict[str, Any] = message["chat"] if isinstance(message.get("chat"), dict) else {}
    if kind is None or not isinstance(sender, dict) or sender.get("is_bot"):
        return None
    user_id = str(sender.get("id") or "")
    chat_id = str(chat.get("id") or user_id)
    if not user_id:
        return None
    # Never keep what a photo or voice note contains; a caption typed under a photo in a private chat is text.
    is_group = chat.get("chat_type") == "GROUP"
    text = message.get("text") if kind == "text" else ("" if is_group else message.get("caption"))
    name = sender.get("display_name") or sender.get("first_name") or ""
    message_id = str(message.get("message_id") or "")
    if not message_id:  # redeliveries of an event without an id are recognised by their content
        digest = hashlib.sha256(json.dumps(message, sort_keys=True, default=str).encode("utf-8")).hexdigest()
        message_id = f"h{digest[:32]}"
    return Incoming(
        channel="zalo", user_id=user_id, chat_id=chat_id,
        text=text if isinstance(text, str) else "", kind=kind,
        display_name=str(name)[:64], is_group=is_group,
        message_id=message_id,
    )


class ZaloChannel:
    name = "zalo"

    def __init__(self, deps: Deps, session: aiohttp.ClientSession) -> None:
        settings = deps.settings
        self.deps = deps
        self.api = ZaloApi(session, settings.zalo_base_url, settings.zalo_bot_token,
                           lambda method: metrics.get(deps).api_error(self.name, method))
        self.webhook_url = settings.zalo_webhook_url
        self.needs_server = bool(self.webhook_url)
        self.account = ""
        self._session = session
        self._secret = settings.zalo_webhook_secret
        self._poller: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._waiting: dict[str, int] = {}  # messages per user waiting for or being answered
        self.dropped = 0
        self._pruned_at = 0.0
        self._closing = False

    # --- start and stop -------------------------------------------------------------------------

    async def begin(self, web_app: web.Application) -> None:
        me = await self._get_me()
        self.account = str(me.get("account_name") or me.get("id") or "")
        if self.webhook_url:
            path = self._check_webhook_settings()
            web_app.router.add_post(path, self.webhook)
            if not web_app.get(DEFER_WEBHOOK, False):
                await self.register_webhook()
            log.info("Zalo bot %s: webhook on %s", self.account, path)
        else:
            try:
                await self.api.call("deleteWebhook")
            except (ZaloError, NetworkError) as exc:
                log.warning("Zalo deleteWebhook failed (%s); polling may be refused", exc)
            self._poller = asyncio.create_task(self._poll(), name="zalo-poll")
            log.info("Zalo bot %s: long polling", self.account)

    async def register_webhook(self) -> None:
        """setWebhook with the secret; `run_channels` calls it once the server listens."""
        try:
            await self.api.call("setWebhook", {"url": self.webhook_url, "secret_token": self._secret})
        except ZaloError as exc:
            raise StartupError(f"Zalo không nhận địa chỉ webhook ZALO_WEBHOOK_URL: {exc.description}") from None
        except NetworkError:
            raise StartupError("Không đặt được webhook Zalo vì lỗi mạng. Bạn thử lại sau nhé.") from None

    def _check_webhook_settings(self) -> str:
        url = urlparse(self.webhook_url)
        if url.scheme != "https" or not url.netloc:
            raise StartupError("ZALO_WEBHOOK_URL phải là địa chỉ https công khai, ví dụ https://bot.example.vn/zalo")
        if not 8 <= len(self._secret) <= 256:
            raise StartupError("Khi dùng ZALO_WEBHOOK_URL, cần đặt ZALO_WEBHOOK_SECRET dài từ 8 đến 256 ký tự.")
        return url.path if url.path not in ("", "/") else "/zalo"

    async def _get_me(self) -> dict[str, Any]:
        for attempt in range(1, 4):
            try:
                me = await self.api.call("getMe")
                return me if isinstance(me, dict) else {}
            except ZaloError as exc:
                if exc.code in (401, 403, 404):
                    raise StartupError(
                        "Zalo không chấp nhận mã bot ZALO_BOT_TOKEN. Hãy kiểm tra lại mã trong Zalo Bot Creator "
                        "(dạng <số>:<chuỗi ký tự>) rồi chạy lại."
                    ) from None
                if not exc.retryable:
                    raise StartupError(f"Zalo báo lỗi khi kiểm tra bot: {exc.code} {exc.description}") from None
            except NetworkError:
                pass
            if attempt < 3:
                await asyncio.sleep(backoff(attempt))
        host = urlparse(self.deps.settings.zalo_base_url).netloc
        raise StartupError(f"Không kết nối được tới máy chủ Zalo ({host}). Hãy kiểm tra mạng và ZALO_BASE_URL.")

    async def stop(self) -> None:
        self._closing = True
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        if self._tasks:
            # Let answers already being written go out; then give up on the rest.
            _, pending = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._session.close()

    # --- receiving ------------------------------------------------------------------------------

    async def _poll(self) -> None:
        failures = 0
        while True:
            try:
                update = await self.api.call("getUpdates", {"timeout": POLL_TIMEOUT}, timeout=POLL_TIMEOUT + 15)
            except ZaloError as exc:
                if exc.code == IDLE:
                    failures = 0
                    continue
                failures += 1
                log.warning("Zalo getUpdates refused: %s %s", exc.code, exc.description)
            except NetworkError as exc:
                failures += 1
                log.warning("Zalo getUpdates failed: %s", exc)
            except Exception:  # a bug must not stop the bot from listening
                failures += 1
                log.exception("Zalo polling error")
            else:
                failures = 0
                self._accept(update)
                continue
            await asyncio.sleep(backoff(failures))

    def _accept(self, body: Any) -> bool:
        """Queue one event for answering; False when the body is malformed."""
        try:
            event_name, message = parse_event(body)
        except ValueError:
            log.warning("Zalo sent a malformed update; ignored")
            return False
        incoming = to_incoming(event_name, message)
        if incoming is None:
            log.info("Zalo event %s ignored", event_name[:60])
        else:
            self._spawn(self._handle_safely(incoming))
        return True

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret.encode("utf-8")):
            log.warning("Zalo webhook call with a wrong secret refused")
            return web.json_response({"ok": False, "description": "forbidden"}, status=403)
        try:
            body = await request.json()
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            body = None
        if self._closing:  # shutting down: a non-2xx lets Zalo try again later
            return web.json_response({"ok": False, "description": "shutting down"}, status=503)
        # Answer at once; the reply is sent from a background task.
        if not self._accept(body):
            return web.json_response({"ok": False, "description": "malformed body"}, status=400)
        return web.json_response({"ok": True})

    def queue_depth(self) -> int:
        """Events taken from Zalo and not yet answered."""
        return len(self._tasks)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _first_delivery(self, message_id: str) -> bool:
        """Record the message id; False when it was seen before (a redelivery)."""
        now, prune = self.deps.clock(), None
        if time.monotonic() - self._pruned_at > 3600:
            prune = now - SEEN_KEEP
            self._pruned_at = time.monotonic()
        return self.deps.storage.first_delivery(self.name, message_id, now, prune)

    async def _handle(self, incoming: Incoming) -> None:
        if incoming.message_id and not self._first_delivery(incoming.message_id):
            log.info("Zalo message delivered twice; answered once")
            return
        waiting = self._waiting.get(incoming.user_key, 0)
        if waiting >= MAX_QUEUED_PER_USER:  # a flood: drop rather than queue without end
            self.dropped += 1
            log.warning("Dropped a Zalo message from a user with %d messages waiting (flood)", waiting)
            return
        lock = self._locks.get(incoming.user_key)
        if lock is None:
            lock = self._locks[incoming.user_key] = asyncio.Lock()
        self._waiting[incoming.user_key] = waiting + 1
        try:
            await self._answer(incoming, lock)
        finally:
            self._waiting[incoming.user_key] -= 1
            if not self._waiting[incoming.user_key]:
                del self._waiting[incoming.user_key]

    async def _answer(self, incoming: Incoming, lock: asyncio.Lock) -> None:
        async with lock:  # one user's messages are answered in order (the session is read then saved)
            done = asyncio.Event()
            typing = asyncio.create_task(self._typing(incoming.chat_id, done))
            async with metrics.update(self.deps, incoming):
                try:
                    replies = await respond(incoming, self.deps)
                except Exception as exc:  # respond never raises; a last resort all the same
                    replies = [apologise(exc, "answering a Zalo message")]
                finally:
                    done.set()
                # Let the typing call land first, or Zalo could show "typing" after the answer.
                _, pending = await asyncio.wait({typing}, timeout=2)
                for task in pending:
                    task.cancel()
                await self.send(incoming.chat_id, replies)

    async def _handle_safely(self, incoming: Incoming) -> None:
        try:
            await self._handle(incoming)
        except SendError as exc:
            log.error("Zalo reply not delivered: %s", exc)

    async def _typing(self, chat_id: str, done: asyncio.Event) -> None:
        """Show "typing" at once (even a quick answer starts with it), then again while work goes on."""
        while True:
            try:
                await self.api.call("sendChatAction", {"chat_id": chat_id, "action": "typing"}, timeout=5)
            except (ZaloError, NetworkError) as exc:
                log.debug("Zalo typing not shown: %s", exc)
            try:
                await asyncio.wait_for(done.wait(), TYPING_EVERY)
                return
            except TimeoutError:
                pass

    # --- sending --------------------------------------------------------------------------------

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        """Send replies as text messages; raise SendError when one cannot be delivered."""
        for reply in replies:
            text, photos = self._render(reply)
            for piece in split_text(text, TEXT_LIMIT):
                await self._call("sendMessage", {"chat_id": chat_id, "text": piece})
            for name, link in photos:
                try:
                    await self._call("sendPhoto", {"chat_id": chat_id, "photo": link})
                except SendError:
                    await self._call("sendMessage", {"chat_id": chat_id,
                                                     "text": LINK_NOTE.format(name=name, link=link)})

    def _render(self, reply: Reply) -> tuple[str, list[tuple[str, str]]]:
        """The message text, and (name, link) of images to send as photos."""
        text, notes, photos = reply.text, [], []
        if reply.file is not None or reply.image is not None:
            file_link = downloads.link_for(self.deps, reply.file) if reply.file is not None else None
            image_link = downloads.link_for(self.deps, reply.image) if reply.image is not None else None
            if file_link is None and image_link is None:
                text = reply.summary or reply.text
                notes.append(NO_FILE_HINT)
            if file_link is not None and reply.file is not None:
                notes.append(LINK_NOTE.format(name=reply.file.name, link=file_link))
            if image_link is not None and reply.image is not None:
                photos.append((reply.image.name, image_link))
        body = "\n\n".join(part for part in (text, *notes) if part)
        return with_numbered_choices(body, reply.choices, repeated=reply.repeated), photos

    async def _call(self, method: str, payload: dict[str, Any]) -> Any:
        """A send with retries on network errors, 429 and 5xx."""
        error: Exception | None = None
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await self.api.call(method, payload)
            except ZaloError as exc:
                if not exc.retryable:
                    raise SendError(str(exc)) from None
                error = exc
            except NetworkError as exc:
                error = exc
            log.info("Zalo %s failed (%s); retry %d", method, error, attempt)
            if attempt < SEND_ATTEMPTS:
                metrics.get(self.deps).api_retry(self.name, method)
                await asyncio.sleep(backoff(attempt))
        raise SendError(f"{error} after {SEND_ATTEMPTS} attempts")


async def start(deps: Deps, web_app: web.Application) -> ZaloChannel:
    """Check the token (getMe), then poll or register the webhook."""
    session = aiohttp.ClientSession(headers={"User-Agent": "tcns-bot"})
    channel = ZaloChannel(deps, session)
    try:
        await channel.begin(web_app)
    except BaseException:
        await session.close()
        raise
    return channel
