"""Rename merged entry ids in the `expected` cells of every evaluation file (dev and test alike).

    .venv/bin/python benchmarks/rename_ids.py            # apply knowledge/aliases.yaml

A mechanical rename after a merge (see knowledge/aliases.yaml): each `expected` cell's ids are
mapped old -> new and de-duplicated (`a|b` with b merged into a becomes `a`). Only the expected
column changes, no row is added, removed or moved (the member-typed sets split dev/test by row
order), and the questions are never printed: the held-out rows stay unread.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.loader import load_aliases, resolve

EVAL_DIR = Path(__file__).parent / "eval"
# file glob -> index of the expected column
COLUMNS = {"*.tsv": 1, "real/*.tsv": 1, "dialogues/*.tsv": 3}


def rename_cell(cell: str, aliases: dict[str, str]) -> str:
    if cell.startswith("gap:") or cell in {"", "none"}:
        return cell
    return "|".join(dict.fromkeys(resolve(i.strip(), aliases) for i in cell.split("|") if i.strip()))


def rename_file(path: Path, column: int, aliases: dict[str, str]) -> int:
    """Rewrite `path` in place; the number of cells changed."""
    lines = path.read_text(encoding="utf-8").split("\n")
    changed = 0
    for n, line in enumerate(lines[1:], 1):
        cells = line.split("\t")
        if len(cells) <= column:
            continue
        new = rename_cell(cells[column], aliases)
        if new != cells[column]:
            cells[column] = new
            lines[n] = "\t".join(cells)
            changed += 1
    if changed:
        path.write_text("\n".join(lines), encoding="utf-8")
    return changed


def main() -> int:
    aliases = load_aliases()
    for pattern, column in COLUMNS.items():
        for path in sorted(EVAL_DIR.glob(pattern)):
            changed = rename_file(path, column, aliases)
            if changed:
                print(f"{path.relative_to(EVAL_DIR)}: {changed} expected cells renamed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
