"""The monitoring command modules import no heavy library at start and no adapter package at all."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import tripcast.cli

CLI = Path(tripcast.cli.__file__).parent
MODULES: tuple[str, ...] = ("monitoring", "drift", "features")
MODULES += ("alerts",)  # level: advanced
HEAVY = ("pandas", "numpy", "pyarrow", "mlflow", "scipy", "sqlalchemy", "matplotlib", "pydantic", "httpx", "pandera")


def test_importing_the_commands_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        + "".join(f"import tripcast.cli.{m}\n" for m in MODULES)
        + f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("module", MODULES)
def test_commands_import_only_the_core_the_root_and_the_cli(module: str) -> None:
    tree = ast.parse((CLI / f"{module}.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    ours = {name for name in imported if name.startswith("tripcast")}
    allowed = ("tripcast.core", "tripcast.bootstrap", "tripcast.cli")
    assert all(name == "tripcast.cli" or name.startswith(allowed) for name in ours), ours
