"""The web view's sign-in, scope, JSON API and security headers, over HTTP against the shared server."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import reports, teams, unitreport
from bot.core import Choice, Deps, Reply
from bot.export import chart_series
from bot.runner import build_web_app
from bot.scope import Scope
from bot.web import auth, data, views
from knowledge.indicators import load_indicators
from knowledge.services import load_catalogue
from tests import fixtures_data as fx
from tests import webkit
from tests.conftest import Chat
from tests.fake_telegram import TOKEN

TODAY = fx.TODAY
TEAM_A, TEAM_B = "Tổ CNS xã Xuân Thượng", "Tổ CNS xã Yên Bình"


@pytest.fixture
def wdeps(small_deps: Deps) -> Deps:
    return webkit.web_deps(small_deps)


@pytest.fixture
def wdata(wdeps: Deps) -> fx.Data:
    return webkit.build(wdeps.storage)


@pytest.fixture
async def client(wdeps: Deps, wdata: fx.Data):
    async with TestClient(TestServer(build_web_app(wdeps))) as c:
        yield c


def tma(user_id: int = webkit.HOA_TELEGRAM, **kw) -> dict[str, str]:
    return {"Authorization": "tma " + webkit.init_data(user_id, **kw)}


# --- initData, exactly as Telegram documents it -------------------------------------------------------

def test_init_data_checks():
    now = fx.clock()().timestamp()
    good = webkit.init_data(300)
    user = auth.check_init_data(good, TOKEN, now)
    assert user is not None and user.user_id == "300" and user.first_name == "Hoa"
    # Another bot's token, a changed user, a missing hash, a repeated field: all refused.
    assert auth.check_init_data(good, TOKEN + "x", now) is None
    forged = good.replace("%3A300", "%3A301")  # the user id inside the url-encoded JSON
    assert forged != good and auth.check_init_data(forged, TOKEN, now) is None
    assert auth.check_init_data(re.sub(r"&?hash=[0-9a-f]+", "", good), TOKEN, now) is None
    assert auth.check_init_data(good + "&auth_date=1", TOKEN, now) is None
    # At most 24 hours old.
    assert auth.check_init_data(webkit.init_data(300, age=24 * 3600 - 5), TOKEN, now) is not None
    assert auth.check_init_data(webkit.init_data(300, age=24 * 3600 + 5), TOKEN, now) is None
    assert auth.check_init_data(webkit.init_data(300, age=-3600), TOKEN, now) is None  # from the future
    assert auth.check_init_data("", TOKEN, now) is None
    assert auth.check_init_data(good, "", now) is None


def test_init_data_matches_telegrams_documented_algorithm():
    """Recompute the hash by hand from the documented steps, independently of sign_init_data."""
    import hashlib
    import hmac
    from urllib.parse import parse_qsl

    fields = dict(parse_qsl(webkit.init_data(300)))
    given = fields.pop("hash")
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(key=b"WebAppData", msg=TOKEN.encode(), digestmod=hashlib.sha256).digest()
    assert hmac.new(key=secret, msg=check.encode(), digestmod=hashlib.sha256).hexdigest() == given


# --- 401 / 403 ---------------------------------------------------------------------------------------

async def test_api_needs_credentials(client):
    for path in ("me", "report", "chart", "records", "followups", "inbox", "export.xlsx"):
        resp = await client.get(f"/app/api/{path}")
        assert resp.status == 401, path
        assert "đăng nhập" in (await resp.json())["error"]
    resp = await client.get("/app/api/me", headers=tma(age=25 * 3600))
    assert resp.status == 401
    resp = await client.get("/app/api/me", headers={"Authorization": "tma " + webkit.init_data(300, token="1:x")})
    assert resp.status == 401
    resp = await client.get("/app/api/me", cookies={auth.COOKIE: "made-up"})
    assert resp.status == 401


async def test_members_and_other_teams_are_refused(client, wdata):
    resp = await client.get("/app/api/me", headers=tma(webkit.LAN_TELEGRAM, name="Lan"))
    assert resp.status == 403  # a plain member: the web view is for leaders
    team_b = wdata.teams[TEAM_B]
    for path in ("report", "chart", "records", "followups", "export.xlsx"):
        resp = await client.get(f"/app/api/{path}?unit=team:{team_b}", headers=tma())
        assert resp.status == 403, path
    resp = await client.get("/app/api/report?unit=all", headers=tma())
    assert resp.status == 403
    resp = await client.get("/app/api/report?unit=team:999", headers=tma(webkit.KHANH_TELEGRAM, name="Khánh"))
    assert resp.status == 403
    resp = await client.get("/app/api/report?period=abc", headers=tma())
    assert resp.status == 400 and "Khoảng thời gian" in (await resp.json())["error"]
    resp = await client.get("/app/api/chart?period=" + quote("01/01/2001-01/01/2026"), headers=tma())
    assert resp.status == 400  # at most five years at a time, as in chat


# --- numbers equal the chat's -------------------------------------------------------------------------

async def test_report_equals_baocao(client, wdeps, wdata):
    resp = await client.get("/app/api/report?period=thang", headers=tma())
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    team_a = wdata.teams[TEAM_A]
    period = reports.parse_period("thang", TODAY)
    chat = reports.team_report(wdeps.storage.db, team_a, period, load_catalogue(), TODAY)
    assert body["unit"] == {"key": f"team:{team_a}", "kind": "team", "name": TEAM_A}
    assert body["totals"]["records"] == chat.records == 5
    assert body["totals"]["households"] == chat.households == 4
    # The breakdown is the roll-up's, the same JSON as `python -m bot report` (every active member listed).
    rollup = unitreport.build(wdeps.storage.db, Scope("team", team_a), period, load_indicators()).as_dict()
    assert body["report"]["units"] == rollup["units"] and body["report"]["totals"] == rollup["totals"]
    assert [(r["name"], r["records"], r["households"]) for r in body["breakdown"]["rows"]] == [
        (u["name"], u["records"], u["households"]) for u in rollup["units"]]
    assert {(n, r) for n, r, _ in chat.by_member} <= {(r["name"], r["records"]) for r in body["breakdown"]["rows"]}
    assert all(r["member"] == wdata.members[r["name"]] for r in body["breakdown"]["rows"])
    assert sum(r["records"] for r in body["breakdown"]["rows"]) == chat.records
    assert [i["id"] for i in body["indicators"]] == [i.id for i in load_indicators().indicators]
    assert {o["key"]: o["records"] for o in body["outcomes"]} == {"done": 2, "unfinished": 1, "followup": 2}
    assert [(v["name"], v["records"], v["households"], v["size"]) for v in body["villages"]] == chat.by_village
    assert body["villages"][0]["coverage"] == 4.0  # 2 of 50 households in Thôn 1
    assert [(s["name"], s["times"], s["households"]) for s in body["skills"]] == chat.by_skill
    assert body["followups"]["open"] == 2 and [f["due"] for f in body["followups"]["due"]] == ["2026-11-15"]


async def drill(c, headers: dict[str, str], key: str, seen: list[str]) -> dict:
    """Follow every drill-down link below `key`: each part's totals equal its row, the rows add up."""
    body = await (await c.get(f"/app/api/report?period=thang&unit={key}", headers=headers)).json()
    seen.append(key)
    rows = body["breakdown"]["rows"]
    assert sum(r["records"] for r in rows) == body["totals"]["records"]
    assert sum(r["households"] for r in rows) == body["totals"]["households"]
    for row in rows:
        if "unit" in row:
            part = await drill(c, headers, row["unit"], seen)
            assert (part["totals"]["records"], part["totals"]["households"]) == (row["records"], row["households"])
    return body


