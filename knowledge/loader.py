"""Strict loader for the knowledge base: shipped entries plus a commune's local folder.

A bad file stops start-up with the file name and the entry id. Local files may add
entries, override shipped ones by id, and add phrasings (`_phrasings.yaml`:
entry id -> list of extra questions).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"
PHRASINGS_FILE = "_phrasings.yaml"
# Ids of entries merged into another one: old id -> the id that now answers it. Ids are stored
# (feedback, the inbox's closed questions, a conversation's topic, buttons in old messages, a
# commune's `_phrasings.yaml`), so an old id keeps resolving after a merge.
ALIASES_FILE = Path(__file__).parent / "aliases.yaml"
TOPICS: dict[str, str] = {
    "vneid": "VNeID và định danh điện tử",
    "dichvucong": "Dịch vụ công trực tuyến",
    "thanhtoan": "Thanh toán không dùng tiền mặt",
    "luadao": "Phòng tránh lừa đảo",
    "tocongnghe": "Tổ công nghệ số và kỹ năng số",
    "diaphuong": "Kinh nghiệm các địa phương",
    "smalltalk": "Trò chuyện",
}
BROWSABLE_TOPICS = [t for t in TOPICS if t != "smalltalk"]
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED = ("id", "title", "topic", "questions", "answer", "related", "sources", "checked")
# `kind` and `short` are required by `kb check`; the loader still accepts entries without them
# (and bare-string sources) so a file written to the older format keeps loading while it is converted.
OPTIONAL = ("kind", "short", "effective", "as_of", "review_by", "official_missing")
KINDS = ("procedure", "rule", "info", "guide", "smalltalk")
# Kinds that need no outside source: small talk, and guides to the bot's own commands (checked against the
# bot itself by tests/test_kb_guides.py).
UNSOURCED_KINDS = ("smalltalk", "guide")
MIN_QUESTIONS = 5  # phrasings per entry: the loader refuses fewer, and so does `kb check`


class KnowledgeError(ValueError):
    """The knowledge base has a problem that must be fixed before the bot starts."""


@dataclass(frozen=True)
class Source:
    """Who published a fact, as a user recognises it, and where. `legacy` marks an old bare string."""

    outlet: str
    title: str
    url: str
    legacy: bool = False

    def to_dict(self) -> dict[str, str]:
        return {"outlet": self.outlet, "title": self.title, "url": self.url}


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    topic: str
    questions: tuple[str, ...]
    answer: str
    related: tuple[str, ...]
    sources: tuple[Source, ...]
    checked: dt.date
    effective: dt.date | None = None
    origin: str = field(default="", compare=False)
    kind: str = ""  # "" only for an entry in the older format (kb check reports it)
    short: str = ""  # "" only for an entry in the older format; `brief` falls back to the answer
    as_of: dt.date | None = None
    review_by: dt.date | None = None
    official_missing: str = ""  # why a procedure cites no official page (kb check warns, never silently)

    @property
    def brief(self) -> str:
        """What is shown first: the short form, or the whole answer when there is none."""
        return self.short or self.answer

    @property
    def has_more(self) -> bool:
        """Whether the full answer says more than the short form."""
        return bool(self.short) and self.short != self.answer

    def to_dict(self) -> dict[str, Any]:
        def iso(day: dt.date | None) -> str | None:
            return day.isoformat() if day else None

        return {
            "id": self.id, "title": self.title, "topic": self.topic, "kind": self.kind or None,
            "questions": list(self.questions), "short": self.short or None, "answer": self.answer,
            "related": list(self.related), "sources": [s.to_dict() for s in self.sources],
            "checked": self.checked.isoformat(), "as_of": iso(self.as_of),
            "effective": iso(self.effective), "review_by": iso(self.review_by),
            "official_missing": self.official_missing or None, "origin": self.origin,
        }


def _date(value: Any, where: str, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise KnowledgeError(f"{where}: '{name}' phải là ngày dạng YYYY-MM-DD, nhận được {value!r}")


def _strings(value: Any, where: str, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnowledgeError(f"{where}: '{name}' phải là danh sách chuỗi")
    return tuple(v.strip() for v in value)


def _sources(value: Any, where: str) -> tuple[Source, ...]:
    """A list of {outlet, title, url} mappings; a bare string is kept as a legacy source for kb check."""
    if not isinstance(value, list):
        raise KnowledgeError(f"{where}: 'sources' phải là danh sách")
    sources = []
    for i, item in enumerate(value, 1):
        if isinstance(item, str):
            if item.strip():
                sources.append(Source("", "", item.strip(), legacy=True))
            continue
        if not isinstance(item, dict):
            raise KnowledgeError(f"{where}: nguồn thứ {i} phải có outlet, title, url")
        unknown = sorted(set(item) - {"outlet", "title", "url"})
        if unknown:
            raise KnowledgeError(f"{where}: nguồn thứ {i} có trường không hợp lệ {', '.join(map(str, unknown))}")
        fields: dict[str, str] = {}
        for name in ("outlet", "title", "url"):
            text = item.get(name)
            if not isinstance(text, str) or not text.strip():
                raise KnowledgeError(f"{where}: nguồn thứ {i} thiếu '{name}'")
            fields[name] = " ".join(text.split())
        sources.append(Source(outlet=fields["outlet"], title=fields["title"], url=fields["url"]))
    return tuple(sources)


def _optional_date(raw: dict[str, Any], where: str, name: str) -> dt.date | None:
    value = raw.get(name)
    return _date(value, where, name) if value is not None else None


def parse_entry(raw: Any, path: Path, index: int) -> Entry:
    """Validate one raw YAML mapping and freeze it."""
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{path.name} mục #{index + 1}: phải là một ánh xạ (mapping)")
    ident = raw.get("id")
    where = f"{path.name} [{ident or f'mục #{index + 1}'}]"
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise KnowledgeError(f"{where}: thiếu trường {', '.join(missing)}")
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise KnowledgeError(f"{where}: trường không hợp lệ {', '.join(unknown)}")
    if not isinstance(ident, str) or not ID_RE.match(ident):
        raise KnowledgeError(f"{where}: id phải gồm chữ thường không dấu, số và dấu '-'")
    for name in ("title", "answer", "topic"):
        if not isinstance(raw[name], str) or not raw[name].strip():
            raise KnowledgeError(f"{where}: '{name}' không được để trống")
    if raw["topic"] not in TOPICS:
        raise KnowledgeError(f"{where}: chủ đề '{raw['topic']}' không có; dùng một trong {', '.join(TOPICS)}")
    questions = tuple(q for q in _strings(raw["questions"], where, "questions") if q)
    if len(questions) < MIN_QUESTIONS:
        raise KnowledgeError(f"{where}: cần ít nhất {MIN_QUESTIONS} cách hỏi, có {len(questions)}")
    kind = raw.get("kind", "")
    if kind and kind not in KINDS:
        raise KnowledgeError(f"{where}: kind '{kind}' không có; dùng một trong {', '.join(KINDS)}")
    short = raw.get("short", "")
    if not isinstance(short, str):
        raise KnowledgeError(f"{where}: 'short' phải là chuỗi")
    official_missing = raw.get("official_missing", "")
    if not isinstance(official_missing, str):
        raise KnowledgeError(f"{where}: 'official_missing' phải là chuỗi (lý do)")
    sources = _sources(raw["sources"], where)
    if not sources and kind not in UNSOURCED_KINDS:
        raise KnowledgeError(f"{where}: thiếu nguồn (sources)")
    return Entry(
        id=ident, title=raw["title"].strip(), topic=raw["topic"],
        questions=questions, answer=raw["answer"].strip(),
        related=_strings(raw["related"], where, "related"), sources=sources,
        checked=_date(raw["checked"], where, "checked"),
        effective=_optional_date(raw, where, "effective"),
        origin=str(path), kind=kind, short=short.strip(),
        as_of=_optional_date(raw, where, "as_of"), review_by=_optional_date(raw, where, "review_by"),
        official_missing=official_missing.strip(),
    )


def load_file(path: Path) -> list[Entry]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path.name}: YAML sai cú pháp: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise KnowledgeError(f"{path.name}: tệp phải là một danh sách các mục")
    return [parse_entry(raw, path, i) for i, raw in enumerate(data)]


def _load_dir(directory: Path) -> list[Entry]:
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == PHRASINGS_FILE:
            continue
        for entry in load_file(path):
            if entry.id in seen:
                raise KnowledgeError(f"{path.name} [{entry.id}]: id trùng với một mục trong {seen[entry.id]}")
            seen[entry.id] = path.name
            entries.append(entry)
    return entries


def load_phrasings(local_dir: Path) -> dict[str, list[str]]:
    path = local_dir / PHRASINGS_FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(q, str) for q in v) for k, v in data.items()
    ):
        raise KnowledgeError(f"{path.name}: phải là ánh xạ id -> danh sách câu hỏi")
    return data


def load_aliases(path: Path = ALIASES_FILE) -> dict[str, str]:
    """Old entry id -> the id of the entry it was merged into (empty when there is no file)."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and ID_RE.match(k) and isinstance(v, str) and ID_RE.match(v) for k, v in data.items()
    ):
        raise KnowledgeError(f"{path.name}: phải là ánh xạ id cũ -> id mới")
    return dict(data)


