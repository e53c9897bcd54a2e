"""Indicators as data (knowledge/indicators.yaml): achievements, activity kinds, and indicators whose
formulas are small arithmetic over a unit's numbers. Loaded strictly; `check` lists every problem.

Formulas are parsed with `ast` and evaluated by walking the tree: only numbers, known names
(`people`, `achieved.vneid2_active`, ...), + - * / and parentheses. Nothing is ever `eval`-ed.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .loader import KnowledgeError
from .normalize import fold
from .services import Catalogue, load_catalogue

INDICATORS_FILE = Path(__file__).parent / "indicators.yaml"
UNITS = ("người", "hộ", "tài khoản", "hồ sơ", "lượt", "buổi", "%")
LEVELS = ("province", "commune", "team")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_PERIOD = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]|\d{2}))?$")
BASE_NAMES = ("records", "households", "people", "sessions", "attendees")
POPULATION = ("population.households", "population.adults")


@dataclass(frozen=True)
class Achievement:
    code: str
    label: str
    unit: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class ActivityKind:
    code: str
    label: str


@dataclass(frozen=True)
class Target:
    value: float
    period: str  # "2026", "2026-Q4", "2026-H1", "2026-11"
    unit: str = "*"  # "*" or a unit's name
    level: str | None = None  # province | commune | team

    @property
    def span(self) -> tuple[dt.date, dt.date]:
        return period_span(self.period)

    @property
    def label(self) -> str:
        year, _, part = self.period.partition("-")
        if not part:
            return f"năm {year}"
        if part.startswith("Q"):
            return f"quý {part[1]}/{year}"
        if part.startswith("H"):
            return f"6 tháng {'đầu' if part == 'H1' else 'cuối'} năm {year}"
        return f"tháng {int(part)}/{year}"


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    unit: str
    formula: str
    targets: tuple[Target, ...] = ()
    tree: ast.Expression | None = field(default=None, compare=False, repr=False)

    def evaluate(self, values: dict[str, float | None]) -> float | None:
        """The value for one unit's numbers; None when a denominator is missing or zero."""
        tree = self.tree or ast.parse(self.formula, mode="eval")
        return _eval(tree.body, values)

    def target_for(self, start: dt.date, end: dt.date, unit_name: str, level: str) -> Target | None:
        """The most specific target whose period holds [start, end]: a named unit, then a level, then '*'."""
        fitting = [t for t in self.targets if t.span[0] <= start and end <= t.span[1]]

        for test in (lambda t: t.unit != "*" and fold(t.unit) == fold(unit_name),
                     lambda t: t.unit == "*" and t.level == level,
                     lambda t: t.unit == "*" and t.level is None):
            found = [t for t in fitting if test(t)]
            if found:
                return min(found, key=lambda t: t.span[1] - t.span[0])  # the shortest period fits best
        return None


@dataclass(frozen=True)
class Indicators:
    achievements: tuple[Achievement, ...]
    activities: tuple[ActivityKind, ...]
    indicators: tuple[Indicator, ...]

    def achievement(self, code: str) -> Achievement | None:
        return next((a for a in self.achievements if a.code == code), None)

    def activity(self, code: str) -> ActivityKind | None:
        return next((a for a in self.activities if a.code == code), None)

    def achievements_for(self, service: str) -> list[Achievement]:
        return [a for a in self.achievements if service in a.services]

    def names(self, catalogue: Catalogue) -> set[str]:
        """Every name a formula may use."""
        names = set(BASE_NAMES) | set(POPULATION)
        names |= {f"service.{s.code}" for s in catalogue.services}
        names |= {f"achieved.{a.code}" for a in self.achievements}
        names |= {f"sessions.{k.code}" for k in self.activities} | {f"attendees.{k.code}" for k in self.activities}
        return names


