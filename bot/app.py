"""Wiring, in one place: the dependencies with the features' router, and logging.

The composition root: the only module of `bot` that imports `handlers`."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

from handlers import ROUTER
from knowledge.kb import KnowledgeBase

from . import followups, logs, maintenance, scheduler
from .clock import now_local
from .config import ConfigError, Settings
from .core import Deps, Services
from .storage import Storage


def setup_logging(settings: Settings) -> None:
    """Log to stderr as text or JSON lines, with personal data and secrets masked in every record."""
    logs.setup(settings.log_level, settings.log_format, settings.secrets)


def open_storage(path: Path, backup_dir: Path | None = None) -> Storage:
    """The database, or one clear line (a ConfigError) instead of a traceback when it cannot be used."""
    try:
        return Storage(path, backup_dir)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"DATABASE_PATH: không dùng được cơ sở dữ liệu {path} ({exc}). Tệp có thể bị hỏng "
                          "hoặc không phải cơ sở dữ liệu của trợ lý; hãy khôi phục từ bản sao lưu.") from None
    except OSError as exc:
        raise ConfigError(f"DATABASE_PATH: không mở được {path} ({exc.strerror or exc}). "
                          "Bạn kiểm tra thư mục có tồn tại và ghi được không nhé.") from None


def compose(settings: Settings, storage: Storage, kb: KnowledgeBase,
            clock: Callable[[], dt.datetime] = now_local, services: Services | None = None) -> Deps:
    """Deps with the features' router; no background jobs (tests and tools use this directly)."""
    return Deps(settings=settings, storage=storage, kb=kb, clock=clock,
                services=Services() if services is None else services, router=ROUTER)


def build_deps(settings: Settings, storage: Storage | None = None, kb: KnowledgeBase | None = None) -> Deps:
    """The running bot's dependencies: the database, the knowledge base, the clock and the weekly digest."""
    tz = settings.timezone
    deps = compose(settings, storage or open_storage(settings.database_path, settings.backup_dir),
                   kb or KnowledgeBase.load(settings.local_knowledge_dir), clock=lambda: now_local(tz))
    scheduler.install(deps)
    followups.install(deps)
    maintenance.install(deps)
    return deps
