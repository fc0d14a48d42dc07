"""Paths resolve once, in the settings (against TRIPCAST_HOME, else the directory current at load); no other
code in src/ reads a path against the current directory, and package data is read with importlib.resources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tripcast.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src"
#: Reading the current directory: allowed in the settings only, which resolve every relative path once.
CWD_PATTERNS = re.compile(r"Path\.cwd\(|os\.getcwd\(|Path\(\s*['\"]\.['\"]\s*\)|Path\(\s*\)|os\.curdir")
CWD_ALLOWED = {
    "tripcast/settings.py",
    # `tripcast upgrade` acts on the generated project it runs in (like `git`): --project defaults to ".".
    "tripcast/cli/upgrade.py",
}
#: Package data reached by climbing out of the package: breaks from an installed wheel.
CLIMBING = re.compile(r"parents\[\d+\]")
CLIMBING_TEMPORARY: set[str] = set()


def _sources() -> dict[str, str]:
    return {path.relative_to(SRC).as_posix(): path.read_text(encoding="utf-8") for path in SRC.rglob("*.py")}


def test_no_code_outside_the_settings_reads_the_current_directory():
    offenders = sorted(
        f"{name}:{text[: match.start()].count(chr(10)) + 1}"
        for name, text in _sources().items()
        if name not in CWD_ALLOWED
        for match in CWD_PATTERNS.finditer(text)
    )
    assert not offenders, f"resolve paths through settings.<x>_path, not the current directory: {offenders}"


def test_no_code_climbs_out_of_the_package_for_its_files():
    climbing = {name for name, text in _sources().items() if CLIMBING.search(text)}
    assert not sorted(climbing - CLIMBING_TEMPORARY), "read package data with importlib.resources"
    assert not sorted(CLIMBING_TEMPORARY - climbing), "remove fixed files from CLIMBING_TEMPORARY"


@pytest.fixture()
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("TRIPCAST_HOME", "TRIPCAST_DATA_DIR", "TRIPCAST_RAW_DIR", "TRIPCAST_AUDIT_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_relative_paths_resolve_against_tripcast_home(tmp_path, clean_environment):
    home, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    home.mkdir(), elsewhere.mkdir()
    clean_environment.chdir(elsewhere)
    clean_environment.setenv("TRIPCAST_HOME", str(home))
    clean_environment.setenv("TRIPCAST_AUDIT_URL", "sqlite:///data/audit.db")

    settings = Settings()

    assert settings.home == home
    assert settings.data_dir == home / "data"
    assert settings.audit_database_url == f"sqlite:///{home / 'data' / 'audit.db'}"
    assert settings.raw_path == home / "data" / "raw"


def test_without_tripcast_home_the_directory_current_at_load_is_the_base(tmp_path, clean_environment):
    clean_environment.chdir(tmp_path)
    settings = Settings(_env_file=None)
    clean_environment.chdir("/")  # later changes of directory do not move the data
    assert settings.data_dir == tmp_path / "data" and settings.home == tmp_path


def test_tripcast_home_brings_its_env_file(tmp_path, clean_environment):
    (tmp_path / ".env").write_text("TRIPCAST_DATA_DIR=elsewhere-data\n")
    clean_environment.setenv("TRIPCAST_HOME", str(tmp_path))
    clean_environment.chdir("/")
    assert Settings().data_dir == tmp_path / "elsewhere-data"


def test_absolute_paths_stay_as_given(tmp_path, clean_environment):
    clean_environment.setenv("TRIPCAST_HOME", str(tmp_path / "home"))
    assert Settings(data_dir=Path("/srv/tripcast")).data_dir == Path("/srv/tripcast")
