"""/metrics and /healthz on the bot's own server, with both real adapters polling the loopback fakes."""

from __future__ import annotations

import os
import re

import aiohttp
import pytest

from bot import metrics
from bot.app import compose
from bot.core import Deps
from tests.channelkit import free_port, serving, telegram_deps, zalo_deps
from tests.waiting import until

ZALO_USER = "6ede9afa66b88fe6d6a9"
TOKEN = "metrics-Token-9f3b2c"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if m and m[1] == name and ",".join(sorted((m[2] or "").split(","))) == wanted:
            return float(m[3])
    return 0.0


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def deps(small_deps, tfake, zfake, port) -> Deps:
    base = telegram_deps(small_deps, tfake, webhook_listen=("127.0.0.1", port), metrics_token=TOKEN)
    return zalo_deps(base, zfake)


@pytest.fixture
async def served(deps):
    async with serving(deps) as task:
        yield task


async def handled(deps: Deps) -> None:
    """Until no update is being handled: the reply's last message reaches the fake before the update's
    metrics (latency, last update) are recorded."""
    await until(lambda: not any(health.in_flight for health in metrics.get(deps).channels.values()),
                "the updates to be handled")


async def get(port: int, path: str, **headers: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, \
            session.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp:
        return resp.status, await resp.text()


async def test_metrics_count_updates_answers_and_latency(deps, served, tfake, zfake, port):
    await tfake.push_text("kich hoat vneid ko dc", user_id=111)  # an answer, with feedback buttons
    await tfake.wait_sent(chat_id=111)
    await tfake.push_text("qwxz blorp zzkj", user_id=112)  # nothing fits
    await tfake.wait_sent(chat_id=112)
    zfake.push("/chude", user=ZALO_USER)
    await zfake.wait_texts(1, ZALO_USER)
    await tfake.push_callback(tfake.sent[0], tfake.sent[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
                              user_id=111)
    await tfake.wait_sent(2, chat_id=111)
    await handled(deps)

    status, text = await get(port, "/metrics")
    assert status == 200
    assert sample(text, "tcns_updates_total", channel="telegram", kind="text") == 2
    assert sample(text, "tcns_updates_total", channel="telegram", kind="button") == 1
    assert sample(text, "tcns_updates_total", channel="zalo", kind="text") == 1
    assert sample(text, "tcns_matches_total", result="answer") >= 1
    assert sample(text, "tcns_matches_total", result="none") == 1
    assert sample(text, "tcns_match_seconds_count") == sum(
        sample(text, "tcns_matches_total", result=r) for r in ("answer", "choices", "none"))
    assert sample(text, "tcns_reply_seconds_count", channel="telegram") == 3
    assert sample(text, "tcns_reply_seconds_bucket", channel="telegram", le="+Inf") == 3
    assert sample(text, "tcns_queue_depth", channel="telegram") == 0
    assert sample(text, "tcns_database_ok") == 1
    assert sample(text, "tcns_records_logged_total") == 0
    assert TOKEN not in text and tfake.token not in text


async def test_bot_api_errors_and_retries_are_counted(deps, served, tfake, port, monkeypatch):
    from bot.channels import telegram as tg

    monkeypatch.setattr(tg, "BACKOFF", 0.01)
    tfake.fail("sendMessage", 502, "Bad Gateway", times=2)
    await tfake.push_text("/chude", user_id=113)
    await tfake.wait_sent(chat_id=113)
    _, text = await get(port, "/metrics")
    assert sample(text, "tcns_bot_api_errors_total", channel="telegram", method="sendMessage") == 2
    assert sample(text, "tcns_bot_api_retries_total", channel="telegram", method="sendMessage") == 2


async def test_metrics_only_from_localhost_or_with_the_token(deps, served, port):
    # Through a reverse proxy on this machine the peer is 127.0.0.1, but the request is not local.
    assert (await get(port, "/metrics", **{"X-Forwarded-For": "203.0.113.9"}))[0] == 403
    assert (await get(port, "/metrics", **{"X-Real-IP": "203.0.113.9", "Authorization": "Bearer nope"}))[0] == 403
    status, text = await get(port, "/metrics", **{"X-Forwarded-For": "203.0.113.9",
                                                  "Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and "tcns_queue_depth" in text


async def test_healthz_reports_channels_and_database(deps, served, tfake, port):
    status, _ = await get(port, "/healthz")
    assert status == 200
    await tfake.push_text("/chude", user_id=114)
    await tfake.wait_sent(chat_id=114)
    await handled(deps)
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as resp:
        health = await resp.json()
    assert health["ok"] is True and health["stopping"] is False
    assert health["channels"]["telegram"]["mode"] == "polling" and health["channels"]["zalo"]["mode"] == "polling"
    assert health["channels"]["telegram"]["last_update"] is not None
    assert health["channels"]["zalo"]["last_update"] is None  # nothing came from Zalo yet
    assert health["database"]["ok"] is True and health["database"]["schema_version"] >= 1


async def test_healthz_is_unhealthy_when_the_database_is_read_only(deps, served, port, monkeypatch):
    path = deps.storage.path
    real_access = os.access
    # The file mode decides for a normal user; tests may run as root, who may write anyway, so ask
    # the same question the check asks, with the answer a non-root service user would get.
    monkeypatch.setattr(metrics.os, "access", lambda p, mode: real_access(p, mode) and str(p) != path)
    status, body = await get(port, "/healthz")
    assert status == 503 and "read-only" in body
    _, text = await get(port, "/metrics")
    assert sample(text, "tcns_database_ok") == 0
    monkeypatch.setattr(metrics.os, "access", real_access)
    assert (await get(port, "/healthz"))[0] == 200


def test_query_only_database_is_unhealthy(small_deps):
    small_deps.storage.db.execute("PRAGMA query_only = 1")
    try:
        state = metrics.database_state(small_deps)
    finally:
        small_deps.storage.db.execute("PRAGMA query_only = 0")
    assert state["ok"] is False and "read-only" in state["error"]


def test_each_app_has_its_own_registry(small_deps, settings, storage, small_kb):
    other = compose(settings=settings, storage=storage, kb=small_kb)
    first, second = metrics.get(small_deps), metrics.get(other)
    assert first.registry is not second.registry
    first.backup_done(True, 123)
    assert first.backups.labels("ok")._value.get() == 1 and second.backups.labels("ok")._value.get() == 0


async def test_healthz_is_unhealthy_when_the_database_is_full(deps, served, tfake, port):
    """A full disk, as SQLite sees it: no page can be added. /healthz says so for the next five minutes,
    even though small writes that fit in existing pages still succeed."""
    store = deps.storage
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    try:
        for i in range(50):  # each question is a session write; unknown ones add a row too
            await tfake.push_text(f"cau hoi chua co {i} " + "x" * 900, user_id=300 + i)
            await tfake.wait_sent(chat_id=300 + i)
            if store.write_error:
                break
        status, body = await get(port, "/healthz")
        assert status == 503 and "full" in body
        _, text = await get(port, "/metrics")
        assert sample(text, "tcns_database_ok") == 0
    finally:
        store.db.execute("PRAGMA max_page_count = 1073741823")
    store.write_error_at -= metrics.WRITE_ERROR_WINDOW  # five quiet minutes later
    assert (await get(port, "/healthz"))[0] == 200


async def test_zalo_api_errors_and_retries_are_counted(deps, served, zfake, port):
    zfake.fail("sendMessage", "429")
    zfake.fail("sendMessage", "502")
    zfake.push("/chude", user=ZALO_USER)
    await zfake.wait_texts(1, ZALO_USER)
    _, text = await get(port, "/metrics")
    assert sample(text, "tcns_bot_api_errors_total", channel="zalo", method="sendMessage") == 2
    assert sample(text, "tcns_bot_api_retries_total", channel="zalo", method="sendMessage") == 2
    assert sample(text, "tcns_bot_api_errors_total", channel="zalo", method="getUpdates") == 0  # idle polls