def period_span(text: str) -> tuple[dt.date, dt.date]:
    m = _PERIOD.match(text)
    if not m:
        raise ValueError(text)
    year, part = int(m[1]), m[2]
    if part is None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if part.startswith("Q"):
        q = int(part[1])
        first, last = 3 * q - 2, 3 * q
    elif part.startswith("H"):
        first, last = (1, 6) if part == "H1" else (7, 12)
    else:
        first = last = int(part)
        if not 1 <= first <= 12:
            raise ValueError(text)
    end = dt.date(year + (last == 12), last % 12 + 1, 1) - dt.timedelta(days=1)
    return dt.date(year, first, 1), end


def dotted(node: ast.AST) -> str | None:
    """'achieved.vneid2_active' from Attribute(Name('achieved'), 'vneid2_active'); None otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def formula_names(tree: ast.Expression) -> list[str]:
    """The names a formula uses; raises ValueError for anything beyond + - * / numbers and names."""
    found: list[str] = []

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            walk(node.operand)
        elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
                and not isinstance(node.value, bool):
            pass
        elif (name := dotted(node)) is not None:
            found.append(name)
        else:
            raise ValueError(f"không dùng được '{ast.unparse(node)}' (chỉ số, tên và + - * /)")

    walk(tree.body)
    return found


def _eval(node: ast.AST, values: dict[str, float | None]) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)  # formula_names() admitted only numbers; anything else fails below
    if isinstance(node, ast.UnaryOp):
        inner = _eval(node.operand, values)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, values), _eval(node.right, values)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return None if right == 0 else left / right
    name = dotted(node)
    if name is None:
        raise ValueError(ast.unparse(node))
    value = values.get(name, 0.0)
    return None if value is None else float(value)


def _targets(raw: Any, where: str, errors: list[str]) -> tuple[Target, ...]:
    out = []
    for i, t in enumerate(raw or []):
        if not isinstance(t, dict):
            errors.append(f"{where}: chỉ tiêu {i + 1} phải là một mục (unit, period, value)")
            continue
        value, period = t.get("value"), str(t.get("period", ""))
        level = t.get("level")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            errors.append(f"{where}: chỉ tiêu {i + 1} cần 'value' là số không âm")
            continue
        try:
            period_span(period)
        except ValueError:
            errors.append(f"{where}: chỉ tiêu {i + 1} có 'period' \"{period}\" không hợp lệ "
                          "(dạng 2026, 2026-Q4, 2026-H1 hoặc 2026-11)")
            continue
        if level is not None and level not in LEVELS:
            errors.append(f"{where}: chỉ tiêu {i + 1} có 'level' \"{level}\" không hợp lệ ({', '.join(LEVELS)})")
            continue
        out.append(Target(float(value), period, str(t.get("unit", "*")), level))
    return tuple(out)


def _achievements(items: Any, services: set[str], origin: str, errors: list[str]) -> list[Achievement]:
    out: list[Achievement] = []
    seen: set[str] = set()
    for a in items or []:
        code = str((a or {}).get("code", ""))
        where = f"{origin} [achievements/{code or '?'}]"
        if not _CODE.match(code) or code in seen:
            errors.append(f"{where}: 'code' trống, sai dạng (chữ thường, số, _) hoặc bị trùng")
            continue
        seen.add(code)
        bad = [s for s in a.get("services") or [] if s not in services]
        if not a.get("label") or a.get("unit") not in UNITS or not a.get("services") or bad:
            errors.append(f"{where}: cần 'label', 'unit' ({', '.join(UNITS)}) và 'services' là mã dịch vụ có thật"
                          + (f"; không có: {', '.join(bad)}" if bad else ""))
            continue
        out.append(Achievement(code, str(a["label"]), str(a["unit"]), tuple(a["services"])))
    return out


def _activities(items: Any, origin: str, errors: list[str]) -> list[ActivityKind]:
    out: list[ActivityKind] = []
    seen: set[str] = set()
    for k in items or []:
        code = str((k or {}).get("code", ""))
        where = f"{origin} [activities/{code or '?'}]"
        if not _CODE.match(code) or code in seen or not (k or {}).get("label"):
            errors.append(f"{where}: cần 'code' (chữ thường, số, _; không trùng) và 'label'")
            continue
        seen.add(code)
        out.append(ActivityKind(code, str(k["label"])))
    return out


def _indicator(item: dict[str, Any], where: str, known: set[str], errors: list[str]) -> Indicator | None:
    """One indicator, or None (its problems added to `errors`)."""
    name, unit, formula = str(item.get("name", "")).strip(), item.get("unit"), str(item.get("formula", ""))
    if not name:
        errors.append(f"{where}: thiếu 'name' (tên chỉ tiêu như tỉnh ghi)")
    if unit not in UNITS:
        errors.append(f"{where}: 'unit' \"{unit}\" không hợp lệ ({', '.join(UNITS)})")
    try:
        tree = ast.parse(formula, mode="eval")
        unknown = [n for n in formula_names(tree) if n not in known]
        if unknown:
            errors.append(f"{where}: công thức dùng tên không có: {', '.join(unknown)}")
    except SyntaxError:
        errors.append(f"{where}: công thức \"{formula}\" sai cú pháp")
        return None
    except ValueError as exc:
        errors.append(f"{where}: công thức \"{formula}\": {exc}")
        return None
    targets = _targets(item.get("targets"), where, errors)
    if unit == "%" and any(t.value > 100 for t in targets):
        errors.append(f"{where}: chỉ tiêu phần trăm lớn hơn 100")
    if name and unit in UNITS:
        return Indicator(_ident(item), name, str(unit), formula, targets, tree)
    return None


def parse(data: Any, catalogue: Catalogue, origin: str = "indicators.yaml") -> tuple[Indicators, list[str]]:
    """The indicators and every problem found (an empty list when the file is valid)."""
    errors: list[str] = []
    if not isinstance(data, dict):
        return Indicators((), (), ()), [f"{origin}: tệp phải là một bảng (achievements, activities, indicators)"]
    for kind in ("achievements", "activities", "indicators"):
        items = data.get(kind)
        if not isinstance(items, list) or not items:
            errors.append(f"{origin}: thiếu danh sách '{kind}'")
    achievements = _achievements(data.get("achievements"), {s.code for s in catalogue.services}, origin, errors)
    activities = _activities(data.get("activities"), origin, errors)
    known = Indicators(tuple(achievements), tuple(activities), ()).names(catalogue)
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for item in data.get("indicators") or []:
        item = item or {}
        ident = _ident(item)
        where = f"{origin} [indicators/{ident or '?'}]"
        if not _CODE.match(ident) or ident in seen:
            errors.append(f"{where}: 'id' trống, sai dạng hoặc bị trùng")
            continue
        seen.add(ident)
        found = _indicator(item, where, known, errors)
        if found is not None:
            indicators.append(found)
    return Indicators(tuple(achievements), tuple(activities), tuple(indicators)), errors


def _ident(item: dict[str, Any]) -> str:
    return str(item.get("id", ""))


def indicators_file(local_dir: Path | None = None) -> Path:
    """A commune's or province's own file in the local knowledge folder replaces the shipped one."""
    if local_dir is not None and (Path(local_dir) / "indicators.yaml").is_file():
        return Path(local_dir) / "indicators.yaml"
    return INDICATORS_FILE


def load_indicators(path: Path = INDICATORS_FILE, catalogue: Catalogue | None = None) -> Indicators:
    """Strict: a problem stops start-up with the file name and the item."""
    catalogue = catalogue or load_catalogue()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path.name}: không đọc được ({exc})") from exc
    result, errors = parse(data, catalogue, path.name)
    if errors:
        raise KnowledgeError("; ".join(errors))
    return result


def check(path: Path = INDICATORS_FILE, catalogue: Catalogue | None = None) -> tuple[Indicators, list[str]]:
    """Every problem of the file, for `python -m bot indicators check`."""
    catalogue = catalogue or load_catalogue()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return Indicators((), (), ()), [f"{path.name}: không đọc được ({exc})"]
    return parse(data, catalogue, path.name)
