"""LOG_FORMAT=json: one JSON object a line, a correlation id per update, nothing secret or personal."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot import logs
from bot.channels import telegram as tg
from bot.config import ConfigError, Settings
from tests.channelkit import telegram_deps


@pytest.fixture
def stream():
    root = logging.getLogger()
    old_handlers, old_level = root.handlers[:], root.level
    out = io.StringIO()
    root.handlers = [logging.StreamHandler(out)]
    yield out
    root.handlers, root.level = old_handlers, old_level


async def test_json_lines_carry_one_correlation_id_per_update(stream, small_deps, tfake, monkeypatch):
    monkeypatch.setattr(tg, "BACKOFF", 0.01)
    deps = telegram_deps(small_deps, tfake)
    logs.setup("INFO", "json", deps.settings.secrets)
    stream.seek(0)
    stream.truncate()  # lines from before the set-up (the fixtures' database) were not JSON yet
    channel = await tg.start(deps, None, poll_timeout=0.1, max_rate=None)  # type: ignore[arg-type]
    try:
        for user in (201, 202):
            tfake.fail("sendMessage", 502, times=2)  # two retries logged while the update is handled
            await tfake.push_text("/chude", user_id=user)
            await tfake.wait_sent(chat_id=user)
    finally:
        await channel.stop()
    lines = [json.loads(line) for line in stream.getvalue().split("\n") if line]  # JSON may hold U+2028
    assert all({"time", "level", "logger", "cid", "message"} <= set(e) for e in lines)
    retries = [e for e in lines if "retry" in e["message"]]
    assert len(retries) == 4
    cids = [e["cid"] for e in retries]
    assert cids[0] == cids[1] != cids[2] == cids[3] and all(c.startswith("te-") for c in cids)
    text = stream.getvalue()
    assert tfake.token not in text


def test_text_format_and_download_tokens(stream):
    logs.setup("INFO", "text", ["s3cret-value"])
    token = logs.new_correlation("zalo")
    try:
        logging.getLogger("aiohttp.access").info('127.0.0.1 "GET /files/AbCdEf123456_-xyz HTTP/1.1" 200 s3cret-value')
    finally:
        logs.CORRELATION.reset(token)
    line = stream.getvalue()
    assert "[za-" in line and "/files/***" in line and "AbCdEf123456" not in line and "s3cret-value" not in line


def test_log_format_setting():
    assert Settings.load({"LOG_FORMAT": "JSON"}, env_file=None).log_format == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Settings.load({"LOG_FORMAT": "xml"}, env_file=None)
