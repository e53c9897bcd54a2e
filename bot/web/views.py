"""The web view's routes: the page, its static files, sign-in, and the JSON API behind the page.

Mounted under `/app/` on the bot's shared aiohttp server. Every response carries a strict
Content-Security-Policy (scripts and styles only from this server, no inline code); personal data
is never cached (`Cache-Control: no-store`). API answers: 401 without valid credentials, 403 outside
the member's scope, 429 when sign-in attempts come too fast.

Who may use which route is decided where the chat decides it: every API route is listed in `API` with
the `Gate` of bot/access.py that the matching chat command uses (READERS for the reports, LEADERS for
the review queue and the inbox), and the unit asked for is checked against bot/scope.py's `Scope`.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from knowledge.loader import KnowledgeError

from .. import downloads, notify, reports, review, unitreport
from .. import inbox as inbox_data
from ..access import LEADERS, READERS, ROLE_NAMES, Gate
from ..assist import catalogue, get_record
from ..core import Deps
from ..export import audit_export, out_path, write_workbook
from ..official import write_official
from ..reports import OUTCOMES, PERIOD_HELP, parse_period, period_refusal
from ..scope import Scope
from . import auth, data

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css", "index.html": "text/html",
                "icon.svg": "image/svg+xml"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org")
LOGIN_LIMIT = web.AppKey("login_limit", auth.RateLimit)
FAILED_LIMIT = web.AppKey("failed_limit", auth.RateLimit)
CSRF_HEADER = "X-CSRF-Token"
REVIEW_PAGE = 50  # unreviewed records on the page at once
SHOWN_GROUPS = 50  # inbox groups on the page at once; the rest come as these are handled
WEB_APP = web.AppKey("web_view", web.Application)  # the mounted sub-application, on the shared app

NOT_SIGNED_IN = ("Bạn chưa đăng nhập. Mở trang này từ nút trong Telegram (gõ /web), hoặc gõ /web trong Zalo "
                 "để nhận liên kết đăng nhập.")
# A cookie or initData that no longer signs in: the page was left open past its 12 hours (a day in Telegram),
# or the person signed out elsewhere. "Bạn chưa đăng nhập" read as if they had done something wrong.
SESSION_OVER = ("Phiên đăng nhập đã hết hạn (sau 12 giờ) hoặc bạn đã đăng xuất. Trong Telegram, bạn đóng trang "
                "rồi gõ /web để mở lại; trong Zalo, bạn gõ /web để nhận liên kết đăng nhập mới nhé.")
NOT_LEADER = "Trang báo cáo dành cho tổ trưởng, cán bộ xã, cán bộ tỉnh và quản trị viên."
OUTSIDE = "Bạn không có quyền xem đơn vị này."
NOT_INBOX = "Câu hỏi chờ dành cho tổ trưởng và quản trị viên."
TOO_FAST = "Bạn thử đăng nhập nhiều lần quá. Bạn đợi vài phút rồi thử lại nhé."
# A second press (or a second person) after the first one did it: "Đã duyệt 0 phiếu" read as a failure.
HANDLED = "Các câu hỏi này đã được xử lý rồi (có thể bạn vừa bấm hai lần), không cần làm lại."
REVIEWED = "Các phiếu này đã được duyệt hoặc đã được xử lý rồi (có thể bạn vừa bấm hai lần), không cần làm lại."


def _deps(request: web.Request) -> Deps:
    return request.config_dict[downloads.DEPS_KEY]


def _error(status: int, message: str) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
           404: web.HTTPNotFound, 429: web.HTTPTooManyRequests}[status]
    return cls(text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json")


NO_PAGE = ("Địa chỉ này không có trang nào. Nếu bạn mở từ liên kết đăng nhập, có thể liên kết bị cắt mất một "
           "phần: bạn gõ /web trong Zalo để nhận liên kết mới, hoặc mở trang từ nút trong Telegram nhé.")


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status not in (404, 405) or exc.content_type == "application/json":
            _harden(request, exc)
            raise
        response = _no_page(request, exc.status)  # aiohttp's own "404: Not Found" is English
    _harden(request, response)
    return response


def _no_page(request: web.Request, status: int) -> web.Response:
    """An address under /app/ that is no route: a sign-in link cut off before its code, an old bookmark."""
    if request.path.startswith("/app/api/"):
        return web.Response(text=json.dumps({"error": NO_PAGE}, ensure_ascii=False), status=status,
                            content_type="application/json")
    return _page("Không tìm thấy trang", f"<p>{escape(NO_PAGE)}</p>", status)


def _harden(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # sign-in links must not leak to other sites
    if not request.path.startswith("/app/static/"):
        response.headers["Cache-Control"] = "no-store"


def _client(request: web.Request) -> str:
    return request.remote or "?"


def viewer(request: web.Request) -> auth.Viewer:
    """The signed-in member (401 otherwise); failed attempts count against the client's limit."""
    deps = _deps(request)
    header = request.headers.get("Authorization", "")
    found: auth.Viewer | None = None
    tried = False
    if header[:4].lower() == "tma ":
        tried = True
        found = auth.viewer_from_tma(deps, header[4:].strip())
    elif auth.COOKIE in request.cookies:
        tried = True
        found = auth.viewer_from_cookie(deps, request.cookies[auth.COOKIE])
    if found is None:
        if tried and not request.app[FAILED_LIMIT].hit(_client(request)):
            raise _error(429, TOO_FAST)
        raise _error(401, SESSION_OVER if tried else NOT_SIGNED_IN)
    return found