def resolve(ident: str, aliases: dict[str, str]) -> str:
    """The live id for `ident`: itself, or the entry it was merged into (followed to the end)."""
    seen = {ident}
    while ident in aliases:
        ident = aliases[ident]
        if ident in seen:
            raise KnowledgeError(f"{ALIASES_FILE.name}: vòng lặp ở '{ident}'")
        seen.add(ident)
    return ident


def load(local_dir: Path | None = None, shipped_dir: Path = DATA_DIR, check_related: bool = True,
         aliases: dict[str, str] | None = None) -> list[Entry]:
    """Shipped entries, overridden and extended by the local folder, with local phrasings added.

    `check_related=False` lets `kb check` list every dangling id instead of stopping at the first.
    Local phrasings filed under a merged entry's old id, and `related` links to it, go to the entry it was
    merged into (knowledge/aliases.yaml).
    """
    aliases = load_aliases() if aliases is None else aliases
    entries = {e.id: e for e in _load_dir(shipped_dir)}
    if local_dir is not None and local_dir.is_dir():
        for entry in _load_dir(local_dir):
            entries[entry.id] = entry
        for name, extra in load_phrasings(local_dir).items():
            ident = name if name in entries else resolve(name, aliases)
            if ident not in entries:
                raise KnowledgeError(f"{PHRASINGS_FILE}: mục '{ident}' không tồn tại")
            old = entries[ident]
            new_questions = tuple(dict.fromkeys(old.questions + tuple(q.strip() for q in extra if q.strip())))
            entries[ident] = Entry(**{**old.__dict__, "questions": new_questions})
    for ident, entry in entries.items():  # a `related` link to a merged id points to the entry it went into
        if any(r in aliases for r in entry.related):
            related = tuple(r for r in dict.fromkeys(resolve(r, aliases) for r in entry.related) if r != ident)
            entries[ident] = Entry(**{**entry.__dict__, "related": related})
    for entry in entries.values() if check_related else ():
        dangling = [r for r in entry.related if r not in entries]
        if dangling:
            raise KnowledgeError(f"{Path(entry.origin).name} [{entry.id}]: 'related' trỏ tới mục không có: "
                                 f"{', '.join(dangling)}")
    return list(entries.values())


def add_local_phrasing(local_dir: Path, entry_id: str, question: str) -> None:
    """Append a phrasing for `entry_id` to the local folder (used by leaders' inbox)."""
    local_dir.mkdir(parents=True, exist_ok=True)
    data = load_phrasings(local_dir)
    questions = data.setdefault(entry_id, [])
    if question not in questions:
        questions.append(question)
    path = local_dir / PHRASINGS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
