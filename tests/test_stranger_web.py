"""The leaders' web view as a stranger tries it (round 19, r19-stranger3): a phone (360x640) and a desktop
(1280x800), the back button, a second press, no network, dates picked the wrong way round or typed as
dd/mm/yyyy, long unbroken words; and over HTTP the same actions a second time.

What already held when tried (another team's ids in URLs and bodies, a member opening the view, a commune
official reaching another commune, forged or expired sign-ins) is covered by tests/test_web.py,
tests/test_web_gate.py and tests/test_web_browser.py; the last test here adds the ids a stranger types by hand.
"""

from __future__ import annotations

import datetime as dt

import openpyxl

from bot.web import auth, views
from tests import webkit
from tests.test_web import TEAM_A, TEAM_B, client, signin, tma, wdata, wdeps  # noqa: F401
from tests.test_web_browser import ARTIFACTS, browser, expect, loaded, site  # noqa: F401

PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}


def open_page(chromium, viewport):
    context = chromium.new_context(viewport=viewport, accept_downloads=True, locale="vi-VN")
    return context, context.new_page()


def sign_in(page, base: str, deps, user_key: str = "console:hoa") -> str:
    link = f"{base}/app/login/{auth.create_login(deps, user_key)}"
    page.goto(link)
    page.click("button:has-text('Mở trang báo cáo')")
    page.wait_for_url(f"{base}/app/")
    loaded(page)
    return link


def posts(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url.split("?")[0]) if r.method == "POST" else None)
    return sent


# --- over HTTP ------------------------------------------------------------------------------------------

async def test_the_used_link_opened_again_from_a_signed_in_browser_goes_to_the_page(client, wdeps):  # noqa: F811
    """The back button after signing in lands on the used link: it said "đã được dùng", though signed in."""
    token = auth.create_login(wdeps, "console:hoa")
    resp = await client.post(f"/app/login/{token}", allow_redirects=False)
    cookie = {"Cookie": f"{auth.COOKIE}={resp.cookies[auth.COOKIE].value}"}
    back = await client.get(f"/app/login/{token}", headers=cookie, allow_redirects=False)
    assert back.status == 303 and back.headers["Location"] == "/app/"
    # Without a live session it is still refused, as is a wrong code from a signed-in browser... to the page.
    assert (await client.get(f"/app/login/{token}", allow_redirects=False)).status == 410
    wrong = await client.get("/app/login/abc", headers=cookie, allow_redirects=False)
    assert wrong.status == 303
    start = wdeps.clock()
    wdeps.clock = lambda: start + dt.timedelta(hours=13)  # the session has ended
    late = await client.get(f"/app/login/{token}", headers=cookie, allow_redirects=False)
    assert late.status == 410 and "đã được dùng" in await late.text()
    # A fresh link is never skipped: another person may be signing in on a shared computer.
    wdeps.clock = lambda: start
    cookie = await signin(client, wdeps)
    fresh = auth.create_login(wdeps, "console:hanh")
    page = await client.get(f"/app/login/{fresh}", headers=cookie, allow_redirects=False)
    assert page.status == 200 and "Mở trang báo cáo" in await page.text()


async def test_a_page_left_open_past_its_session_says_so(client, wdeps):  # noqa: F811
    """The next click after 12 hours said "Bạn chưa đăng nhập", as if they had never signed in."""
    cookie = await signin(client, wdeps)
    start = wdeps.clock()
    wdeps.clock = lambda: start + dt.timedelta(hours=12, minutes=1)
    late = await client.get("/app/api/report", headers=cookie)
    assert late.status == 401 and (await late.json())["error"] == views.SESSION_OVER
    old = await client.get("/app/api/report", headers=tma(age=25 * 3600))  # the Mini App's day is over
    assert old.status == 401 and (await old.json())["error"] == views.SESSION_OVER
    never = await client.get("/app/api/report")
    assert never.status == 401 and (await never.json())["error"] == views.NOT_SIGNED_IN


async def test_an_address_that_is_no_page_is_said_in_vietnamese(client):  # noqa: F811
    """A sign-in link cut off before its code, an old bookmark: aiohttp answered "404: Not Found"."""
    for path in ("/app/login/", "/app/login", "/app/xyz", "/app/static/x.js"):
        resp = await client.get(path, allow_redirects=False)
        text = await resp.text()
        assert resp.status == 404 and "Not Found" not in text and views.NO_PAGE in text, path
        assert resp.headers["Content-Security-Policy"] == views.CSP
    api = await client.get("/app/api/nothing")
    assert api.status == 404 and (await api.json())["error"] == views.NO_PAGE
    wrong = await client.delete("/app/api/report", headers=tma())
    assert wrong.status == 405 and (await wrong.json())["error"] == views.NO_PAGE
    known = await client.get("/app/api/report?unit=team:999999", headers=tma())  # the API's own 404s stay
    assert known.status in (403, 404) and "Not Found" not in await known.text()


