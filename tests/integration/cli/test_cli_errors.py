"""Every error a user can cause ends in one clear message and a non-zero exit, not a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TRIPCAST = str(Path(sys.executable).parent / "tripcast")


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    environment.update(COLUMNS="200", **env)
    return subprocess.run([TRIPCAST, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_help_lists_every_command(tmp_path):
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    for command in ("ingest", "validate", "train", "evaluate", "promote", "predict", "models", "demo"):
        assert command in result.stdout


def test_bad_month(tmp_path):
    assert_clean_failure(run(["validate", "--month", "2021-13"], tmp_path), "month", "1-12")


def test_missing_source_file(tmp_path):
    result = run(["evaluate", "--source", str(tmp_path / "nope.parquet")], tmp_path)
    assert_clean_failure(result, "nope.parquet")


def test_empty_registry(tmp_path):
    assert_clean_failure(run(["models"], tmp_path), "tripcast train")
    assert_clean_failure(run(["promote"], tmp_path), "tripcast train")


def test_corrupt_parquet(tmp_path, shared_data_dir):
    broken = tmp_path / "raw" / "green_tripdata_2021-01.parquet"
    broken.parent.mkdir()
    data = (shared_data_dir / "green_tripdata_2021-01.parquet").read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    result = run(["validate", "--month", "2021-01"], tmp_path, TRIPCAST_RAW_DIR=str(broken.parent))
    assert_clean_failure(result, "green_tripdata_2021-01.parquet")


def test_wrong_columns(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "green_tripdata_2021-01.csv").write_text("a,b\n1,2\n")
    result = run(["validate", "--month", "2021-01"], tmp_path, TRIPCAST_RAW_DIR=str(raw))
    assert_clean_failure(result, "pickup_datetime")


def test_offline_without_files_says_what_to_download(tmp_path):
    result = run(
        ["ingest", "--month", "2021-01"],
        tmp_path,
        TRIPCAST_TLC_BASE_URL="http://127.0.0.1:9/trip-data",
        TRIPCAST_DOWNLOAD_RETRIES="0",
    )
    assert_clean_failure(result, "green_tripdata_2021-01.parquet", "--source")


def test_bad_trip_json_names_the_field(tmp_path, shared_data_dir):
    raw = tmp_path / "raw"
    raw.mkdir()
    for month in ("2021-01", "2021-02", "2021-03"):
        shutil.copy(shared_data_dir / f"green_tripdata_{month}.parquet", raw)
    result = run(["predict", "--trip", '{"pickup_zone": 999}'], tmp_path, TRIPCAST_RAW_DIR=str(raw))
    assert_clean_failure(result, "pickup_datetime")


@pytest.mark.parametrize("alias", ["nonexistent"])
def test_unknown_alias_on_empty_registry(tmp_path, alias):
    assert_clean_failure(run(["evaluate", "--model", alias, "--month", "2021-02"], tmp_path), "tripcast train")
