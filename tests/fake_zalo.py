"""A loopback fake of the Zalo Bot API, following the wire format in shared/reference/zalo.md (section 1).

`/bot{token}/{method}`, POST JSON, `{ok, result}` or `{ok: false, error_code, description}`.
getUpdates hands out ONE queued update per call, or error 408 after a (short) wait. sendMessage
enforces 1-2000 characters (counted in UTF-16 units, like Zalo's JavaScript side).
Knobs: `fail(method, kind)` makes the next call of `method` answer 429, 502 (an HTML page) or drop
the connection. `push()` queues an event for polling; `post_webhook()` delivers one to a webhook.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.waiting import until

TOKEN = "1234567890:fake-zalo-bot-secret"
TEXT_LIMIT = 2000


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(code: int, description: str, status: int | None = None) -> web.Response:
    return web.json_response({"ok": False, "error_code": code, "description": description},
                             status=status or code)


class FakeZalo:
    def __init__(self, token: str = TOKEN, poll_wait: float = 0.2) -> None:
        self.token = token
        self.poll_wait = poll_wait  # how long an idle getUpdates waits before 408 (Zalo: up to `timeout`)
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every call answered ok:true, in order
        self.requests: list[str] = []  # every method called, whatever the answer
        self.webhook: dict[str, Any] = {"url": "", "secret": "", "updated_at": 0}
        self._failures: dict[str, list[str]] = {}
        self.failed: list[tuple[str, str]] = []
        self.server: TestServer | None = None

    # --- server ---------------------------------------------------------------------------------

    async def start(self) -> FakeZalo:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def fail(self, method: str, kind: str) -> None:
        """Make the next `method` call fail: "429", "502" (HTML from a proxy) or "drop" (connection closed)."""
        self._failures.setdefault(method, []).append(kind)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        self.requests.append(method)
        queued = self._failures.get(method)
        if queued:
            kind = queued.pop(0)
            self.failed.append((method, kind))
            if kind == "429":
                return _error(429, "Too Many Requests: quota exceeded")
            if kind == "502":
                return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>",
                                    content_type="text/html")
            if kind == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response()  # never reaches the client
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return _error(400, "Bad Request: invalid JSON")
        if not isinstance(body, dict):
            return _error(400, "Bad Request: body must be an object")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        response = await handler(body)
        if response.status == 200 and json.loads(response.text or "{}").get("ok"):
            self.calls.append((method, body))
        return response

    # --- methods --------------------------------------------------------------------------------

    async def _m_getMe(self, body: dict[str, Any]) -> web.Response:
        return _ok({"id": self.token.split(":")[0], "account_name": "Bot Tổ CNS", "account_type": "BASIC",
                    "can_join_groups": False})

    async def _m_getUpdates(self, body: dict[str, Any]) -> web.Response:
        if self.webhook["url"]:
            return _error(409, "Conflict: webhook is active, call deleteWebhook first")
        try:
            timeout = float(body.get("timeout", 30))
        except (TypeError, ValueError):
            return _error(400, "Bad Request: timeout must be a number")
        try:
            update = await asyncio.wait_for(self.updates.get(), min(timeout, self.poll_wait))
        except TimeoutError:
            return _error(408, "Request timeout", status=200)
        return _ok(update)

    def _message_ok(self) -> web.Response:
        return _ok({"message_id": secrets.token_hex(10), "date": int(time.time() * 1000)})

    def _chat_id_ok(self, body: dict[str, Any]) -> bool:
        return isinstance(body.get("chat_id"), str) and bool(body["chat_id"])

    async def _m_sendMessage(self, body: dict[str, Any]) -> web.Response:
        text = body.get("text")
        if not self._chat_id_ok(body):
            return _error(400, "Bad Request: chat_id is required")
        if not isinstance(text, str) or not 1 <= _utf16_len(text) <= TEXT_LIMIT:
            return _error(400, "Bad Request: text must be 1-2000 characters")
        return self._message_ok()

    async def _m_sendPhoto(self, body: dict[str, Any]) -> web.Response:
        photo = body.get("photo")
        if not self._chat_id_ok(body) or not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            return _error(400, "Bad Request: photo must be an image URL")
        if len(body.get("caption") or "") > TEXT_LIMIT:
            return _error(400, "Bad Request: caption too long")
        return self._message_ok()

    async def _m_sendSticker(self, body: dict[str, Any]) -> web.Response:
        if not self._chat_id_ok(body) or not body.get("sticker"):
            return _error(400, "Bad Request: sticker is required")
        return self._message_ok()

    async def _m_sendChatAction(self, body: dict[str, Any]) -> web.Response:
        if not self._chat_id_ok(body) or body.get("action") != "typing":
            return _error(400, "Bad Request: unsupported action")
        return web.json_response({"ok": True})

    async def _m_setWebhook(self, body: dict[str, Any]) -> web.Response:
        url, secret = body.get("url"), body.get("secret_token")
        if not isinstance(url, str) or not url.startswith("https://"):
            return _error(400, "Bad Request: url must be https")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            return _error(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret": secret, "updated_at": int(time.time() * 1000)}
        return _ok({"url": url, "updated_at": self.webhook["updated_at"]})

    async def _m_deleteWebhook(self, body: dict[str, Any]) -> web.Response:
        self.webhook = {"url": "", "secret": "", "updated_at": int(time.time() * 1000)}
        return _ok({"url": "", "updated_at": self.webhook["updated_at"]})

    async def _m_getWebhookInfo(self, body: dict[str, Any]) -> web.Response:
        return _ok({"url": self.webhook["url"], "updated_at": self.webhook["updated_at"]})

    # --- test helpers ---------------------------------------------------------------------------

    @staticmethod
    def event(text: str | None = None, *, user: str = "6ede9afa66b88fe6d6a9", name: str = "Lan",
              kind: str = "text", message_id: str | None = None, chat_type: str = "PRIVATE",
              first_name: bool = False) -> dict[str, Any]:
        """A bare `{event_name, message}` as Zalo sends it; ids are hex strings, `date` is in ms."""
        sender: dict[str, Any] = {"id": user, "is_bot": False}
        sender["first_name" if first_name else "display_name"] = name
        message: dict[str, Any] = {
            "message_id": message_id or secrets.token_hex(10),
            "date": int(time.time() * 1000),
            "from": sender,
            "chat": {"id": user, "chat_type": chat_type},
        }
        if kind == "text":
            message["text"] = text or ""
        elif kind == "image":
            message.update(photo_url="https://photo.zalo.example/abc.jpg", caption=text or "")
        elif kind == "sticker":
            message["sticker"] = "9a1b2c"
        elif kind == "voice":
            message["voice_url"] = "https://voice.zalo.example/abc.aac"
        return {"event_name": f"message.{kind}.received", "message": message}

    def push(self, text: str | None = None, **kw: Any) -> dict[str, Any]:
        """Queue an event for the next getUpdates; returns it."""
        event = kw.pop("raw", None) or self.event(text, **kw)
        self.updates.put_nowait(event)
        return event

    async def post_webhook(self, url: str, event: dict[str, Any] | str, *, secret: str | None = None,
                           wrapped: bool = True) -> int:
        """POST one event to the adapter's webhook as Zalo would; returns the HTTP status."""
        if isinstance(event, str):
            data = event.encode()
        else:
            data = json.dumps({"ok": True, "result": event} if wrapped else event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Bot-Api-Secret-Token"] = secret
        async with aiohttp.ClientSession() as session, session.post(url, data=data, headers=headers) as resp:
            await resp.read()
            return resp.status

    def sent(self, chat_id: str | None = None, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [body for m, body in self.calls if m == method and (chat_id is None or body.get("chat_id") == chat_id)]

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [body["text"] for body in self.sent(chat_id)]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        try:
            await until(condition, "the condition", timeout)
        except AssertionError:
            raise AssertionError(f"timed out; calls so far: {[m for m, _ in self.calls]}") from None

    async def wait_texts(self, count: int, chat_id: str | None = None, timeout: float = 20.0) -> list[str]:
        """Wait until `count` text messages reached the chat; returns them all."""
        await self.wait_for(lambda: len(self.texts(chat_id)) >= count, timeout)
        return self.texts(chat_id)