async def test_approving_or_skipping_again_says_it_is_done_already(client, wdeps, wdata):  # noqa: F811
    """A second press used to answer "Đã duyệt 0 phiếu." / "Đã bỏ qua 0 câu hỏi.", which reads as a failure."""
    headers = tma()
    me = await (await client.get("/app/api/me", headers=headers)).json()
    good = {**headers, "X-CSRF-Token": me["csrf"]}
    first = wdata.records["a1"]
    once = await (await client.post("/app/api/review/approve", json={"ids": [first]}, headers=good)).json()
    assert once["message"] == "Đã duyệt 1 phiếu."
    twice = await (await client.post("/app/api/review/approve", json={"ids": [first]}, headers=good)).json()
    assert twice["approved"] == [] and twice["message"] == views.REVIEWED and "0 phiếu" not in twice["message"]
    ids = (await (await client.get("/app/api/inbox", headers=headers)).json())["groups"][0]["ids"]
    once = await (await client.post("/app/api/inbox/skip", json={"ids": ids}, headers=good)).json()
    assert once["message"] == "Đã bỏ qua 2 câu hỏi."
    twice = await (await client.post("/app/api/inbox/skip", json={"ids": ids}, headers=good)).json()
    assert twice["closed"] == 0 and twice["message"] == views.HANDLED


async def test_ids_typed_by_hand_stay_inside_the_scope(client, wdeps, wdata):  # noqa: F811
    """Already held: a leader of team A changing ids in the address or the request body reaches nothing of
    team B's; a commune official cannot name the other commune or its team."""
    headers = tma()
    me = await (await client.get("/app/api/me", headers=headers)).json()
    good = {**headers, "X-CSRF-Token": me["csrf"]}
    bich, team_b = wdata.members["Bích"], wdata.teams[TEAM_B]
    rows = await (await client.get(f"/app/api/records?period=tatca&member={bich}", headers=headers)).json()
    assert rows["total"] == 0 and rows["rows"] == []
    assert (await client.get(f"/app/api/export.xlsx?unit=team:{team_b}", headers=headers)).status == 403
    assert (await client.get(f"/app/api/followups?unit=team:{team_b}", headers=headers)).status == 403
    fix = await client.post("/app/api/review/fix", json={"ids": [wdata.records["b1"]], "note": "Sửa lại tên hộ"},
                            headers=good)
    assert fix.status == 404
    question = wdeps.storage.db.execute("SELECT id FROM unanswered WHERE team_id = ?", [team_b]).fetchone()[0]
    entry = next(iter(wdeps.kb.entries))
    add = await client.post("/app/api/inbox/add", json={"ids": [question], "entry": entry}, headers=good)
    assert add.status == 404
    state = wdeps.storage.db.execute("SELECT review FROM records WHERE id = ?", [wdata.records["b1"]]).fetchone()[0]
    assert state == "new"
    official = tma(webkit.OFFICIAL_TELEGRAM, name="Hạnh")
    other = wdata.communes[TEAM_B]
    for path in (f"report?unit=commune:{other}", f"records?unit=team:{team_b}", f"chart?unit=province:{wdata.province}"):
        assert (await client.get(f"/app/api/{path}", headers=official)).status == 403, path


# --- in the browser -------------------------------------------------------------------------------------

def test_back_after_signing_in_stays_signed_in(site, browser):  # noqa: F811
    base, deps, data = site
    for viewport in (PHONE, DESKTOP):
        context, page = open_page(browser, viewport)
        sign_in(page, base, deps)
        page.go_back()  # to the one-time link just used
        page.wait_for_url(f"{base}/app/")
        loaded(page)
        assert page.text_content("#who").startswith("Hoa") and "không dùng được" not in page.text_content("body")
        context.close()


def test_the_back_button_walks_back_through_tabs_and_units(site, browser):  # noqa: F811
    """The phone's back button left the page from any tab; an official who drilled into a team and pressed
    back expected the commune again."""
    base, deps, data = site
    commune, team = f"commune:{data.communes[TEAM_A]}", f"team:{data.teams[TEAM_A]}"
    context, page = open_page(browser, PHONE)
    sign_in(page, base, deps, "console:hanh")
    page.click(f"#breakdown button:has-text('{TEAM_A}')")
    loaded(page)
    page.click("nav.tabs button[data-tab=records]")
    loaded(page)
    page.select_option("#period", "tatca")
    loaded(page)
    assert page.url == f"{base}/app/"  # nothing about the unit or the period in the address
    page.go_back()
    loaded(page)
    assert page.is_visible("#tab-records") and page.input_value("#period") == "thang"
    page.go_back()
    loaded(page)
    assert page.is_visible("#tab-overview") and page.input_value("#unit") == team
    page.go_back()
    loaded(page)
    assert page.input_value("#unit") == commune and page.text_content("#title").startswith("Xã ")
    page.go_forward()
    loaded(page)
    assert page.input_value("#unit") == team
    context.close()


