"""Wiring: build the dependencies once, set up logging."""

from __future__ import annotations

from knowledge.kb import KnowledgeBase

from . import logs, maintenance, scheduler, teams
from .config import Settings
from .core import Deps, now_local
from .storage import Storage


def setup_logging(settings: Settings) -> None:
    """Log to stderr as text or JSON lines, with personal data and secrets masked in every record."""
    logs.setup(settings.log_level, settings.log_format, settings.secrets)


def build_deps(settings: Settings, storage: Storage | None = None, kb: KnowledgeBase | None = None) -> Deps:
    tz = settings.timezone
    store = storage or Storage(settings.database_path, settings.backup_dir)
    deps = Deps(
        settings=settings,
        storage=store,
        kb=kb or KnowledgeBase.load(settings.local_knowledge_dir),
        clock=lambda: now_local(tz),
        extras={"team_of": lambda user_key: teams.team_of(store, user_key)},  # scopes the leaders' inbox
    )
    scheduler.install(deps)
    maintenance.install(deps)
    return deps
