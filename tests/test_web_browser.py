"""The web view in a real browser: Debian's headless Chromium driven by Playwright (one browser per module).

The bot's shared aiohttp server runs in a thread on 127.0.0.1 with known data. A leader signs in as a
Telegram Mini App, a commune official with a one-time link; both read numbers that must equal the database's,
filter, act on the inbox and download the Excel. Screenshots at 360x800 and 1280x800 go to
test-artifacts/ (gitignored).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from aiohttp import web

from bot import reports, unitreport
from bot.app import compose
from bot.config import Settings
from bot.core import Deps
from bot.export import chart_series
from bot.runner import build_web_app
from bot.scope import Scope
from bot.storage import Storage
from bot.web import auth
from knowledge.indicators import load_indicators
from knowledge.kb import KnowledgeBase
from knowledge.loader import load
from knowledge.services import load_catalogue
from tests import fixtures_data as fx
from tests import webkit
from tests.chat import FIXTURE_KB
from tests.fake_telegram import TOKEN
from tests.test_web import TEAM_A, TEAM_B

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TODAY = fx.TODAY

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
                                reason="Debian's chromium is not installed (.ci/run installs it)")


class Server:
    """build_web_app(deps) served from its own thread and event loop, like the bot's shared server."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner = web.AppRunner(build_web_app(deps))
        self.port = 0

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def start(self) -> str:
        self.thread.start()
        self.call(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.call(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    settings = Settings(database_path=tmp / "bot.db", export_dir=tmp / "exports",
                        admin_ids=frozenset({"console:admin"}), telegram_bot_token=TOKEN,
                        knowledge_local_dir=tmp / "local")
    storage = Storage(settings.database_path)
    data = webkit.build(storage)
    deps = compose(settings=settings, storage=storage, kb=KnowledgeBase(load(shipped_dir=FIXTURE_KB)),
                clock=fx.clock())
    server = Server(deps)
    base = server.start()
    deps.settings = replace(settings, public_base_url=base)  # links point at this server
    mine = Storage(settings.database_path)  # the test thread's own connection
    yield base, replace(deps, storage=mine), data
    server.stop()
    mine.close()
    storage.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


WAIT_MS = 30_000  # Playwright's ceilings (expect: 5 s) are too short for Chromium on a loaded CI machine


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=WAIT_MS)
    return playwright_expect(locator)


def loaded(page) -> None:
    page.wait_for_selector("body:not([data-loading])", timeout=WAIT_MS)


def table(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(f"{selector} tbody tr", "rows => rows.map(r => "
                                     "Array.from(r.cells).map(c => c.textContent.trim()))")


def month_report(deps: Deps, team: int) -> reports.Report:
    period = reports.parse_period("thang", TODAY)
    return reports.team_report(deps.storage.db, team, period, load_catalogue(), TODAY)


def new_page(browser, width: int, errors: list[str]):
    context = browser.new_context(viewport={"width": width, "height": 800}, accept_downloads=True, locale="vi-VN")
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return context, page


def test_leader_in_the_telegram_mini_app(site, browser):
    base, deps, data = site
    team_a = data.teams[TEAM_A]
    errors: list[str] = []
    context, page = new_page(browser, 360, errors)
    init = webkit.init_data(webkit.HOA_TELEGRAM)
    page.goto(f"{base}/app/#tgWebAppData={quote(init)}&tgWebAppVersion=8.0&tgWebAppPlatform=android")
    loaded(page)
    assert "#tgWebAppData" not in page.url  # initData is not left in the address bar
    assert page.text_content("#who").startswith("Hoa")

    # The overview equals /baocao's numbers from the database.
    expected = month_report(deps, team_a)
    assert page.text_content("#total-records") == str(expected.records) == "5"
    assert page.text_content("#total-households") == str(expected.households)
    assert page.text_content("#total-done") == str(expected.by_outcome.get("done", 0))
    assert page.text_content("#total-followups") == str(expected.followups_open)
    rows = table(page, "#breakdown")
    rollup = unitreport.build(deps.storage.db, Scope("team", team_a), reports.parse_period("thang", TODAY),
                              load_indicators()).as_dict()  # `python -m bot report --team ...`
    assert [(r[0].rstrip(" ›"), int(r[1]), int(r[2]), int(r[3])) for r in rows] == [
        (u["name"], u["records"], u["households"], u["people"]) for u in rollup["units"]]
    assert page.locator("#indicator-list li .head").all_text_contents() == [i["name"] for i in rollup["indicators"]]
    villages = table(page, "#villages")
    assert [(v[0], int(v[1]), int(v[2])) for v in villages] == [(n, r, h) for n, r, h, _ in expected.by_village]
    assert villages[0][3] == "2/50 (4%)"
    assert not page.is_visible("#unit")  # a leader has one unit: no picker
    page.screenshot(path=str(ARTIFACTS / "web-leader-overview-360x800.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone

    # The chart shows every record-skill pair of the month.
    page.click("nav.tabs button[data-tab=chart]")
    loaded(page)
    _, series, _ = chart_series(deps.storage.db, team_a, reports.parse_period("thang", TODAY), load_catalogue())
    bars = page.eval_on_selector_all("#chart-svg rect[data-count]", "r => r.map(x => +x.dataset.count)")
    assert sum(bars) == sum(sum(c) for c in series.values()) == 7
    page.screenshot(path=str(ARTIFACTS / "web-leader-chart-360x800.png"))

    # Records: filter by outcome, then by member from the overview's drill-down.
    page.click("nav.tabs button[data-tab=records]")
    loaded(page)
    assert page.locator("#records > li").count() == 5
    page.select_option("#filters select[name=outcome]", "followup")
    page.click("#filters button[type=submit]")
    loaded(page)
    followups = deps.storage.db.execute(
        "SELECT count(*) FROM records WHERE team_id = ? AND deleted = 0 AND outcome = 'followup' "
        "AND helped_on >= '2026-11-01'", [team_a]).fetchone()[0]
    assert page.locator("#records > li").count() == followups == 2
    assert page.get_attribute("#records-count", "data-total") == "2"
    page.click("#filters button[type=reset]")
    page.click("nav.tabs button[data-tab=overview]")
    loaded(page)
    page.click("#breakdown button:has-text('Lan')")
    loaded(page)
    lan = deps.storage.db.execute("SELECT count(*) FROM records WHERE member_id = ? AND deleted = 0 "
                                  "AND helped_on >= '2026-11-01'", [data.members["Lan"]]).fetchone()[0]
    assert page.locator("#records > li").count() == lan == 3
    page.screenshot(path=str(ARTIFACTS / "web-leader-records-360x800.png"), full_page=True)

    # Follow-ups.
    page.click("nav.tabs button[data-tab=followups]")
    loaded(page)
    assert page.locator("#followups > li").count() == 2 and page.locator("#followups > li.due").count() == 1

    # Inbox: skip the group, as "Bỏ qua" does in chat.
    page.click("nav.tabs button[data-tab=inbox]")
    loaded(page)
    assert page.locator("#inbox > li").count() == 1
    assert "(2 lần)" in page.text_content("#inbox > li .head")
    page.click("#inbox button.skip")
    expect(page.locator("#message")).to_contain_text("Đã bỏ qua 2 câu hỏi")  # (no eval: the CSP forbids it)
    statuses = deps.storage.db.execute("SELECT status, count(*) FROM unanswered WHERE team_id = ? GROUP BY 1",
                                       [team_a]).fetchall()
    assert statuses == [("ignored", 2)]
    expect(page.locator("#inbox > li .skip")).to_have_count(0)

    # Review queue: approve one record, as /duyet's "Duyệt" button does.
    page.click("nav.tabs button[data-tab=review]")
    loaded(page)
    first = int(page.get_attribute("#review > li", "data-id"))
    page.click(f"#review > li[data-id='{first}'] button.approve")
    expect(page.locator("#message")).to_contain_text("Đã duyệt 1 phiếu")
    assert deps.storage.db.execute("SELECT review FROM records WHERE id = ?", [first]).fetchone()[0] == "approved"
    expect(page.locator(f"#review > li[data-id='{first}']")).to_have_count(0)

    # Tải Excel: the same workbook as /xuat.
    page.click("nav.tabs button[data-tab=overview]")
    loaded(page)
    with page.expect_download() as download:
        page.click("#excel")
    path = ARTIFACTS / "web-leader.xlsx"
    download.value.save_as(str(path))
    assert download.value.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(path)
    assert book["Tổng hợp"]["B2"].value == expected.records
    assert book["Tổng hợp"]["B3"].value == expected.households
    assert book["Chi tiết"].max_row == 1 + expected.records
    assert errors == []
    context.close()


def test_commune_official_with_a_one_time_link(site, browser):
    base, deps, data = site
    errors: list[str] = []
    context, page = new_page(browser, 1280, errors)
    link = f"{base}/app/login/{auth.create_login(deps, 'console:hanh')}"
    page.goto(link)
    page.click("button:has-text('Mở trang báo cáo')")
    page.wait_for_url(f"{base}/app/")
    loaded(page)
    commune = data.communes[TEAM_A]
    assert page.input_value("#unit") == f"commune:{commune}"
    assert page.text_content("#who") == "Chị Hạnh (cán bộ xã)"
    assert page.is_hidden("nav.tabs button[data-tab=inbox]")  # the inbox is the teams' leaders'
    period = reports.parse_period("thang", TODAY)
    rollup = unitreport.build(deps.storage.db, Scope("commune", commune), period, load_indicators()).as_dict()
    assert page.text_content("#total-records") == str(rollup["totals"]["records"]) == "5"
    assert page.text_content("#total-households") == str(rollup["totals"]["households"])
    assert page.text_content("#total-people") == str(rollup["totals"]["people"])
    rows = table(page, "#breakdown")
    assert [(r[0].rstrip(" ›"), int(r[1]), int(r[2]), int(r[3])) for r in rows] == [
        (u["name"], u["records"], u["households"], u["people"]) for u in rollup["units"]]
    names = page.locator("#indicator-list li .head").all_text_contents()
    assert names == [i["name"] for i in rollup["indicators"]] and len(names) >= 3
    page.screenshot(path=str(ARTIFACTS / "web-commune-overview-1280x800.png"))
    page.set_viewport_size({"width": 360, "height": 800})
    page.screenshot(path=str(ARTIFACTS / "web-commune-overview-360x800.png"))
    page.set_viewport_size({"width": 1280, "height": 800})

    # Tải Excel at commune level: the official layout.
    with page.expect_download() as download:
        page.click("#excel")
    path = ARTIFACTS / "web-commune.xlsx"
    download.value.save_as(str(path))
    cells = [c.value for row in openpyxl.load_workbook(path).worksheets[0].iter_rows(max_row=12) for c in row]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells

    # Drill down into the team, then its records with a filter, and its follow-ups.
    page.click(f"#breakdown button:has-text('{TEAM_A}')")
    loaded(page)
    assert page.input_value("#unit") == f"team:{data.teams[TEAM_A]}"
    team = month_report(deps, data.teams[TEAM_A])
    assert page.text_content("#total-records") == str(team.records)
    page.click("nav.tabs button[data-tab=records]")
    loaded(page)
    page.select_option("#filters select[name=service]", "vneid2")
    page.click("#filters button[type=submit]")
    loaded(page)
    assert page.locator("#records > li").count() == 2
    page.click("nav.tabs button[data-tab=followups]")
    loaded(page)
    assert page.locator("#followups > li").count() == team.followups_open
    # A custom range: 17/11 only.
    page.click("nav.tabs button[data-tab=overview]")
    page.select_option("#period", "custom")
    page.fill("#from", "2026-11-17")
    page.fill("#to", "2026-11-17")
    page.click("#apply")
    loaded(page)
    day = reports.team_report(deps.storage.db, data.teams[TEAM_A], reports.parse_period("17/11/2026", TODAY),
                              load_catalogue(), TODAY)
    assert page.text_content("#total-records") == str(day.records) == "1"
    page.screenshot(path=str(ARTIFACTS / "web-commune-drilldown-1280x800.png"))
    assert errors == []

    # The link was used once: opening it again in another browser (someone it was forwarded to) is refused;
    # this browser, signed in, goes back to the page (tests/test_stranger_web.py).
    context.close()
    other = browser.new_context()
    again = other.new_page()
    response = again.goto(link)
    assert response.status == 410 and "đã được dùng" in again.text_content("main")
    other.close()


def test_forged_expired_and_outside_scope_are_refused(site, browser):
    base, deps, data = site
    errors: list[str] = []
    context, page = new_page(browser, 360, errors)
    forged = re.sub(r"hash=[0-9a-f]{6}", "hash=000000", webkit.init_data(webkit.HOA_TELEGRAM))
    expired = webkit.init_data(webkit.HOA_TELEGRAM, age=25 * 3600)
    for init in (forged, expired):
        page.goto("about:blank")  # a new document each time, not a same-page hash change
        page.goto(f"{base}/app/#tgWebAppData={quote(init)}")
        page.wait_for_selector("#signin:not([hidden])")
        assert "Phiên đăng nhập đã hết hạn" in page.text_content("#signin")  # initData that signs in no one
        assert page.is_hidden("#app")
    # A signed-in leader of team A asking for team B's or the commune's numbers gets 403.
    page.goto("about:blank")
    page.goto(f"{base}/app/#tgWebAppData={quote(webkit.init_data(webkit.HOA_TELEGRAM))}")
    loaded(page)
    status = page.evaluate("""async ([unit]) => {
        const r = await fetch('/app/api/report?unit=' + unit,
                              {headers: {Authorization: 'tma ' + sessionStorage.getItem('tma')}});
        return r.status; }""", [f"team:{data.teams[TEAM_B]}"])
    assert status == 403
    status = page.evaluate("""async ([unit]) => {
        const r = await fetch('/app/api/report?unit=' + unit,
                              {headers: {Authorization: 'tma ' + sessionStorage.getItem('tma')}});
        return r.status; }""", [f"commune:{data.communes[TEAM_A]}"])
    assert status == 403
    assert page.text_content("#total-records") == "5"  # while its own numbers load
    context.close()