def test_a_second_press_sends_one_request(site, browser):  # noqa: F811
    base, deps, data = site
    context, page = open_page(browser, PHONE)
    sign_in(page, base, deps)
    sent = posts(page)
    page.click("nav.tabs button[data-tab=inbox]")
    loaded(page)
    page.dblclick("#inbox button.skip")
    expect(page.locator("#message")).to_contain_text("Đã bỏ qua 2 câu hỏi")
    expect(page.locator("#inbox > li .skip")).to_have_count(0)
    assert sent == [f"{base}/app/api/inbox/skip"]
    page.click("nav.tabs button[data-tab=review]")
    loaded(page)
    waiting = deps.storage.db.execute("SELECT count(*) FROM records WHERE team_id = ? AND deleted = 0 "
                                      "AND review = 'new'", [data.teams[TEAM_A]]).fetchone()[0]
    assert waiting
    page.dblclick("#approve-all")
    expect(page.locator("#message")).to_contain_text(f"Đã duyệt {waiting} phiếu")
    expect(page.locator("#approve-all")).to_be_hidden()
    assert sent[1:] == [f"{base}/app/api/review/approve"]
    context.close()


def test_no_network_is_said_in_vietnamese(site, browser):  # noqa: F811
    base, deps, data = site
    context, page = open_page(browser, PHONE)
    sign_in(page, base, deps)
    context.set_offline(True)  # the commune's wifi drops
    page.click("nav.tabs button[data-tab=records]")
    expect(page.locator("#message")).to_contain_text("Không kết nối được với máy chủ")
    assert "Failed to fetch" not in page.text_content("#message")
    context.set_offline(False)
    page.click("nav.tabs button[data-tab=overview]")
    loaded(page)
    assert page.is_hidden("#message")
    context.close()


def test_dates_the_wrong_way_round_or_typed_by_hand(site, browser):  # noqa: F811
    base, deps, data = site
    for viewport in (PHONE, DESKTOP):
        context, page = open_page(browser, viewport)
        sign_in(page, base, deps, "console:hanh")
        page.select_option("#period", "custom")
        page.fill("#from", "2026-11-17")
        page.fill("#to", "2026-11-02")  # picked the end first
        page.click("#apply")
        loaded(page)
        assert page.text_content("#title").endswith("02/11/2026 - 17/11/2026")
        assert page.is_hidden("#message")
        # A browser without a calendar shows plain text boxes: people type dd/mm/yyyy.
        page.evaluate("['from', 'to'].forEach(id => { document.getElementById(id).type = 'text'; })")
        page.fill("#from", "17/11/2026")
        page.fill("#to", "")
        page.click("#apply")
        loaded(page)
        assert page.text_content("#title").endswith("17/11/2026")
        assert page.text_content("#total-records") == "1"
        page.fill("#from", "17 tháng 11")
        page.click("#apply")
        expect(page.locator("#message")).to_contain_text("ngày/tháng/năm")
        # A refusal goes away once the next numbers load.
        page.select_option("#period", "thang")
        loaded(page)
        assert page.is_hidden("#message") and page.text_content("#title").endswith("tháng 11/2026")
        context.close()


def test_long_words_fit_a_phone_and_names_survive_the_excel(site, browser):  # noqa: F811
    base, deps, data = site
    team_a = data.teams[TEAM_A]
    link = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.001234"
    with deps.storage.transaction() as conn:
        conn.execute("UPDATE records SET note = ?, review = 'new' WHERE id = ?", (f"Gửi bà con {link}",
                                                                                 data.records["a2"]))
        conn.execute("UPDATE households SET head_name = ? WHERE id = (SELECT household_id FROM records "
                     "WHERE id = ?)", ("Hoàng Thị Ngọc Diễm 👵", data.records["a2"]))
        conn.execute("UPDATE teams SET name = ? WHERE id = ?", ("Tổ CNS xã Xuân Thượng 🌾", team_a))
    try:
        context, page = open_page(browser, PHONE)
        sign_in(page, base, deps)
        for tab in ("records", "followups", "review"):
            page.click(f"nav.tabs button[data-tab={tab}]")
            loaded(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], tab
        assert "Hoàng Thị Ngọc Diễm 👵" in page.text_content("#review")
        page.screenshot(path=str(ARTIFACTS / "web-stranger-review-360x640.png"), full_page=True)
        page.click("nav.tabs button[data-tab=overview]")
        loaded(page)
        with page.expect_download() as download:
            page.click("#excel")
        assert download.value.suggested_filename.startswith("Báo cáo Tổ CNS xã Xuân Thượng 🌾 ")
        path = ARTIFACTS / "web-stranger.xlsx"
        download.value.save_as(str(path))
        cells = {str(c.value) for row in openpyxl.load_workbook(path)["Chi tiết"].iter_rows() for c in row}
        assert "Hoàng Thị Ngọc Diễm 👵" in cells
        context.close()
    finally:
        with deps.storage.transaction() as conn:
            conn.execute("UPDATE teams SET name = ? WHERE id = ?", (TEAM_A, team_a))
