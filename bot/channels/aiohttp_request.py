"""python-telegram-bot's networking backend on aiohttp instead of httpx.

PTB parses answers, maps Telegram's errors and builds request parameters (BaseRequest); this class only
moves bytes. aiohttp is already the bot's web server, and on this machine it spends about a tenth
of the CPU httpx does per Bot API call (see benchmarks/telegram_throughput.py), which is what
decides how many updates a second one core can answer.

Calls without files go as one JSON body (the Bot API takes application/json): encoding the parameters
once in C costs about a quarter of form-encoding them, which quotes Vietnamese text byte by byte.
Uploads stay multipart.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

JSON_HEADERS = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """Timeouts in seconds, like HTTPXRequest's; a time-out raises TimedOut, other failures NetworkError."""

    def __init__(self, connection_pool_size: int = 8, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0,
                 on_error: Callable[[str], None] | None = None) -> None:
        self._on_error = on_error  # called with the Bot API method name of each failed call
        self._pool_size = connection_pool_size
        self._defaults = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout,
                          "pool": pool_timeout}
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}  # a handful of combinations

    @property
    def read_timeout(self) -> float | None:
        return self._defaults["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=BaseRequest.DEFAULT_NONE, write_timeout=BaseRequest.DEFAULT_NONE,
                         connect_timeout=BaseRequest.DEFAULT_NONE,
                         pool_timeout=BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data is not None else {}
        media = bool(files)

        def pick(value, name: str) -> float | None:
            if isinstance(value, type(BaseRequest.DEFAULT_NONE)):  # not given: this instance's default
                if name == "write" and media:
                    return self._media_write_timeout
                return self._defaults[name]
            return value

        read, write = pick(read_timeout, "read"), pick(write_timeout, "write")
        connect, pool = pick(connect_timeout, "connect"), pick(pool_timeout, "pool")
        timeout = self._timeout(read, write, connect, pool)
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
            else:  # nested objects (reply_markup...) as JSON objects, not JSON strings in a form
                data = json.dumps(request_data.parameters, ensure_ascii=False).encode("utf-8")
                headers = JSON_HEADERS
        try:
            async with self._session.request(method, url, data=data, headers=headers, timeout=timeout) as response:
                status, body = response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's time-outs subclass it
            self._failed(url)
            raise TimedOut(f"Timed out talking to the Bot API: {type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            self._failed(url)
            raise NetworkError(f"aiohttp: {type(exc).__name__}: {exc}") from exc
        if status >= 400:
            self._failed(url)
        return status, body

    def _timeout(self, read: float | None, write: float | None, connect: float | None,
                 pool: float | None) -> aiohttp.ClientTimeout:
        key = (read, write, connect, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            parts = [t for t in key if t is not None]
            timeout = aiohttp.ClientTimeout(
                total=sum(parts) if len(parts) == 4 else None,  # writing has no separate limit in aiohttp
                connect=(connect or 0) + (pool or 0) if connect is not None and pool is not None else None,
                sock_connect=connect, sock_read=read)
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    def _failed(self, url: str) -> None:
        if self._on_error is not None:
            self._on_error(url.rstrip("/").rpartition("/")[2] or "?")  # the method name, never the token