async def test_admin_sees_everything_and_drills_down_to_members(wdeps, wdata):
    admin = webkit.web_deps(wdeps, admin_ids=frozenset({"telegram:1"}))
    async with TestClient(TestServer(build_web_app(admin))) as c:
        headers = tma(1, name="Quản trị")
        me = await (await c.get("/app/api/me", headers=headers)).json()
        assert me["unit"] == "all" and me["role_name"] == "quản trị"
        assert [u["key"] for u in me["units"]] == [
            "all", f"province:{wdata.province}", *(f"commune:{i}" for i in sorted(wdata.communes.values())),
            *(f"team:{wdata.teams[n]}" for n in sorted(wdata.teams))]
        seen: list[str] = []
        top = await drill(c, headers, "all", seen)
        assert top["breakdown"]["level"] == "province" and top["totals"]["records"] == 5 + 2
        assert len(seen) == 1 + 1 + 2 + 2  # all, the province, two communes, two teams
        whole = await c.get("/app/api/export.xlsx?unit=all", headers=headers)  # the official layout
        assert whole.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await whole.read()))
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in str([c.value for row in book.worksheets[0].iter_rows(max_row=3)
                                                           for c in row])
        rows = top["breakdown"]["rows"]
        for arg in ("thang", "tatca"):  # the chart of everything is the sum of the teams' charts
            whole = await (await c.get(f"/app/api/chart?period={arg}", headers=headers)).json()
            parts = [await (await c.get(f"/app/api/chart?period={arg}&unit=team:{tid}", headers=headers)).json()
                     for tid in wdata.teams.values()]
            assert sum(sum(s["counts"]) for s in whole["series"]) == sum(
                sum(s["counts"]) for p in parts for s in p["series"]) == (10 if arg == "thang" else 11)
            assert whole["buckets"][-1] == "2026-11-18" and whole["step"] == "day"
        assert rows


