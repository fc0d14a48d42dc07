"""The learning levels (tripcast/levels.py): every package and root folder tagged, and the contract that
enforces them (tests/architecture/levels_contract.py) catches what it must."""

from __future__ import annotations

import subprocess
from pathlib import Path

import grimp
import pytest

from architecture.levels_contract import LevelsContract
from tripcast.generator.manifest import MANIFEST_NAME, read_manifest
from tripcast.levels import (
    FOLDER_LEVELS,
    PACKAGE_LEVELS,
    Level,
    folders_at,
    is_assembler,
    level_of,
    packages_at,
)

REPO = Path(__file__).resolve().parents[2]
#: Root folders only (FOLDER_LEVELS also tags deeper artifacts, e.g. one Grafana dashboard).
ROOT_FOLDERS = {folder for folder in FOLDER_LEVELS if "/" not in folder}


def project_level() -> Level:
    """The level this tree holds: a generated project's (its manifest), else expert (the full source)."""
    return read_manifest(REPO).level if (REPO / MANIFEST_NAME).is_file() else Level.EXPERT


def _check(imports: list[tuple[str, str, str]], line_number: int = 1) -> dict[str, list]:
    graph = grimp.ImportGraph()
    for importer, imported, line in imports:
        graph.add_import(importer=importer, imported=imported, line_number=line_number, line_contents=line)
    contract = LevelsContract(name="levels", session_options={}, contract_options={"root_package": "tripcast"})
    check = contract.check(graph, verbose=False)
    return {"kept": [check.kept], **check.metadata}


def test_a_lower_level_importing_a_higher_one_breaks_the_contract():
    result = _check([("tripcast.core.services.x", "tripcast.mlops.drift_detection.y", "from ... import y")])
    assert result["kept"] == [False]
    assert [(u["importer"], u["imported_level"]) for u in result["upward"]] == [
        ("tripcast.core.services.x", "intermediate")
    ]


def test_importing_the_same_or_a_lower_level_keeps_it():
    result = _check(
        [
            ("tripcast.mlops.drift_detection.y", "tripcast.core.domain.trip", "import trip"),
            ("tripcast.observability.alerting.a", "tripcast.mlops.drift_detection.y", "import y"),
        ]
    )
    assert result == {"kept": [True], "untagged": [], "upward": []}


def test_an_untagged_package_breaks_the_contract():
    result = _check([("tripcast.brand_new.thing", "tripcast.core.domain.trip", "import trip")])
    assert result["kept"] == [False]
    assert "tripcast.brand_new.thing" in result["untagged"]


def test_the_composition_root_may_reach_up_only_inside_a_function():
    # The contract reads the importing line in the module's source: indented (inside a function) is lazy.
    source = (REPO / "src" / "tripcast" / "bootstrap" / "__init__.py").read_text().splitlines()
    lazy_line = next(n for n, line in enumerate(source, 1) if line.startswith("        from tripcast."))
    top_line = next(n for n, line in enumerate(source, 1) if line.startswith("from "))
    reach_up = [("tripcast.bootstrap", "tripcast.mlops.drift_detection.registration_hook", "from x import y")]

    assert _check(reach_up, line_number=lazy_line)["kept"] == [True]
    assert _check(reach_up, line_number=top_line)["kept"] == [False]
    # A module outside the composition root may not reach up even lazily.
    assert _check([("tripcast.core.services.x", "tripcast.mlops.drift_detection.y", "")], line_number=1)["upward"]
    assert is_assembler("tripcast.cli.app") and not is_assembler("tripcast.cli.monitoring")


def test_the_longest_prefix_wins_and_submodules_inherit():
    assert level_of("tripcast.mlops") is Level.INTERMEDIATE
    assert level_of("tripcast.mlops.training.lightgbm_trainer") is Level.BEGINNER
    assert level_of("tripcast.data_engineering.features.store_features") is Level.INTERMEDIATE
    assert level_of("tripcast.data_engineering.features.trip_features") is Level.BEGINNER
    assert level_of("tripcast") is Level.BEGINNER
    assert level_of("tripcast.unknown") is None
    assert level_of("tripcastle") is None


def test_every_source_package_and_module_has_a_level():
    src = REPO / "src" / "tripcast"
    modules = {
        ".".join(("tripcast", *path.relative_to(src).with_suffix("").parts)).removesuffix(".__init__")
        for path in src.rglob("*.py")
    }
    assert not sorted(m for m in modules if level_of(m) is None)


def _root_folders() -> set[str]:
    """Root folders of the files git tracks or would (new ones it does not ignore: a just-upgraded project)."""
    listed = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listed, cwd=REPO, capture_output=True, text=True, check=True).stdout
    return {line.split("/", 1)[0] for line in tracked.splitlines() if "/" in line}


def test_every_root_folder_has_a_level():
    assert not sorted(_root_folders() - ROOT_FOLDERS)


def test_root_guide_folders_hold_no_python_package():
    """Layout hygiene: benchmarks live under performance/, tests under tests/, code under src/."""
    allowed = {"src", "tests", "performance"}
    packages = sorted(
        str(init.relative_to(REPO))
        for folder in ROOT_FOLDERS
        if folder not in allowed and (REPO / folder).is_dir()
        for init in (REPO / folder).rglob("__init__.py")
    )
    assert not packages
    strays = sorted(
        str(path.relative_to(REPO))
        for folder in ROOT_FOLDERS
        if folder not in allowed and (REPO / folder).is_dir()
        for path in (REPO / folder).rglob("*.py")
        if path.name.startswith(("test_", "bench_"))
    )
    assert not strays, f"tests belong under tests/, benchmarks under performance/: {strays}"


@pytest.mark.parametrize("level", list(Level))
def test_cuts_grow_with_the_level(level):
    assert set(packages_at(level)) <= set(packages_at(Level.EXPERT)) == set(PACKAGE_LEVELS)
    assert set(folders_at(level)) <= set(folders_at(Level.EXPERT)) == ROOT_FOLDERS
    if level > Level.BEGINNER:
        assert set(packages_at(Level(level - 1))) < set(packages_at(level)) or level == Level.EXPERT


def test_a_beginner_cut_keeps_what_training_and_predicting_need():
    beginner = packages_at(Level.BEGINNER)
    for needed in ("tripcast.core", "tripcast.bootstrap", "tripcast.cli", "tripcast.mlops.training"):
        assert needed in beginner
    assert "tripcast.mlops.drift_detection" not in beginner and "tripcast.observability" not in beginner
    assert folders_at(Level.BEGINNER) == sorted([".ci", "src", "tests", "data", "deployment", "DOCS"])


def test_every_tagged_prefix_names_an_existing_module():
    """No stale entries: a moved or deleted package takes its line in the map with it (in a generated project,
    the entries of the levels it holds: the map keeps the higher ones for its upgrades)."""
    src = REPO / "src"
    missing = [
        prefix
        for prefix, level in PACKAGE_LEVELS.items()
        if level <= project_level()
        and not (src / prefix.replace(".", "/")).is_dir()
        and not (src / f"{prefix.replace('.', '/')}.py").is_file()
    ]
    assert not missing


def test_the_level_map_needs_only_the_standard_library():
    """The generator reads tripcast/levels.py before any dependency is installed."""
    import ast

    tree = ast.parse((REPO / "src" / "tripcast" / "levels.py").read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "enum"}
