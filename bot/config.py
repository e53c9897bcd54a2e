"""Typed settings, read once from the environment and an optional `.env` file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_ZALO_BASE_URL = "https://bot-api.zaloplatforms.com"


class ConfigError(ValueError):
    """A setting has a value the bot cannot use."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _ids(raw: str) -> frozenset[str]:
    ids = {part.strip() for part in raw.split(",") if part.strip()}
    for ident in ids:
        channel, sep, user = ident.partition(":")
        if not sep or not channel or not user:
            raise ConfigError(f"ADMIN_IDS: '{ident}' phải có dạng kênh:mã_người_dùng, ví dụ telegram:12345")
    return frozenset(ids)


def _listen(raw: str) -> tuple[str, int]:
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"WEBHOOK_LISTEN: '{raw}' phải có dạng host:port, ví dụ 0.0.0.0:8080")
    return host or "0.0.0.0", int(port)


def _clock_time(name: str, raw: str) -> str:
    hh, _, mm = raw.partition(":")
    if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
        raise ConfigError(f"{name}: '{raw}' phải có dạng HH:MM")
    return f"{int(hh):02d}:{int(mm):02d}"


def _count(name: str, raw: str, minimum: int) -> int:
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(f"{name}: '{raw}' phải là số nguyên từ {minimum} trở lên")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    database_path: Path = Path("data/tcns.db")
    knowledge_local_dir: Path | None = None
    admin_ids: frozenset[str] = frozenset()
    log_level: str = "INFO"
    export_dir: Path = Path("data/exports")
    timezone: str = "Asia/Ho_Chi_Minh"
    telegram_bot_token: str = field(default="", repr=False)
    telegram_base_url: str = DEFAULT_TELEGRAM_BASE_URL
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = field(default="", repr=False)
    webhook_listen: tuple[str, int] = ("0.0.0.0", 8080)
    zalo_bot_token: str = field(default="", repr=False)
    zalo_base_url: str = DEFAULT_ZALO_BASE_URL
    zalo_webhook_url: str = ""
    zalo_webhook_secret: str = field(default="", repr=False)
    public_base_url: str = ""
    digest_weekday: int = 0  # Monday
    digest_time: str = "07:00"
    backdate_days: int = 30  # how far back /ghi and /sua accept the day a household was helped
    leader_edit_days: int = 30  # how long a leader (or an admin) may correct or void a member's record
    reminder_time: str = "08:00"  # local time of the follow-up reminder on its due day
    backup_dir_setting: Path | None = None
    backup_time: str = "02:30"  # "" turns the daily backup off
    backup_keep: int = 14
    retention_months: int = 36  # 0 turns automatic anonymisation off
    metrics_token: str = field(default="", repr=False)
    log_format: str = "text"  # text | json

    @property
    def backup_dir(self) -> Path:
        """Where backups go: BACKUP_DIR, or `backups` next to the database."""
        return self.backup_dir_setting or self.database_path.parent / "backups"

    @property
    def local_knowledge_dir(self) -> Path:
        """The commune's own knowledge folder; leaders' added phrasings go here. Defaults next to the DB."""
        return self.knowledge_local_dir or self.database_path.parent / "knowledge_local"

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in logs."""
        return [s for s in (self.telegram_bot_token, self.telegram_webhook_secret,
                            self.zalo_bot_token, self.zalo_webhook_secret, self.metrics_token) if s]

    @classmethod
    def load(cls, env: dict[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
        """Build settings from `env` (default: os.environ) over the values in `env_file`."""
        values = read_env_file(env_file) if env_file else {}
        values.update(os.environ if env is None else env)

        def get(name: str, default: str = "") -> str:
            return values.get(name, default).strip()

        local = get("KNOWLEDGE_LOCAL_DIR")
        weekday = get("DIGEST_WEEKDAY", "0")
        if not weekday.isdigit() or int(weekday) > 6:
            raise ConfigError("DIGEST_WEEKDAY phải là số từ 0 (thứ Hai) đến 6 (Chủ nhật)")
        digest_time = _clock_time("DIGEST_TIME", get("DIGEST_TIME", "07:00"))
        backup_time = get("BACKUP_TIME", "02:30")
        if backup_time:
            backup_time = _clock_time("BACKUP_TIME", backup_time)
        backup_dir = get("BACKUP_DIR")
        log_format = get("LOG_FORMAT", "text").lower()
        if log_format not in {"text", "json"}:
            raise ConfigError(f"LOG_FORMAT: '{log_format}' phải là text hoặc json")
        timezone = get("TIMEZONE", "Asia/Ho_Chi_Minh")
        try:
            ZoneInfo(timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise ConfigError(f"TIMEZONE: '{timezone[:40]}' không phải múi giờ hợp lệ; dùng Asia/Ho_Chi_Minh") from None
        level = get("LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigError(f"LOG_LEVEL: '{level}' không hợp lệ")
        backdate = get("BACKDATE_DAYS", "30")
        if not backdate.isdigit() or int(backdate) > 366:
            raise ConfigError(f"BACKDATE_DAYS: '{backdate}' phải là số ngày từ 0 đến 366")
        leader_days = get("LEADER_EDIT_DAYS", "30")
        if not leader_days.isdigit() or not 1 <= int(leader_days) <= 366:
            raise ConfigError(f"LEADER_EDIT_DAYS: '{leader_days[:20]}' phải là số ngày từ 1 đến 366")
        reminder = get("REMINDER_TIME", "08:00")
        rh, _, rm = reminder.partition(":")
        if not (rh.isdigit() and rm.isdigit() and int(rh) < 24 and int(rm) < 60):
            raise ConfigError(f"REMINDER_TIME: '{reminder[:20]}' phải có dạng HH:MM")
        return cls(
            database_path=Path(get("DATABASE_PATH", "data/tcns.db")),
            knowledge_local_dir=Path(local) if local else None,
            admin_ids=_ids(get("ADMIN_IDS")),
            log_level=level,
            export_dir=Path(get("EXPORT_DIR", "data/exports")),
            timezone=timezone,
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_base_url=get("TELEGRAM_BASE_URL", DEFAULT_TELEGRAM_BASE_URL),
            telegram_webhook_url=get("TELEGRAM_WEBHOOK_URL"),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            webhook_listen=_listen(get("WEBHOOK_LISTEN", "0.0.0.0:8080")),
            zalo_bot_token=get("ZALO_BOT_TOKEN"),
            zalo_base_url=get("ZALO_BASE_URL", DEFAULT_ZALO_BASE_URL).rstrip("/"),
            zalo_webhook_url=get("ZALO_WEBHOOK_URL"),
            zalo_webhook_secret=get("ZALO_WEBHOOK_SECRET"),
            public_base_url=get("PUBLIC_BASE_URL").rstrip("/"),
            digest_weekday=int(weekday),
            digest_time=digest_time,
            backdate_days=int(backdate),
            leader_edit_days=int(leader_days),
            reminder_time=reminder,
            backup_dir_setting=Path(backup_dir) if backup_dir else None,
            backup_time=backup_time,
            backup_keep=_count("BACKUP_KEEP", get("BACKUP_KEEP", "14"), 1),
            retention_months=_count("RETENTION_MONTHS", get("RETENTION_MONTHS", "36"), 0),
            metrics_token=get("METRICS_TOKEN"),
            log_format=log_format,
        )