async def test_commune_official_sees_their_commune_only(client, wdeps, wdata):
    headers = tma(webkit.OFFICIAL_TELEGRAM, name="Hạnh")
    me = await (await client.get("/app/api/me", headers=headers)).json()
    commune_a = wdata.communes[TEAM_A]
    assert me["unit"] == f"commune:{commune_a}" and me["role_name"] == "cán bộ xã" and me["inbox"] is False
    assert [u["key"] for u in me["units"]] == [f"commune:{commune_a}", f"team:{wdata.teams[TEAM_A]}"]
    body = await (await client.get("/app/api/report?period=thang", headers=headers)).json()
    rollup = unitreport.build(wdeps.storage.db, Scope("commune", commune_a), reports.parse_period("thang", TODAY),
                              load_indicators()).as_dict()
    assert body["report"]["totals"] == rollup["totals"] and body["totals"]["records"] == 5
    assert body["breakdown"]["level"] == "team" and body["breakdown"]["rows"][0]["unit"] == f"team:{wdata.teams[TEAM_A]}"
    for unit in (f"team:{wdata.teams[TEAM_B]}", f"commune:{wdata.communes[TEAM_B]}", f"province:{wdata.province}",
                 "all"):
        for path in ("report", "chart", "records", "followups", "export.xlsx"):
            assert (await client.get(f"/app/api/{path}?unit={unit}", headers=headers)).status == 403, (unit, path)
    assert (await client.get("/app/api/inbox", headers=headers)).status == 403
    team = await (await client.get(f"/app/api/records?unit=team:{wdata.teams[TEAM_A]}", headers=headers)).json()
    assert team["total"] == 5
    sheet = await client.get("/app/api/export.xlsx", headers=headers)
    assert sheet.status == 200