def allowed(request: web.Request, gate: Gate, refusal: str) -> tuple[auth.Viewer, Scope]:
    """The signed-in member (401 otherwise) and the scope they read, when the page is theirs (READERS with a
    scope: 403 NOT_LEADER otherwise) and `gate` admits them to this route (403 `refusal` otherwise)."""
    who = viewer(request)
    scope = data.scope_for(who.member)
    if scope is None:
        raise _error(403, NOT_LEADER)
    if not gate.admits(who.member):
        raise _error(403, refusal)
    return who, scope


def check_csrf(request: web.Request, who: auth.Viewer) -> None:
    """State-changing requests: the page's CSRF token, and no cross-site Origin."""
    origin = request.headers.get("Origin")
    if origin and urlparse(origin).netloc != request.host:
        raise _error(403, "Yêu cầu không đến từ trang báo cáo.")
    given = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), who.csrf.encode("ascii")):
        raise _error(403, "Phiên làm việc đã cũ. Bạn tải lại trang giúp tôi nhé.")


def _today(deps: Deps):
    return deps.clock().date()


def _period(request: web.Request):
    today = _today(_deps(request))
    period = parse_period(request.query.get("period", "thang"), today)
    if period is None:
        raise _error(400, f"Khoảng thời gian không đúng. {PERIOD_HELP}")
    refusal = period_refusal(period, today)  # the same bounds as wherever reports run
    if refusal:
        raise _error(400, refusal)
    return period


def _unit(request: web.Request, scope: data.Scope) -> data.Unit:
    try:
        return data.unit_for(_deps(request).storage.db, scope, request.query.get("unit"))
    except PermissionError:
        raise _error(403, OUTSIDE) from None
    except LookupError:
        raise _error(404, "Không tìm thấy đơn vị này.") from None


def _json(body: Any) -> web.Response:
    return web.json_response(body, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


# --- pages --------------------------------------------------------------------------------------

async def index(request: web.Request) -> web.StreamResponse:
    """The page itself holds nothing personal: the script asks the API, with the member's credentials."""
    return web.FileResponse(STATIC / "index.html", headers={"Content-Type": "text/html; charset=utf-8"})


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC_FILES or name == "index.html":
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name, headers={"Content-Type": f"{STATIC_FILES[name]}; charset=utf-8",
                                                   "Cache-Control": "public, max-age=3600"})


def _page(title: str, body: str, status: int = 200) -> web.Response:
    html = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="/app/static/app.css">'
            f'<link rel="icon" href="/app/static/icon.svg" type="image/svg+xml"></head>'
            f'<body><main class="login"><h1>{escape(title)}</h1>{body}</main></body></html>')
    return web.Response(text=html, content_type="text/html", status=status)


GONE = ("Liên kết này đã được dùng hoặc đã hết hạn (liên kết chỉ dùng được một lần, trong 10 phút). "
        "Bạn gõ /web trong Zalo để nhận liên kết mới nhé.")


