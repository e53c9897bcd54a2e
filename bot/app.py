"""Wiring: build the dependencies once, set up logging."""

from __future__ import annotations

import logging
import sys

from knowledge.kb import KnowledgeBase

from . import maintenance, scheduler, teams
from .config import Settings
from .core import Deps, now_local
from .safety import install_log_redaction
from .storage import Storage


def setup_logging(settings: Settings) -> None:
    """Log to stderr, with personal data and secrets masked in every record."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    # httpx logs every request URL, which carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_log_redaction(settings.secrets)


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