async def test_chart_equals_the_png_charts_numbers(client, wdeps, wdata):
    for arg in ("thang", "tatca"):
        body = await (await client.get(f"/app/api/chart?period={arg}", headers=tma())).json()
        period = reports.parse_period(arg, TODAY)
        buckets, series, weekly = chart_series(wdeps.storage.db, wdata.teams[TEAM_A], period, load_catalogue())
        assert body["buckets"] == [b.isoformat() for b in buckets] and body["weekly"] == weekly
        assert {s["name"]: s["counts"] for s in body["series"]} == series


async def test_records_filters_and_paging(client, wdata):
    async def get(query: str) -> dict:
        if "period=" not in query:
            query += "&period=thang"
        resp = await client.get(f"/app/api/records?{query}", headers=tma())
        assert resp.status == 200, await resp.text()
        return await resp.json()

    everything = await get("")
    assert everything["total"] == 5 and len(everything["rows"]) == 5
    assert [r["day"] for r in everything["rows"]] == sorted((r["day"] for r in everything["rows"]), reverse=True)
    assert "001203004567" not in json.dumps(everything)  # a stored ID number never leaks, even from old notes
    assert (await get("outcome=followup"))["total"] == 2
    assert (await get(f"member={wdata.members['Lan']}"))["total"] == 3
    assert (await get(f"village={wdata.villages['Thôn 2']}"))["total"] == 2
    assert (await get("service=vneid2"))["total"] == 2
    assert (await get(f"member={wdata.members['Lan']}&service=vneid2"))["total"] == 2
    paged = [await get(f"size=2&page={n}") for n in (1, 2, 3)]
    assert [p["pages"] for p in paged] == [3, 3, 3]
    assert sorted(r["id"] for p in paged for r in p["rows"]) == sorted(r["id"] for r in everything["rows"])
    assert {m["name"] for m in everything["options"]["members"]} == {"Hoa", "Lan", "Minh"}
    # Another team's member as a filter finds nothing of theirs.
    assert (await get(f"member={wdata.members['Bích']}"))["total"] == 0
    assert (await client.get("/app/api/records?outcome=nope", headers=tma())).status == 400
    custom = await get("period=" + quote("01/11/2026-10/11/2026"))
    assert custom["total"] == 2


async def test_followups_list(client):
    rows = (await (await client.get("/app/api/followups", headers=tma())).json())["rows"]
    assert [(r["on"], r["household"], r["due"]) for r in rows] == [
        ("2026-11-15", "Nguyễn Văn An", True), ("2026-11-25", reports.ERASED, False)]


async def test_excel_is_the_xuat_workbook(client):
    resp = await client.get("/app/api/export.xlsx?period=thang", headers=tma())
    assert resp.status == 200
    assert "attachment" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    summary = book["Tổng hợp"]
    assert summary["B2"].value == 5 and summary["B3"].value == 4
    assert book["Chi tiết"].max_row == 1 + 5


# --- one-time links and sessions ------------------------------------------------------------------------

async def signin(client, deps: Deps, user_key: str = "console:hoa") -> dict[str, str]:
    """Use a fresh one-time link; the session cookie as a header (the test server is http, the cookie Secure)."""
    resp = await client.post(f"/app/login/{auth.create_login(deps, user_key)}", allow_redirects=False)
    assert resp.status == 303
    return {"Cookie": f"{auth.COOKIE}={resp.cookies[auth.COOKIE].value}"}


