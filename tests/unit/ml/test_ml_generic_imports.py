"""Generic ML machinery stays generic: no taxi specifics imported, so other specs can reuse it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tripcast.mlops

GENERIC_PACKAGES = ("training", "tracking", "model_registry")
TAXI_MODULES = ("tripcast.data_engineering", "tripcast.core.domain.trip_duration")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


MODULES = sorted(
    path for package in GENERIC_PACKAGES for path in (Path(tripcast.mlops.__file__).parent / package).glob("*.py")
)


def test_the_generic_packages_have_modules() -> None:
    assert {p.stem for p in MODULES} >= {"lightgbm_trainer", "baseline", "metrics", "mlflow_tracker", "mlflow_registry"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_taxi_imports(path: Path) -> None:
    taxi = sorted(name for name in _imports(path) if name.startswith(TAXI_MODULES))
    assert taxi == [], f"{path} imports taxi specifics {taxi}; take a ModelSpec / FeatureBuilder instead"
