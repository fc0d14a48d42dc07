"""Entry points outside the package (the Airflow DAG, the Spark entry under data_engineering/batch/) are driving
adapters too: they reach tripcast only through ``tripcast.core`` and ``tripcast.bootstrap``.

import-linter sees only the installed package, so this test reads their imports with ``ast``, including a
module named in a string for ``importlib.import_module`` (the DAG imports tripcast only when a task runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENTRY_POINT_FOLDERS = ("data_engineering", "deployment", "observability", "environments")
# The DAG's task callables (tripcast.cli.pipeline_tasks) are a driving adapter inside the package: each one
# bootstraps and calls the pipeline service, so the DAG file itself stays free of tripcast at parse time.
ALLOWED = ("tripcast.core", "tripcast.bootstrap", "tripcast.cli.pipeline_tasks", "tripcast.cli.retrain_tasks")

#: "path::module" still imported directly (none left; the list may only shrink).
TEMPORARY: set[str] = set()


def tripcast_modules_named(source: str) -> set[str]:
    """Every ``tripcast.*`` module imported by ``source``, or named in a string constant."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("tripcast."):
            names.add(node.value)  # a dotted module name for importlib (not the DAG id "tripcast...")
    return {name for name in names if name == "tripcast" or name.startswith("tripcast.")}


def _offences() -> set[str]:
    found = set()
    for folder in ENTRY_POINT_FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            for module in tripcast_modules_named(path.read_text(encoding="utf-8")):
                if not any(module == a or module.startswith(a + ".") for a in ALLOWED):
                    found.add(f"{path.relative_to(REPO).as_posix()}::{module}")
    return found


def test_the_check_reads_imports_and_module_names_in_strings():
    source = "import os\nfrom tripcast.settings import Settings\nTASKS = 'tripcast.data_engineering.pipeline.tasks'\n"
    assert tripcast_modules_named(source) == {"tripcast.settings", "tripcast.data_engineering.pipeline.tasks"}


def test_root_entry_points_use_only_the_core_and_the_composition_root():
    assert not sorted(_offences() - TEMPORARY), f"go through tripcast.bootstrap: {sorted(_offences() - TEMPORARY)}"


def test_the_temporary_list_only_shrinks():
    assert not sorted(TEMPORARY - _offences()), "remove fixed entries from TEMPORARY"