async def test_one_time_link_sets_a_session_cookie_once(client, wdeps):
    token = auth.create_login(wdeps, "console:hoa")
    page = await client.get(f"/app/login/{token}")
    assert page.status == 200 and "Mở trang báo cáo" in await page.text()
    assert auth.login_state(wdeps, token) == "ok"  # looking at the page (a link preview) does not use it
    resp = await client.post(f"/app/login/{token}", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/app/"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/app" in cookie
    assert "Secure" in cookie  # PUBLIC_BASE_URL is https
    assert "Max-Age=43200" in cookie
    value = resp.cookies[auth.COOKIE].value
    me = await client.get("/app/api/me", headers={"Cookie": f"{auth.COOKIE}={value}"})
    assert me.status == 200 and (await me.json())["name"] == "Hoa" and (await me.json())["via"] == "cookie"
    # Used once: the same link again is refused, and the database holds no raw token.
    again = await client.post(f"/app/login/{token}", allow_redirects=False)
    assert again.status == 410 and "đã được dùng" in await again.text()
    dumped = "\n".join(wdeps.storage.conn.iterdump())
    assert token not in dumped and value not in dumped


async def test_link_expires_after_ten_minutes(client, wdeps):
    token = auth.create_login(wdeps, "console:hoa")
    start = wdeps.clock()
    wdeps.clock = lambda: start + dt.timedelta(minutes=10, seconds=1)
    assert (await client.post(f"/app/login/{token}", allow_redirects=False)).status == 410


async def test_session_lasts_twelve_hours_and_logout_ends_it(client, wdeps):
    cookie = await signin(client, wdeps)
    me = await (await client.get("/app/api/me", headers=cookie)).json()
    start = wdeps.clock()
    wdeps.clock = lambda: start + dt.timedelta(hours=11, minutes=59)
    assert (await client.get("/app/api/me", headers=cookie)).status == 200
    assert (await client.post("/app/api/logout", json={}, headers=cookie)).status == 403  # no CSRF token
    resp = await client.post("/app/api/logout", json={}, headers={**cookie, "X-CSRF-Token": me["csrf"]})
    assert resp.status == 200
    assert (await client.get("/app/api/me", headers=cookie)).status == 401
    cookie = await signin(client, wdeps)
    wdeps.clock = lambda: start + dt.timedelta(hours=24, minutes=1)
    assert (await client.get("/app/api/me", headers=cookie)).status == 401


async def test_removing_a_member_revokes_their_sessions(client, wdeps, wdata):
    cookie = await signin(client, wdeps)
    assert (await client.get("/app/api/me", headers=cookie)).status == 200
    teams.remove_member(wdeps.storage, wdata.members["Hoa"], wdata.teams[TEAM_A], None, wdeps.clock())
    assert (await client.get("/app/api/me", headers=cookie)).status == 401
    assert (await client.get("/app/api/me", headers=tma())).status == 401  # and the Mini App too
    count = wdeps.storage.db.execute("SELECT count(*) FROM web_sessions").fetchone()[0]
    assert count == 0


async def test_a_link_for_a_non_member_opens_nothing(client, wdeps):
    token = auth.create_login(wdeps, "zalo:stranger")
    assert (await client.post(f"/app/login/{token}", allow_redirects=False)).status == 410


# --- CSRF, inbox actions, rate limits, headers ----------------------------------------------------------

async def test_inbox_actions_need_csrf_and_stay_in_scope(client, wdeps, wdata):
    headers = tma()
    me = await (await client.get("/app/api/me", headers=headers)).json()
    inbox = await (await client.get("/app/api/inbox", headers=headers)).json()
    assert inbox["total"] == 2 and len(inbox["groups"]) == 1  # team B's question is not here
    group = inbox["groups"][0]
    assert group["count"] == 2 and group["candidates"]
    ids = group["ids"]
    assert (await client.post("/app/api/inbox/skip", json={"ids": ids}, headers=headers)).status == 403
    bad = {**headers, "X-CSRF-Token": "0" * 32}
    assert (await client.post("/app/api/inbox/skip", json={"ids": ids}, headers=bad)).status == 403
    good = {**headers, "X-CSRF-Token": me["csrf"]}
    cross = {**good, "Origin": "https://evil.example"}
    assert (await client.post("/app/api/inbox/skip", json={"ids": ids}, headers=cross)).status == 403
    team_b_id = wdeps.storage.db.execute("SELECT id FROM unanswered WHERE team_id = ?",
                                         [wdata.teams[TEAM_B]]).fetchone()[0]
    resp = await client.post("/app/api/inbox/skip", json={"ids": [team_b_id]}, headers=good)
    assert (await resp.json())["closed"] == 0  # another team's question is not touched
    resp = await client.post("/app/api/inbox/skip", json={"ids": ids}, headers=good)
    assert resp.status == 200 and (await resp.json())["closed"] == 2
    statuses = dict(wdeps.storage.db.execute("SELECT id, status FROM unanswered").fetchall())
    assert [statuses[i] for i in ids] == ["ignored", "ignored"] and statuses[team_b_id] == "open"
    assert (await client.post("/app/api/inbox/skip", json={"ids": "x"}, headers=good)).status == 400


async def test_inbox_add_makes_the_question_answerable(small_deps, tmp_path):
    deps = webkit.web_deps(small_deps, knowledge_local_dir=tmp_path / "local")
    webkit.build(deps.storage)
    async with TestClient(TestServer(build_web_app(deps))) as c:
        headers = tma()
        me = await (await c.get("/app/api/me", headers=headers)).json()
        group = (await (await c.get("/app/api/inbox", headers=headers)).json())["groups"][0]
        entry = group["candidates"][0]["id"]
        resp = await c.post("/app/api/inbox/add", json={"ids": group["ids"], "entry": entry},
                            headers={**headers, "X-CSRF-Token": me["csrf"]})
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["closed"] == 2
    assert "mat khau vneid" in (tmp_path / "local" / "_phrasings.yaml").read_text(encoding="utf-8").replace(
        "mật khẩu", "mat khau")
    assert deps.kb.matcher.rank(group["question"])[0].entry.id == entry


async def test_sign_in_is_rate_limited(wdeps, wdata):
    app = build_web_app(wdeps)
    async with TestClient(TestServer(app)) as c:
        sub = app[views.WEB_APP]
        sub[views.LOGIN_LIMIT].limit = 3
        sub[views.FAILED_LIMIT].limit = 2
        codes = [(await c.get(f"/app/login/nope{i}")).status for i in range(5)]
        assert codes == [410, 410, 410, 429, 429]
        codes = [(await c.get("/app/api/me", headers=tma(age=10**6))).status for _ in range(4)]
        assert codes == [401, 401, 429, 429]


async def test_pages_are_small_strict_and_uncached(client):
    page = await client.get("/app/")
    html = await page.text()
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html and "onclick" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # every asset from this server
    total = len(html.encode())
    for asset in re.findall(r"(?:src|href)=\"(/app/static/[^\"]+)\"", html):
        resp = await client.get(asset)
        assert resp.status == 200
        total += len(await resp.read())
    assert total < 200_000
    assert (await client.get("/app/static/../auth.py")).status == 404
    assert (await client.get("/app", allow_redirects=False)).headers["Location"] == "/app/"
    assert "Content-Security-Policy" in (await client.get("/app/api/me")).headers  # errors too


def test_scope_for_roles():
    from bot.access import Admin, Member

    assert data.scope_for(Member(1, 5, "A", "member")) is None
    assert data.scope_for(Member(1, 5, "A", "leader")) == Scope("team", 5)
    assert data.scope_for(Member(1, None, "A", "commune", unit_id=7)) == Scope("commune", 7)
    assert data.scope_for(Member(1, None, "A", "province", unit_id=3)) == Scope("province", 3)
    assert data.scope_for(Admin()) == Scope("all")
    assert data.scope_for(Member(1, None, "A", "leader")) is None


# --- /web and /baocao in chat ----------------------------------------------------------------------------

async def test_web_command_on_console_gives_a_one_time_link(wdeps, wdata):
    leader = Chat(wdeps, "hoa")
    await leader.say("/web")
    link = re.search(r"https://bot\.example\.vn/app/login/(\S+)", leader.text)
    assert link, leader.text
    assert auth.login_state(wdeps, link.group(1)) == "ok"
    member = Chat(wdeps, "bich")
    await member.say("/web")
    assert "tổ trưởng" in member.text
    official = Chat(wdeps, "hanh")
    await official.say("/web")
    assert "/app/login/" in official.text
    await leader.say("/baocao")
    assert "gõ /web" in leader.text


async def test_web_without_public_address_says_how_to_enable(small_deps):
    deps = webkit.web_deps(small_deps, public_base_url="")
    webkit.build(deps.storage)
    leader = Chat(deps, "hoa")
    await leader.say("/web")
    assert "PUBLIC_BASE_URL" in leader.text


def test_link_choices_show_as_text_and_are_not_numbered(wdeps):
    from bot.channels.console import render

    reply = Reply("Báo cáo", (Choice("Xem", "rp:x"), Choice("Mở trang", url="https://x.vn/app/", web_app=True)))
    text = render(reply)
    assert "Mở trang: https://x.vn/app/" in text and "1. Xem" in text and "2." not in text


async def test_a_typed_number_never_picks_a_link(wdeps, wdata):
    leader = Chat(wdeps, "hoa", channel="telegram")  # Telegram identity "telegram:hoa" is not linked
    await leader.say("/baocao")
    assert "tổ trưởng" in leader.text
    tg = Chat(wdeps, str(webkit.HOA_TELEGRAM), channel="telegram", name="Hoa")
    await tg.say("/baocao")
    assert any(c.web_app and c.url == "https://bot.example.vn/app/" for r in tg.last for c in r.choices)
    await tg.say("1")
    assert "không ứng với lựa chọn nào" in tg.text


def test_static_files_exist():
    for name in views.STATIC_FILES:
        assert (Path(views.STATIC) / name).is_file()


async def test_removal_in_chat_ends_web_sessions_at_once(tdeps):
    from tests.teamkit import make_team

    _, leader, [member] = await make_team(tdeps)
    assert auth.redeem_login(tdeps, auth.create_login(tdeps, "console:m0")) is not None
    sessions = "SELECT count(*) FROM web_sessions"
    assert tdeps.storage.db.execute(sessions).fetchone()[0] == 1
    await leader.say("/thanhvien")
    await leader.pick("Cho Lan 0 rời tổ")
    await leader.pick("Đồng ý")
    assert "đã rời tổ" in leader.text
    assert tdeps.storage.db.execute(sessions).fetchone()[0] == 0


async def test_many_teams_skip_the_team_by_team_detail(client, wdeps, wdata, monkeypatch):
    monkeypatch.setattr(data, "MAX_DETAIL_TEAMS", 1)
    admin = webkit.web_deps(wdeps, admin_ids=frozenset({"telegram:1"}))
    async with TestClient(TestServer(build_web_app(admin))) as c:
        body = await (await c.get("/app/api/report?period=thang", headers=tma(1, name="Quản trị"))).json()
    assert body["detail"] is False and body["villages"] == [] and body["skills"] == []
    assert body["totals"]["records"] == 7 and body["totals"]["households"] == 5
    assert [(r["name"], r["records"]) for r in body["breakdown"]["rows"]] == [("Hà Tĩnh", 7)]


async def test_review_queue_approve_and_send_back_as_in_duyet(client, wdeps, wdata):
    headers = tma()
    me = await (await client.get("/app/api/me", headers=headers)).json()
    assert me["review"] is True
    queue = await (await client.get("/app/api/review", headers=headers)).json()
    live = wdeps.storage.db.execute("SELECT id FROM records WHERE team_id = ? AND deleted = 0 ORDER BY id DESC",
                                    [wdata.teams[TEAM_A]]).fetchall()
    assert [r["id"] for r in queue["rows"]] == [i for i, in live] and queue["counts"] == {"new": len(live)}
    first, other = wdata.records["a1"], wdata.records["b1"]
    assert (await client.post("/app/api/review/approve", json={"ids": [first]}, headers=headers)).status == 403
    good = {**headers, "X-CSRF-Token": me["csrf"]}
    resp = await client.post("/app/api/review/approve", json={"ids": [first, other]}, headers=good)
    assert (await resp.json())["approved"] == [first]  # team B's record is not Hoa's to approve
    states = dict(wdeps.storage.db.execute("SELECT id, review FROM records").fetchall())
    assert states[first] == "approved" and states[other] == "new"
    short = await client.post("/app/api/review/fix", json={"ids": [wdata.records["a2"]], "note": "x"}, headers=good)
    assert short.status == 400
    fixed = await client.post("/app/api/review/fix", json={"ids": [wdata.records["a2"]], "note": "Thiếu ngày hẹn"},
                              headers=good)
    assert fixed.status == 200 and "cần sửa" in (await fixed.json())["message"]
    row = wdeps.storage.db.execute("SELECT review, review_note FROM records WHERE id = ?",
                                   [wdata.records["a2"]]).fetchone()
    assert row == ("fix", "Thiếu ngày hẹn")
    approved = await (await client.get("/app/api/records?period=tatca&review=approved", headers=headers)).json()
    assert [r["id"] for r in approved["rows"]] == [first] and approved["rows"][0]["review"] == "Đã duyệt"
    assert (await client.get("/app/api/records?review=nope", headers=headers)).status == 400
    lan = tma(webkit.LAN_TELEGRAM, name="Lan")
    assert (await client.get("/app/api/review", headers=lan)).status == 403
    assert (await client.get(f"/app/api/review?unit=team:{wdata.teams[TEAM_B]}", headers=headers)).status == 403


async def test_an_admin_without_a_member_row_signs_in_with_a_link(client, wdeps, wdata):
    """An admin named in ADMIN_IDS (console:admin in the test settings) with no member row: the session holds
    NULL, not a 0 standing for "no member"; the admin reads, exports and approves, each written as NULL."""
    assert wdeps.storage.db.execute("SELECT 1 FROM identities WHERE key = 'console:admin'").fetchone() is None
    cookie = await signin(client, wdeps, "console:admin")
    assert wdeps.storage.db.execute("SELECT user_key, member_id FROM web_sessions").fetchall() == [
        ("console:admin", None)]
    me = await (await client.get("/app/api/me", headers=cookie)).json()
    assert me["role"] == "admin" and me["unit"] == "all" and me["via"] == "cookie" and me["review"] is True
    body = await (await client.get("/app/api/report?period=thang", headers=cookie)).json()
    assert body["totals"]["records"] == 5 + 2
    team_a = wdata.teams[TEAM_A]
    sheet = await client.get(f"/app/api/export.xlsx?unit=team:{team_a}", headers=cookie)
    assert sheet.status == 200
    good = {**cookie, "X-CSRF-Token": me["csrf"]}
    first = wdata.records["a1"]
    resp = await client.post(f"/app/api/review/approve?unit=team:{team_a}", json={"ids": [first]}, headers=good)
    assert (await resp.json())["approved"] == [first]
    db = wdeps.storage.db
    assert db.execute("SELECT review, reviewed_by FROM records WHERE id = ?", [first]).fetchone() == ("approved", None)
    assert db.execute("SELECT actor_member_id FROM audit WHERE table_name = 'exports'").fetchall() == [(None,)]
    # Revoking a member's sessions leaves the admin's alone; once the identity gets a member row of its own,
    # the session opened for the admin without one is over.
    assert auth.revoke_member(wdeps, wdata.members["Hoa"]) == 0
    assert (await client.get("/app/api/me", headers=cookie)).status == 200
    with wdeps.storage.transaction() as conn:
        conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                     ("console:admin", wdata.members["Hoa"], "admin", fx.NOW))
    assert (await client.get("/app/api/me", headers=cookie)).status == 401
    assert db.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 0
