"""Short-lived download links for files a channel cannot send itself (Zalo has no documents).

A file gets an unguessable token valid for 24 hours; `GET /files/<token>` on the shared aiohttp
server (PUBLIC_BASE_URL points at it) serves it. Unknown and expired tokens get 404.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from .clock import iso
from .core import Deps

log = logging.getLogger(__name__)
DEPS_KEY = web.AppKey("deps", Deps)  # the shared web app carries the bot's dependencies

LIFETIME = dt.timedelta(hours=24)
ROUTE = "/files/{token}"


def link_for(deps: Deps, path: Path, filename: str | None = None) -> str | None:
    """Register `path` and return its public link, or None when PUBLIC_BASE_URL is not set."""
    base = deps.settings.public_base_url
    if not base:
        return None
    token = secrets.token_urlsafe(24)
    now = deps.clock()
    with deps.storage.transaction() as conn:
        conn.execute("DELETE FROM downloads WHERE expires_at <= ?", (iso(now),))
        conn.execute(
            "INSERT INTO downloads (token, path, filename, expires_at) VALUES (?, ?, ?, ?)",
            (token, str(Path(path).resolve()), filename or Path(path).name, iso(now + LIFETIME)),
        )
    return f"{base}/files/{token}"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the real (Vietnamese) one per RFC 6266."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename) or "tep"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def serve(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS_KEY]
    token = request.match_info["token"]
    row = deps.storage.db.execute(
        "SELECT path, filename, expires_at FROM downloads WHERE token = ?", [token]
    ).fetchone()
    if row is None or row[2] <= iso(deps.clock()):
        raise web.HTTPNotFound(text="Liên kết không đúng hoặc đã hết hạn.")
    path = Path(row[0])
    if not path.is_file():
        log.warning("Download target is gone")
        raise web.HTTPNotFound(text="Tệp không còn nữa.")
    return web.FileResponse(path, headers={
        "Content-Disposition": content_disposition(row[1]),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })


def add_routes(app: web.Application) -> None:
    app.router.add_get(ROUTE, serve)
