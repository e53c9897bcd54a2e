"""Every route of the web view's API against every role, as one table: the gate (bot/access.py) and the
scope (bot/scope.py) the chat uses decide, over HTTP, with a valid CSRF token so only the gate can refuse.

Team A is Hoa's (leader; Lan is a plain member there), team B is Khánh's; Chị Hạnh is the commune official
of team A's commune; Tư is a leader whose team is gone (no team: no scope); the admin is named in
ADMIN_IDS and has no member row. Every request asks about team
A: a refusal changes nothing of team A's, an allowed POST changes it, and what a leader of another team
is shown never names team A.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.access import ADMINS, LEADERS, READERS, Admin, Gate, Member
from bot.core import Deps
from bot.runner import build_web_app
from bot.scope import INBOX_READERS
from bot.web import auth, views
from tests import fixtures_data as fx
from tests import webkit
from tests.fake_telegram import TOKEN

TEAM_A, TEAM_B = "Tổ CNS xã Xuân Thượng", "Tổ CNS xã Yên Bình"
ADMIN_TELEGRAM = 1
ADRIFT_TELEGRAM = 600

PEOPLE = {"hoa": (webkit.HOA_TELEGRAM, "Hoa"), "admin": (ADMIN_TELEGRAM, "Quản trị"),
          "official": (webkit.OFFICIAL_TELEGRAM, "Hạnh"), "khanh": (webkit.KHANH_TELEGRAM, "Khánh"),
          "lan": (webkit.LAN_TELEGRAM, "Lan"), "adrift": (ADRIFT_TELEGRAM, "Tư"), "nobody": None}

READ = {"hoa": 200, "admin": 200, "official": 200, "khanh": 403, "lan": 403, "adrift": 403, "nobody": 401}
TEAM_LEADERS = {"hoa": 200, "admin": 200, "official": 403, "khanh": 403, "lan": 403, "adrift": 403, "nobody": 401}
# The inbox has no unit to ask for: a leader of another team gets their own (empty of team A's questions),
# and team A's questions cannot be closed or added by them.
INBOX = {"hoa": 200, "admin": 200, "official": 403, "khanh": 200, "lan": 403, "adrift": 403, "nobody": 401}

# route path -> (query, JSON body or None, expected status per person)
TABLE: dict[str, tuple[str, Any, dict[str, int]]] = {
    "/api/me": ("", None, {**READ, "khanh": 200}),
    "/api/report": ("unit=team:{a}&period=thang", None, READ),
    "/api/chart": ("unit=team:{a}", None, READ),
    "/api/records": ("unit=team:{a}&period=tatca", None, READ),
    "/api/followups": ("unit=team:{a}", None, READ),
    "/api/export.xlsx": ("unit=team:{a}", None, READ),
    "/api/inbox": ("", None, INBOX),
    "/api/inbox/skip": ("", {"ids": "{questions}"}, INBOX),
    "/api/inbox/add": ("", {"ids": "{questions}", "entry": "{entry}"}, {**INBOX, "khanh": 404}),
    "/api/review": ("unit=team:{a}", None, TEAM_LEADERS),
    "/api/review/approve": ("unit=team:{a}", {"ids": "{records}"}, TEAM_LEADERS),
    "/api/review/fix": ("unit=team:{a}", {"ids": "{records}", "note": "Thiếu ngày hẹn"}, TEAM_LEADERS),
}


def headers(person: str) -> dict[str, str]:
    """Credentials and the CSRF token the page would send, so a refusal can only come from the gate."""
    if PEOPLE[person] is None:
        return {}
    user_id, name = PEOPLE[person]
    init = webkit.init_data(user_id, name)
    return {"Authorization": f"tma {init}", views.CSRF_HEADER: auth.tma_csrf(TOKEN, dict(parse_qsl(init))["hash"])}


def team_a_state(deps: Deps, team_a: int) -> tuple:
    db = deps.storage.db
    return (db.execute("SELECT id, review, review_note FROM records WHERE team_id = ? ORDER BY id", [team_a]).fetchall(),
            db.execute("SELECT id, status FROM unanswered WHERE team_id = ? ORDER BY id", [team_a]).fetchall())


def fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return values[value[1:-1]]
    return value


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("path", list(TABLE))
async def test_each_route_admits_exactly_the_right_people(small_deps, tmp_path, path, person):
    deps = webkit.web_deps(small_deps, admin_ids=frozenset({f"telegram:{ADMIN_TELEGRAM}"}),
                           knowledge_local_dir=tmp_path / "local")
    wdata = webkit.build(deps.storage)
    with deps.storage.transaction() as conn:
        adrift = conn.execute("INSERT INTO members (team_id, display_name, role, active, joined_at) "
                              "VALUES (NULL, 'Tư', 'leader', 1, ?)", (fx.NOW,)).lastrowid
        conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                     (f"telegram:{ADRIFT_TELEGRAM}", adrift, str(ADRIFT_TELEGRAM), fx.NOW))
    team_a = wdata.teams[TEAM_A]
    query, body, expected = TABLE[path]
    before = team_a_state(deps, team_a)
    values = {"a": team_a, "records": [wdata.records["a2"]], "questions": [qid for qid, _ in before[1]],
              "entry": next(iter(deps.kb.entries))}
    url = "/app" + path + ("?" + query.format(a=team_a) if query else "")
    async with TestClient(TestServer(build_web_app(deps))) as client:
        if body is None:
            resp = await client.get(url, headers=headers(person))
        else:
            resp = await client.post(url, json=fill(body, values), headers=headers(person))
        text = (await resp.read()).decode("utf-8", "replace")  # the workbook is binary
    assert resp.status == expected[person], (path, person, text)
    after = team_a_state(deps, team_a)
    if resp.status == 200 and body is not None and person != "khanh":
        assert after != before, (path, person)  # the action was done, on team A
    else:
        assert after == before, (path, person)  # refused, read-only, or another team's leader: nothing changed
    if resp.status >= 400 and resp.content_type == "application/json":
        assert json.loads(text)["error"]  # a Vietnamese sentence for the page, not a bare code
    if person == "khanh" and resp.status == 200:
        assert TEAM_A not in text  # his own team's view: nothing of team A's shows
        if path == "/api/inbox":
            assert not {i for g in json.loads(text)["groups"] for i in g["ids"]} & set(values["questions"])


def test_the_table_covers_every_api_route():
    """A new route must name its gate (views.API) and be added to the table above."""
    app = views.build()
    registered = {(r.method, r.resource.canonical) for r in app.router.routes()
                  if r.resource is not None and r.resource.canonical.startswith("/api/") and r.method != "HEAD"}
    assert registered == {(r.method, r.path) for r in views.API} | {("POST", "/api/logout")}
    assert {r.path for r in views.API} == set(TABLE)
    assert {r.gate for r in views.API} <= {READERS, LEADERS}
    for route in views.API:  # the routes that change data are the POST ones, each with a body in the table
        assert (route.method == "POST") == (TABLE[route.path][1] is not None), route.path


LAN = Member(1, 5, "Lan", "member")
HOA = Member(2, 5, "Hoa", "leader")
KHANH = Member(3, 6, "Khánh", "leader")
NO_TEAM = Member(4, None, "Tư", "leader")
HANH = Member(5, None, "Chị Hạnh", "commune", unit_id=7)


@pytest.mark.parametrize(("gate", "who", "team", "admitted"), [
    (READERS, None, None, False), (READERS, LAN, None, False), (READERS, HOA, None, True),
    (READERS, HANH, None, True), (READERS, Admin(), None, True),
    (LEADERS, HANH, None, False), (LEADERS, HOA, 5, True), (LEADERS, KHANH, 5, False),
    (LEADERS, NO_TEAM, 5, False), (LEADERS, Admin(), 5, True), (LEADERS, LAN, 5, False),
    (ADMINS, HOA, None, False), (ADMINS, Admin(), None, True),
    (INBOX_READERS, NO_TEAM, None, False), (INBOX_READERS, HANH, None, True), (INBOX_READERS, HOA, None, True),
])
def test_gate_admits(gate: Gate, who, team, admitted):
    """The decision both the chat (`check`) and the web view use."""
    assert gate.admits(who, team) is admitted
