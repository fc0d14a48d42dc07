"""DOCS/architecture.md's level map is the one in tripcast/levels.py (regenerate it with
``python tests/architecture/test_architecture_doc.py`` after changing the map)."""

from __future__ import annotations

import sys
from pathlib import Path

from tripcast.levels import FOLDER_LEVELS, PACKAGE_LEVELS, ROOT_PACKAGE, Level

DOC = Path(__file__).resolve().parents[2] / "DOCS" / "architecture.md"
BEGIN, END = "<!-- levels:begin (generated from src/tripcast/levels.py) -->", "<!-- levels:end -->"


def render_level_table() -> str:
    """The Markdown table of every level: its packages and root folders, cumulative from beginner up."""
    rows = ["| level | adds these packages | adds these root folders |", "| --- | --- | --- |"]
    for level in Level:
        packages = sorted(p for p, tagged in PACKAGE_LEVELS.items() if tagged is level)
        if level is Level.BEGINNER:
            packages.insert(0, ROOT_PACKAGE)
        folders = sorted(f for f, tagged in FOLDER_LEVELS.items() if tagged is level)
        rows.append(
            f"| {level.name.lower()} | {', '.join(f'`{p}`' for p in packages) or '-'} "
            f"| {', '.join(f'`{f}/`' for f in folders) or '-'} |"
        )
    return "\n".join(rows)


def documented_table(text: str) -> str:
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def test_the_documented_level_map_matches_levels_py():
    assert documented_table(DOC.read_text(encoding="utf-8")) == render_level_table(), (
        "DOCS/architecture.md's level table is stale: run python tests/architecture/test_architecture_doc.py"
    )


def test_the_documented_modules_exist():
    """Every `tripcast.x` named in the picture is a real module (the doc matches the code; a generated project
    holds those of its level)."""
    import importlib.util
    import re

    from architecture.test_levels import project_level
    from tripcast.levels import Level, level_of

    text = DOC.read_text(encoding="utf-8")
    names = sorted(set(re.findall(r"\btripcast(?:\.[a-z_]+)+", text)))
    held = [name for name in names if (level_of(name) or Level.BEGINNER) <= project_level()]
    missing = [name for name in held if importlib.util.find_spec(name) is None]
    assert not missing, f"DOCS/architecture.md names modules that do not exist: {missing}"


if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    DOC.write_text(f"{before}{BEGIN}\n{render_level_table()}\n{END}{after}", encoding="utf-8")
    sys.exit(0)