async def login_page(request: web.Request) -> web.Response:
    """A button to press rather than signing in on GET: link previews in chat apps must not use the link."""
    if not request.app[LOGIN_LIMIT].hit(_client(request)):
        return _page("Đợi một chút", f"<p>{TOO_FAST}</p>", 429)
    state = auth.login_state(_deps(request), request.match_info["token"])
    if state != "ok" and _signed_in(request):
        raise web.HTTPSeeOther("/app/")  # back to the link they just used: this browser is signed in already
    if state != "ok":
        return _page("Liên kết không dùng được", f"<p>{GONE}</p>", 410)
    return _page("Trang báo cáo Tổ công nghệ số",
                 '<p>Bấm nút dưới đây để mở trang báo cáo. Bạn sẽ đăng nhập trong 12 giờ trên máy này.</p>'
                 '<form method="post"><button type="submit" class="big">Mở trang báo cáo</button></form>')


def _signed_in(request: web.Request) -> bool:
    """Whether the browser's session cookie is a live session (the used link's page is then no dead end)."""
    cookie = request.cookies.get(auth.COOKIE, "")
    return bool(cookie) and auth.viewer_from_cookie(_deps(request), cookie) is not None


async def login(request: web.Request) -> web.Response:
    if not request.app[LOGIN_LIMIT].hit(_client(request)):
        return _page("Đợi một chút", f"<p>{TOO_FAST}</p>", 429)
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlparse(origin).netloc != request.host:
        return _page("Liên kết không dùng được", "<p>Yêu cầu không đến từ trang đăng nhập.</p>", 403)
    deps = _deps(request)
    cookie = auth.redeem_login(deps, request.match_info["token"])
    if cookie is None:
        return _page("Liên kết không dùng được", f"<p>{GONE}</p>", 410)
    redirect = web.HTTPSeeOther("/app/")
    secure = deps.settings.public_base_url.startswith("https://") or request.secure
    redirect.set_cookie(auth.COOKIE, cookie, max_age=int(auth.SESSION_LIFETIME.total_seconds()), path="/app",
                        httponly=True, samesite="Lax", secure=secure)
    raise redirect


async def logout(request: web.Request) -> web.Response:
    who = viewer(request)
    check_csrf(request, who)
    if who.via == "cookie":
        auth.end_session(_deps(request), request.cookies[auth.COOKIE])
    response = _json({"ok": True})
    response.del_cookie(auth.COOKIE, path="/app")
    return response


# --- JSON API -----------------------------------------------------------------------------------

