"""Which web domains the knowledge base may cite (`knowledge/sources.yaml`), and how a source is labelled."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import yaml

from .loader import Source

__all__ = ["Registry", "Source", "Verdict", "host_of", "load_registry", "registry"]

SOURCES_FILE = Path(__file__).parent / "sources.yaml"
CATEGORIES = ("official", "press", "secondary", "disallowed")


@dataclass(frozen=True)
class Verdict:
    category: str  # one of CATEGORIES, or "unknown"
    name: str  # display name of the matched suffix ("" when unknown)
    domain: str


def host_of(url: str) -> str:
    """The lower-case host of an http(s) URL without "www." (or "" when the text is not such a URL)."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        return ""
    return parsed.hostname.lower().removeprefix("www.")


def _covers(suffix: str, host: str) -> bool:
    return host == suffix or host.endswith("." + suffix)


class Registry:
    def __init__(self, data: dict[str, dict[str, str]]) -> None:
        self.lists = {c: {str(k).lower(): str(v) for k, v in (data.get(c) or {}).items()} for c in CATEGORIES}
        self._verdicts: dict[str, Verdict] = {}  # every answer shown labels its sources: each URL once

    def classify(self, url: str) -> Verdict:
        verdict = self._verdicts.get(url)
        if verdict is None:
            verdict = self._classify(url)
            if len(self._verdicts) < 10_000:
                self._verdicts[url] = verdict
        return verdict

    def _classify(self, url: str) -> Verdict:
        host = host_of(url)
        if not host:
            return Verdict("unknown", "", "")
        for suffix, why in self.lists["disallowed"].items():
            if _covers(suffix, host):
                return Verdict("disallowed", why, host)
        best: tuple[int, str, str] | None = None
        for category in ("official", "press", "secondary"):
            for suffix, name in self.lists[category].items():
                if _covers(suffix, host) and (best is None or len(suffix) > best[0]):
                    best = (len(suffix), category, name)
        if best is None:
            return Verdict("unknown", "", host)
        return Verdict(best[1], best[2], host)


class _UniqueKeys(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (plain YAML keeps the last one silently)."""


def _unique_mapping(loader: _UniqueKeys, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        k = loader.construct_object(key_node, deep=deep)
        if k in seen:
            raise ValueError(f"dòng {key_node.start_mark.line + 1}: tên miền '{k}' có hai lần")
        seen.add(k)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_registry(path: Path = SOURCES_FILE) -> Registry:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeys) or {}  # a SafeLoader subclass
    if not isinstance(data, dict) or not all(isinstance(data.get(c) or {}, dict) for c in CATEGORIES):
        raise ValueError(f"{path.name}: phải có các mục {', '.join(CATEGORIES)}, mỗi mục là ánh xạ tên miền -> tên")
    listed: dict[str, str] = {}
    for category in CATEGORIES:
        for domain in data.get(category) or {}:
            if domain in listed:
                raise ValueError(f"{path.name}: tên miền '{domain}' có trong cả '{listed[domain]}' và '{category}'")
            listed[domain] = category
    return Registry(data)


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The shipped list, read once."""
    return load_registry()
