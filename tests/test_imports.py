"""The import graph of bot/, handlers/ and knowledge/, read from the source with ast: no cycles, no
imports of project modules inside functions, `bot` never imports `handlers` (except the composition
root, bot/app.py), and channel adapters never import the runner."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "knowledge")
COMPOSITION_ROOT = "bot.app"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def targets(node: ast.Import | ast.ImportFrom, here: str) -> list[str]:
    """Project modules an import statement loads (a `from package import module` names the module)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            package = here if MODULES[here].name == "__init__.py" else here.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = ".".join(p for p in (package, node.module or "") if p)
        else:
            base = node.module or ""
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return sorted({n for n in names if n.split(".")[0] in PACKAGES})


def imports(name: str) -> tuple[set[str], list[str]]:
    """(module-level imports, imports found inside functions as 'line: module')."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    top: set[str] = set()
    late: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            top.update(targets(node, name))
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            late += [f"{n.lineno}: {t}" for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom)
                     for t in targets(n, name)]
    return top, late


GRAPH = {name: imports(name)[0] for name in MODULES}


def test_the_graph_is_read():
    assert "bot.core" in GRAPH["handlers"] and "handlers" in GRAPH[COMPOSITION_ROOT]
    assert "bot.channels.base" in GRAPH["bot.channels.telegram"]


def test_no_function_level_imports_of_project_modules():
    late = {name: found for name in MODULES if (found := imports(name)[1])}
    assert late == {}


def test_no_import_cycles():
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for nxt in sorted(GRAPH.get(name, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt in GRAPH and nxt not in state:
                visit(nxt)
        path.pop()
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)
    assert cycles == []


def test_bot_never_imports_handlers_except_the_composition_root():
    wrong = {name: sorted(t for t in deps if t.split(".")[0] == "handlers")
             for name, deps in GRAPH.items() if name.split(".")[0] == "bot" and name != COMPOSITION_ROOT}
    assert {name: t for name, t in wrong.items() if t} == {}


def test_channels_never_import_the_runner():
    assert {name for name, deps in GRAPH.items() if name.startswith("bot.channels") and "bot.runner" in deps} == set()


def test_no_sql_in_handlers_or_channel_adapters():
    """Data access lives in the domain modules of bot/ (teams, assist, reports, links, inbox, downloads...)."""
    sql = re.compile(r"execute\(|\b(SELECT|INSERT|UPDATE|DELETE) ")
    found = [f"{p.relative_to(ROOT)}:{i}" for folder in ("handlers", "bot/channels")
             for p in sorted((ROOT / folder).rglob("*.py"))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if sql.search(line)]
    counts: dict[str, int] = {}
    for place in found:
        counts[place.rpartition(":")[0]] = counts.get(place.rpartition(":")[0], 0) + 1
    assert counts == {}