async def me(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    db = _deps(request).storage.db
    return _json({"review": LEADERS.admits(who.member),  # the tabs the routes below (API) let them use
                  "name": who.member.display_name, "role": who.member.role,
                  "role_name": ROLE_NAMES.get(who.member.role, who.member.role), "via": who.via, "csrf": who.csrf,
                  "units": data.units(db, scope), "unit": data.unit_for(db, scope, None).key,
                  "inbox": LEADERS.admits(who.member)})


async def report(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    deps = _deps(request)
    period, unit = _period(request), _unit(request, scope)
    return _json(data.report(deps.storage.db, unit, period, catalogue(), _today(deps), deps.readable_indicators()))


async def chart(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    deps = _deps(request)
    return _json(data.chart(deps.storage.db, _unit(request, scope), _period(request), catalogue()))


def _int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise _error(400, f"Tham số {name} phải là số.")
    return int(raw)


async def record_list(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    deps = _deps(request)
    outcome = request.query.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        raise _error(400, "Kết quả không đúng.")
    state = request.query.get("review") or None
    if state is not None and state not in data.REVIEW_STATES:
        raise _error(400, "Trạng thái duyệt không đúng.")
    filt = data.RecordFilter(member=_int(request, "member"), village=_int(request, "village"),
                             service=(request.query.get("service") or None), outcome=outcome, review=state,
                             page=_int(request, "page") or 1, size=_int(request, "size") or data.PAGE_SIZE)
    return _json(data.records(deps.storage.db, _unit(request, scope), _period(request), catalogue(), filt))


async def followups(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    deps = _deps(request)
    return _json({"rows": data.followups(deps.storage.db, _unit(request, scope), _today(deps))})


async def inbox(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    """The unanswered questions, grouped as in /chuatraloi, each with the entries it could join: a team
    leader's team's (admins: everyone's); officials answer theirs in chat."""
    deps = _deps(request)
    rows = inbox_data.open_questions(deps.storage, who.member, inbox_data.MAX_ROWS)
    matcher = deps.kb.matcher

    def work() -> dict[str, Any]:  # clustering and ranking off the event loop, as /chuatraloi does
        groups = inbox_data.group(rows)
        out = []
        for g in groups[:SHOWN_GROUPS]:
            ranked = matcher.rank(g.question)[:inbox_data.CANDIDATES]
            out.append({"question": g.question, "ids": g.ids, "count": len(g.ids), "variants": g.variants[:3],
                        "candidates": [{"id": s.entry.id, "title": s.entry.title} for s in ranked]})
        return {"total": sum(len(g.ids) for g in groups), "groups": out,
                "more": max(0, len(groups) - SHOWN_GROUPS)}

    return _json(await asyncio.to_thread(work))


async def _ids(request: web.Request) -> tuple[list[int], dict[str, Any]]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise _error(400, "Dữ liệu gửi lên không đúng.") from None
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or len(ids) > 5000 or not all(isinstance(i, int) for i in ids):
        raise _error(400, "Thiếu danh sách câu hỏi.")
    return ids, body


async def inbox_skip(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    ids, _ = await _ids(request)
    deps = _deps(request)
    closed = inbox_data.close(deps.storage, who.member, ids, "ignored", deps.clock())
    return _json({"closed": closed, "message": f"Đã bỏ qua {closed} câu hỏi." if closed else HANDLED})


async def inbox_add(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    """Add the group's question as a phrasing of an entry: the same action as in /chuatraloi."""
    ids, body = await _ids(request)
    deps = _deps(request)
    entry = deps.kb.entries.get(str(body.get("entry", "")))
    if entry is None:
        raise _error(400, "Mục này không còn nữa. Bạn chọn mục khác nhé.")
    question = inbox_data.open_question(deps.storage, who.member, ids[0])
    if question is None:
        raise _error(404, "Câu hỏi này đã được xử lý rồi.")
    try:
        async with deps.services.kb_write_lock:
            await asyncio.to_thread(inbox_data.add_phrasing, deps.kb, deps.settings.local_knowledge_dir, entry.id,
                                    question)
    except (KnowledgeError, OSError) as exc:
        raise _error(400, f"Chưa thêm được vào kho kiến thức của xã: {exc}") from None
    closed = inbox_data.close(deps.storage, who.member, ids, "added", deps.clock(), entry.id)
    return _json({"closed": closed, "message": f"Đã thêm \"{question[:120]}\" làm cách hỏi của mục "
                                               f"\"{entry.title}\" ({closed} câu hỏi đã xử lý)."})


def _review_team(request: web.Request, scope: Scope) -> int:
    """The review queue is a leader's (admins: any team; the route's gate is LEADERS), of one team in their
    scope, as /duyet."""
    unit = _unit(request, scope)
    if unit.kind != "team":
        raise _error(400, "Duyệt phiếu làm cho từng tổ: bạn chọn một tổ trước nhé.")
    return unit.team_ids[0]


async def review_list(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    team_id = _review_team(request, scope)
    db = _deps(request).storage.db
    labels = {s.code: s.label for s in catalogue().services}
    rows = review.pending(db, team_id, limit=REVIEW_PAGE)
    return _json({"counts": review.counts(db, team_id),
                  "rows": [{"id": p.id, "member": p.member, "household": p.head_name or reports.ERASED,
                            "village": p.village, "day": p.helped_on,
                            "services": [labels.get(c, c) for c in p.services],
                            "outcome": OUTCOMES.get(p.outcome, p.outcome)} for p in rows]})


async def review_approve(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    """Approve records of the team (one, or every one shown): the same as /duyet's buttons."""
    team_id = _review_team(request, scope)
    ids, _ = await _ids(request)
    deps = _deps(request)
    done = review.approve(deps.storage, team_id, ids, who.member.actor_id, deps.clock())
    return _json({"approved": done, "message": f"Đã duyệt {len(done)} phiếu." if done else REVIEWED})


async def review_fix(request: web.Request, who: auth.Viewer, scope: Scope) -> web.Response:
    """'Cần sửa' with a note, and the member is told, as in /duyet."""
    team_id = _review_team(request, scope)
    ids, body = await _ids(request)
    deps = _deps(request)
    note = review.reason(str(body.get("note", "")))
    if note is None:
        raise _error(400, "Bạn ghi vài chữ cho thành viên biết cần sửa gì nhé.")
    rid = ids[0]
    record = get_record(deps.storage.db, rid)
    if (record is None or record.team_id != team_id
            or not review.send_back(deps.storage, team_id, rid, note, who.member.actor_id, deps.clock())):
        raise _error(404, f"Phiếu số {rid} đã được xử lý hoặc đã bị xóa.")
    told = await notify.tell(deps, record.member_id, review.fix_request(who.member.display_name, rid, note))
    return _json({"message": review.fix_marked(rid, told)})


async def export(request: web.Request, who: auth.Viewer, scope: Scope) -> web.StreamResponse:
    """The same workbook as /xuat: a team's, or the official layout for a commune, a province or everything."""
    deps = _deps(request)
    period, unit = _period(request), _unit(request, scope)
    path = out_path(deps.settings.export_dir, unit.name, period, ".xlsx")
    today, cat = _today(deps), catalogue()
    indicators = deps.readable_indicators() if unit.kind != "team" else None
    if unit.kind != "team" and indicators is None:
        raise _error(400, "Chưa đọc được tệp chỉ tiêu nên chưa làm được báo cáo của đơn vị này.")

    def work() -> None:
        db = deps.storage.reader()
        try:
            if unit.kind == "team":
                write_workbook(db, unit.team_ids[0], period, cat, today, path)
            else:
                assert indicators is not None  # a unit's export without indicators was refused above (400)
                write_official(db, unitreport.build(db, unit.scope, period, indicators), cat, indicators, today, path)
        finally:
            db.conn.close()

    await asyncio.to_thread(work)
    level, unit_id = ("team", unit.team_ids[0]) if unit.kind == "team" else (unit.scope.level, unit.scope.unit_id or 0)
    audit_export(deps.storage, who.member.actor_id, level, unit_id, period, deps.clock())
    name = f"Báo cáo {unit.name} {period.start:%d-%m-%Y} đến {period.end:%d-%m-%Y}.xlsx"
    return web.FileResponse(path, headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": downloads.content_disposition(name)})


GatedRoute = Callable[[web.Request, auth.Viewer, Scope], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """An API route and who may use it: `gate` (bot/access.py) admits the signed-in member or the route
    answers 403 with `refusal`. POST routes change data: they need the page's CSRF token too."""

    method: str
    path: str
    handler: GatedRoute
    gate: Gate = READERS
    refusal: str = NOT_LEADER

    def view(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(self.handler)
        async def route(request: web.Request) -> web.StreamResponse:
            who, scope = allowed(request, self.gate, self.refusal)
            if self.method == "POST":
                check_csrf(request, who)
            return await self.handler(request, who, scope)
        return route


API = (  # every route under /app/api/ but the logout, which any signed-in member may use
    Route("GET", "/api/me", me),
    Route("GET", "/api/report", report),
    Route("GET", "/api/chart", chart),
    Route("GET", "/api/records", record_list),
    Route("GET", "/api/followups", followups),
    Route("GET", "/api/export.xlsx", export),
    Route("GET", "/api/inbox", inbox, LEADERS, NOT_INBOX),  # as /chuatraloi, for the teams' leaders
    Route("POST", "/api/inbox/skip", inbox_skip, LEADERS, NOT_INBOX),
    Route("POST", "/api/inbox/add", inbox_add, LEADERS, NOT_INBOX),
    Route("GET", "/api/review", review_list, LEADERS),  # as /duyet: the team's leader, admins
    Route("POST", "/api/review/approve", review_approve, LEADERS),
    Route("POST", "/api/review/fix", review_fix, LEADERS),
)


def build() -> web.Application:
    """The `/app` sub-application; mount it with `app.add_subapp("/app", build())`."""
    app = web.Application(middlewares=[security_headers])
    # Per client address. Behind a reverse proxy every client shares the proxy's address, so the limits
    # leave room for a province's leaders signing in at once; guessing a 192-bit token is hopeless anyway.
    app[LOGIN_LIMIT] = auth.RateLimit(limit=60, window=600)
    app[FAILED_LIMIT] = auth.RateLimit(limit=120, window=600)
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/login/{token}", login_page)
    app.router.add_post("/login/{token}", login)
    app.router.add_post("/api/logout", logout)
    for route in API:
        if route.method == "GET":
            app.router.add_get(route.path, route.view())  # HEAD too, as before
        else:
            app.router.add_route(route.method, route.path, route.view())
    return app


async def _to_slash(request: web.Request) -> web.Response:
    raise web.HTTPFound("/app/")


def mount(app: web.Application) -> None:
    """Add the web view under /app/ to the shared server."""
    app.router.add_get("/app", _to_slash)
    app[WEB_APP] = build()
    app.add_subapp("/app", app[WEB_APP])
