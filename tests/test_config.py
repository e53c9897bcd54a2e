"""Settings.load: every setting read from the environment or `.env`, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_TELEGRAM_BASE_URL, ConfigError, Settings, read_env_file


def load(**env: str) -> Settings:
    return Settings.load(env=env, env_file=None)


def test_defaults_without_any_setting():
    s = load()
    assert s.database_path == Path("data/tcns.db")
    assert s.admin_ids == frozenset()
    assert s.log_level == "INFO"
    assert s.webhook_listen == ("0.0.0.0", 8080)
    assert s.telegram_base_url == DEFAULT_TELEGRAM_BASE_URL
    assert (s.digest_weekday, s.digest_time) == (0, "07:00")
    assert s.knowledge_local_dir is None
    assert s.local_knowledge_dir == Path("data/knowledge_local")


def test_values_are_read_and_trimmed():
    s = load(DATABASE_PATH=" /srv/tcns/bot.db ", ADMIN_IDS="telegram:1, zalo:abc ,", LOG_LEVEL="debug",
             WEBHOOK_LISTEN="127.0.0.1:9000", ZALO_BASE_URL="https://zalo.example/", PUBLIC_BASE_URL="https://x.vn/",
             DIGEST_WEEKDAY="6", DIGEST_TIME="21:30", KNOWLEDGE_LOCAL_DIR="/srv/kb")
    assert s.database_path == Path("/srv/tcns/bot.db")
    assert s.admin_ids == frozenset({"telegram:1", "zalo:abc"})
    assert s.log_level == "DEBUG"
    assert s.webhook_listen == ("127.0.0.1", 9000)
    assert s.zalo_base_url == "https://zalo.example"
    assert s.public_base_url == "https://x.vn"
    assert (s.digest_weekday, s.digest_time) == (6, "21:30")
    assert s.local_knowledge_dir == Path("/srv/kb")


def test_a_listen_address_without_host_binds_everywhere():
    assert load(WEBHOOK_LISTEN=":8443").webhook_listen == ("0.0.0.0", 8443)


@pytest.mark.parametrize(("name", "value", "names_it"), [
    ("DIGEST_WEEKDAY", "7", "DIGEST_WEEKDAY"),
    ("DIGEST_WEEKDAY", "thu hai", "DIGEST_WEEKDAY"),
    ("DIGEST_TIME", "7h", "DIGEST_TIME"),
    ("DIGEST_TIME", "24:00", "DIGEST_TIME"),
    ("DIGEST_TIME", "07:60", "DIGEST_TIME"),
    ("LOG_LEVEL", "verbose", "LOG_LEVEL"),
    ("WEBHOOK_LISTEN", "8080", "WEBHOOK_LISTEN"),
    ("WEBHOOK_LISTEN", "host:port", "WEBHOOK_LISTEN"),
    ("ADMIN_IDS", "12345", "ADMIN_IDS"),
    ("ADMIN_IDS", "telegram:", "ADMIN_IDS"),
])
def test_bad_values_name_the_setting(name, value, names_it):
    with pytest.raises(ConfigError, match=names_it):
        load(**{name: value})


def test_env_file_quoting_comments_and_environment_precedence(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\n\nTELEGRAM_BOT_TOKEN=\"123:abc def\"\nZALO_BOT_TOKEN='z-1'\nLOG_LEVEL=warning\n"
        "not a setting line\nDATABASE_PATH = /tmp/x.db \n", encoding="utf-8")
    assert read_env_file(env_file)["TELEGRAM_BOT_TOKEN"] == "123:abc def"
    s = Settings.load(env={"LOG_LEVEL": "ERROR"}, env_file=env_file)
    assert s.telegram_bot_token == "123:abc def"
    assert s.zalo_bot_token == "z-1"
    assert s.log_level == "ERROR"  # the environment wins over the file
    assert s.database_path == Path("/tmp/x.db")
    assert read_env_file(tmp_path / "missing.env") == {}


def test_secrets_are_listed_and_never_in_repr():
    s = load(TELEGRAM_BOT_TOKEN="123:SECRET", ZALO_WEBHOOK_SECRET="zalo-secret-1")
    assert set(s.secrets) == {"123:SECRET", "zalo-secret-1"}
    assert "SECRET" not in repr(s) and "zalo-secret-1" not in repr(s)
