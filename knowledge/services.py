"""The catalogue of what members help with (knowledge/services.yaml), loaded strictly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .loader import KnowledgeError
from .normalize import fold

SERVICES_FILE = Path(__file__).parent / "services.yaml"


@dataclass(frozen=True)
class Service:
    code: str
    label: str
    skill: str
    aliases: tuple[str, ...]
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    skills: dict[str, str]  # skill code -> Vietnamese name, in the official order
    services: tuple[Service, ...]

    def get(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def by_alias(self, word: str) -> Service | None:
        w = fold(word).replace(" ", "").replace("-", "").replace("_", "")
        return next((s for s in self.services if w == s.code.replace("_", "") or w in s.aliases), None)

    def for_topic(self, topic: str) -> Service | None:
        return next((s for s in self.services if topic in s.topics), None)


def load_catalogue(path: Path = SERVICES_FILE) -> Catalogue:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        skills = {str(k): str(v) for k, v in data["skills"].items()}
        services = tuple(
            Service(code=s["code"], label=s["label"], skill=s["skill"],
                    aliases=tuple(fold(a) for a in s.get("aliases", [])), topics=tuple(s.get("topics", [])))
            for s in data["services"]
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise KnowledgeError(f"{path.name}: sai cấu trúc ({exc})") from exc
    codes = [s.code for s in services]
    if len(set(codes)) != len(codes):
        raise KnowledgeError(f"{path.name}: mã dịch vụ bị trùng")
    aliases = [a for s in services for a in s.aliases]
    if len(set(aliases)) != len(aliases):
        raise KnowledgeError(f"{path.name}: từ viết tắt bị trùng")
    bad = [s.code for s in services if s.skill not in skills]
    if bad:
        raise KnowledgeError(f"{path.name}: kỹ năng không có cho {', '.join(bad)}")
    return Catalogue(skills, services)
