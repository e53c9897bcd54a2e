"""A loopback fake of the Telegram Bot API, speaking its real wire format.

Serves `/bot<TOKEN>/<method>` on 127.0.0.1, reading form-encoded, JSON or multipart bodies as
python-telegram-bot sends them, and answering `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}`.
Tests push updates (`push_text`, `push_callback`), which the bot gets by long polling, or which
the fake POSTs to the registered webhook like Telegram does, and await what the bot sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmno"
BOT_ID = 123456789
BOT_USERNAME = "tcns_test_bot"
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "entities", "reply_parameters",
               "link_preview_options", "scope", "caption_entities"}
SENDING = {"sendMessage", "sendPhoto", "sendDocument", "editMessageText"}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class FakeTelegram:
    def __init__(self, token: str = TOKEN, username: str = BOT_USERNAME) -> None:
        self.token, self.username = token, username
        self.bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Trợ lý TCNS", "username": username}
        self.pending: list[dict[str, Any]] = []  # updates not yet confirmed by an offset
        self.fetched = 0  # updates handed out by getUpdates, counting every time one is sent again
        self.update_ids = itertools.count(1000)
        self.message_ids = itertools.count(1)
        self.query_ids = itertools.count(1)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []  # messages the bot sent (results of the sending methods)
        self.sent_at: list[float] = []  # time.monotonic() of each sent message
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.open_queries: set[str] = set()
        self.answered: list[dict[str, Any]] = []
        self.commands: list[dict[str, str]] = []
        self.scoped_commands: dict[str, list[dict[str, str]]] = {}  # "chat:<id>" -> that chat's menu
        self.webhook: dict[str, Any] = {"url": ""}
        self.faults: dict[str, list[ApiError]] = {}
        self.delays: dict[str, list[float]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0
        self.closing = False

    # --- server -----------------------------------------------------------------------------

    async def start(self, port: int = 0, routes: list[web.RouteDef] | None = None) -> str:
        """Listen on 127.0.0.1 (`port` 0: any free port); `routes` add e.g. a benchmark's controls."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self.handle)
        app.router.add_routes(routes or [])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        async with self._changed:  # end long polls at once
            self.closing = True
            self._changed.notify_all()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(self, method: str, status: int, description: str = "", retry_after: int | None = None,
             times: int = 1) -> None:
        """The next `times` calls of `method` fail like Telegram would (429 with retry_after, 502...)."""
        default = {429: f"Too Many Requests: retry after {retry_after}", 502: "Bad Gateway"}
        error = ApiError(status, description or default.get(status, "Internal Server Error"), retry_after)
        self.faults.setdefault(method, []).extend([error] * times)

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` answer only after `seconds` (a slow network)."""
        self.delays.setdefault(method, []).extend([seconds] * times)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        params = await self._params(request)
        async with self._changed:
            self.calls.append((method, params))
            self._changed.notify_all()
        delays = self.delays.get(method)
        if delays:
            await asyncio.sleep(delays.pop(0))
        faults = self.faults.get(method)
        if faults:
            error = faults.pop(0)
            if error.code == 502:  # a proxy in front of Telegram answers with HTML, not JSON
                return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>",
                                    content_type="text/html")
            return web.json_response(error.body(), status=error.code)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        try:
            result = await handler(params)
        except ApiError as error:
            return web.json_response(error.body(), status=error.code)
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                params.update(await request.json())
            else:  # form-encoded or multipart; complex values arrive as JSON strings
                for name, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        params[name] = {"filename": value.filename, "content": value.file.read()}
                    elif name in JSON_FIELDS and isinstance(value, str):
                        params[name] = json.loads(value)
                    else:
                        params[name] = value
        return params

    # --- what tests push ------------------------------------------------------------------------

    def _user(self, user_id: int, name: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name, "language_code": "vi"}

    def _chat(self, chat_id: int, user: dict[str, Any], chat_type: str) -> dict[str, Any]:
        if chat_type == "private":
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        else:
            chat = {"id": chat_id, "type": chat_type, "title": "Tổ CNS thôn Đông"}
        self.chats[chat_id] = chat
        return chat

    @staticmethod
    def entities(text: str, username: str) -> list[dict[str, Any]]:
        """Entities Telegram would attach: a leading /command and @mentions (UTF-16 offsets)."""
        found = []
        for m in re.finditer(r"(?<!\S)(/[A-Za-z0-9_]+(?:@\w+)?)|(@\w{5,32})", text):
            kind = "bot_command" if m.group(1) else "mention"
            if kind == "bot_command" and m.start() != 0:
                continue
            found.append({"type": kind, "offset": utf16_len(text[:m.start()]),
                          "length": utf16_len(m.group())})
        return found

    async def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Deliver an update: to the webhook if one is set, else to the getUpdates queue."""
        update = {"update_id": next(self.update_ids), **update}
        if self.webhook["url"]:
            status = await self.post_webhook(update, self.webhook.get("secret_token", ""))
            assert status == 200, f"webhook answered {status}"
            return update
        async with self._changed:
            self.pending.append(update)
            self._changed.notify_all()
        return update

    async def post_webhook(self, update: dict[str, Any], secret: str | None) -> int:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with self._session.post(self.webhook["url"], json=update, headers=headers) as resp:
            return resp.status

    def message(self, user_id: int = 111, text: str | None = None, *, chat_id: int | None = None,
                chat_type: str = "private", name: str = "Lan", reply_to: dict[str, Any] | None = None,
                **content: Any) -> dict[str, Any]:
        """A message update body; `content` adds e.g. sticker={...} or photo=[...]."""
        user = self._user(user_id, name)
        chat = self._chat(chat_id if chat_id is not None else user_id, user, chat_type)
        message: dict[str, Any] = {"message_id": next(self.message_ids), "from": user, "chat": chat,
                                   "date": int(time.time()), **content}
        if text is not None:
            message["text"] = text
            entities = self.entities(text, self.username)
            if entities:
                message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"message": message}

    async def push_text(self, text: str, user_id: int = 111, **kw: Any) -> dict[str, Any]:
        return await self.push(self.message(user_id, text, **kw))

    async def push_callback(self, sent: dict[str, Any], data: str, user_id: int = 111,
                            name: str = "Lan") -> dict[str, Any]:
        """The user presses a button with `data` under the bot's message `sent`."""
        query_id = str(next(self.query_ids))
        self.open_queries.add(query_id)
        query = {"id": query_id, "from": self._user(user_id, name), "message": sent,
                 "chat_instance": "42", "data": data}
        return await self.push({"callback_query": query})

    # --- what tests await -----------------------------------------------------------------------

    async def wait_for(self, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        async def until() -> Any:
            async with self._changed:
                while not (result := check()):
                    await self._changed.wait()
                return result
        return await asyncio.wait_for(until(), timeout)

    async def wait_sent(self, count: int = 1, after: int = 0, timeout: float = 20.0,
                        chat_id: int | None = None) -> list[dict[str, Any]]:
        """Wait until `count` messages were sent after index `after`; return those."""
        def ready() -> list[dict[str, Any]] | None:
            new = [m for m in self.sent[after:] if chat_id is None or m["chat"]["id"] == chat_id]
            return new if len(new) >= count else None
        return await self.wait_for(ready, timeout)

    def methods(self, name: str) -> list[dict[str, Any]]:
        return [params for method, params in self.calls if method == name]

    async def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        async with self._changed:
            self.messages[(message["chat"]["id"], message["message_id"])] = message
            self.sent.append(message)
            self.sent_at.append(time.monotonic())
            self._changed.notify_all()
        return message

    # --- Bot API methods ------------------------------------------------------------------------

    async def api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook["url"]:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = min(int(params.get("limit") or 100), 100)
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates")

        if offset:  # Telegram forgets every update below the offset: the bot has processed them
            async with self._changed:
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
                self._changed.notify_all()

        def available() -> list[dict[str, Any]]:
            return [u for u in self.pending
                    if not allowed or any(kind in u for kind in allowed)][:limit]

        if timeout:
            try:
                await self.wait_for(lambda: available() or self.closing, timeout)
            except TimeoutError:
                pass
        batch = available()
        self.fetched += len(batch)
        return batch

    def _chat_of(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params or params["chat_id"] in ("", None):
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat_id = int(params["chat_id"])
        return self.chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "?"})

    def _check_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                web_app = button.get("web_app")
                if web_app is not None:  # Mini Apps: https only, and only in private chats
                    if not str(web_app.get("url", "")).startswith("https://"):
                        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                    if self._chat_of(params)["type"] != "private":
                        raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
                if "url" in button and not re.match(r"https?://[^/]*\.[a-z]{2,}", str(button["url"])):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _new_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = {"message_id": next(self.message_ids), "from": self.bot_user,
                   "chat": self._chat_of(params), "date": int(time.time()), **content}
        markup = self._check_markup(params)
        if markup is not None:
            message["reply_markup"] = markup
        reply = params.get("reply_parameters")
        if reply:
            quoted = self.messages.get((message["chat"]["id"], int(reply["message_id"])))
            if quoted is None and not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
            message["reply_to_message_id"] = int(reply["message_id"])  # kept for assertions
        return message

    @staticmethod
    def _check_text(text: str, limit: int, what: str) -> None:
        if utf16_len(text) > limit:
            raise ApiError(400, f"Bad Request: {what} is too long")

    async def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        self._check_text(text, 4096, "message")
        if params.get("parse_mode"):
            raise ApiError(400, "Bad Request: this fake expects plain text")
        return await self._record(self._new_message(params, text=text))

    async def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_of(params)
        old = self.messages.get((chat["id"], int(params.get("message_id") or 0)))
        if old is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        text = str(params.get("text", ""))
        self._check_text(text, 4096, "message")
        if text == old.get("text") and params.get("reply_markup") == old.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        edited = {**old, "text": text, "edit_date": int(time.time())}
        markup = self._check_markup(params)
        edited.pop("reply_markup", None)
        if markup is not None:
            edited["reply_markup"] = markup
        return await self._record(edited)

    def _upload(self, params: dict[str, Any], field: str) -> dict[str, Any]:
        file = params.get(field)
        if not isinstance(file, dict) or not file["content"]:
            raise ApiError(400, f"Bad Request: there is no {field} in the request")
        caption = params.get("caption")
        if caption:
            self._check_text(str(caption), 1024, "message caption")
        return file

    async def api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        file = self._upload(params, "document")
        document = {"file_id": f"doc{len(self.sent)}", "file_unique_id": f"u{len(self.sent)}",
                    "file_name": file["filename"], "file_size": len(file["content"])}
        extra = {"caption": params["caption"]} if params.get("caption") else {}
        return await self._record(self._new_message(params, document=document, **extra))

    async def api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        file = self._upload(params, "photo")
        photo = [{"file_id": f"photo{len(self.sent)}", "file_unique_id": f"p{len(self.sent)}",
                  "width": 640, "height": 480, "file_size": len(file["content"])}]
        extra = {"caption": params["caption"]} if params.get("caption") else {}
        return await self._record(self._new_message(params, photo=photo, **extra))

    async def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self.open_queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.open_queries.discard(query_id)
        async with self._changed:
            self.answered.append(params)
            self._changed.notify_all()
        return True

    def _scope(self, params: dict[str, Any]) -> str:
        """'default', or 'chat:<id>' for BotCommandScopeChat (other scopes are not used by the bot)."""
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in ("default", "chat"):
            raise ApiError(400, "Bad Request: unsupported bot command scope")
        if scope["type"] == "default":
            return "default"
        self._chat_of({"chat_id": scope.get("chat_id")})
        return f"chat:{scope['chat_id']}"

    async def api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        scope = self._scope(params)
        if scope == "default":
            self.commands = commands
        else:
            self.scoped_commands[scope] = commands
        return True

    async def api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        scope = self._scope(params)
        if scope == "default":
            self.commands = []
        else:
            self.scoped_commands.pop(scope, None)
        return True

    async def api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        scope = self._scope(params)
        return self.commands if scope == "default" else self.scoped_commands.get(scope, self.commands)

    async def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": ""}
        if str(params.get("drop_pending_updates", "")).lower() == "true":
            self.pending.clear()
        return True

    async def api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url", ""))
        if url and not url.startswith(("https://", "http://127.0.0.1")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {"url": url, "secret_token": secret, "allowed_updates": params.get("allowed_updates")}
        return True

    async def api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook["url"], "has_custom_certificate": False,
                "pending_update_count": len(self.pending)}

    async def api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat_of(params)
        return True
