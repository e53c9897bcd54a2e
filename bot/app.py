"""Wiring: build the dependencies once, set up logging."""

from __future__ import annotations

import sqlite3

from knowledge.kb import KnowledgeBase

from . import followups, logs, maintenance, scheduler, teams
from .config import ConfigError, Settings
from .core import Deps, now_local
from .storage import Storage


def setup_logging(settings: Settings) -> None:
    """Log to stderr as text or JSON lines, with personal data and secrets masked in every record."""
    logs.setup(settings.log_level, settings.log_format, settings.secrets)


def open_storage(path, backup_dir=None) -> Storage:  # noqa: ANN001 - Paths
    """The database, or one clear line (a ConfigError) instead of a traceback when it cannot be used."""
    try:
        return Storage(path, backup_dir)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"DATABASE_PATH: không dùng được cơ sở dữ liệu {path} ({exc}). Tệp có thể bị hỏng "
                          "hoặc không phải cơ sở dữ liệu của trợ lý; hãy khôi phục từ bản sao lưu.") from None
    except OSError as exc:
        raise ConfigError(f"DATABASE_PATH: không mở được {path} ({exc.strerror or exc}). "
                          "Bạn kiểm tra thư mục có tồn tại và ghi được không nhé.") from None


def build_deps(settings: Settings, storage: Storage | None = None, kb: KnowledgeBase | None = None) -> Deps:
    tz = settings.timezone
    store = storage or open_storage(settings.database_path, settings.backup_dir)
    deps = Deps(
        settings=settings,
        storage=store,
        kb=kb or KnowledgeBase.load(settings.local_knowledge_dir),
        clock=lambda: now_local(tz),
        extras={"team_of": lambda user_key: teams.team_of(store, user_key)},  # scopes the leaders' inbox
    )
    scheduler.install(deps)
    followups.install(deps)
    maintenance.install(deps)
    return deps
