"""Fault injection on stored files: SIGKILL mid-write, a full disk, outputs aimed at inputs, empty monitoring input.

Every test runs the real ``tripcast`` command in a subprocess, exactly as a user would, on slices of the real
TLC data, and checks what is on disk afterwards: the old file or the complete new one, never a mix.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

TRIPCAST = str(Path(sys.executable).with_name("tripcast"))
MODEL_NAME = "trip-duration"


def _missing(why: str) -> None:
    """A missing prerequisite fails under CI and skips elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    env.update({"TRIPCAST_DATA_DIR": str(data_dir), "TRIPCAST_ENV": "local", "COLUMNS": "10000", **extra})
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRIPCAST, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error a failed command printed, checked to be a single ``error:`` message without a traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def _kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 240) -> bool:
    """SIGKILL ``process`` as soon as ``ready()``; True when it was killed while still running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if ready():
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            return process.returncode == -signal.SIGKILL
        time.sleep(0.002)
    process.kill()
    process.wait(30)
    return False


@pytest.fixture(scope="module")
def january(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the real January file (76k trips), so a test can check its input byte for byte."""
    path = tmp_path_factory.mktemp("input") / "green_tripdata_2021-01.parquet"
    path.write_bytes((shared_data_dir / "green_tripdata_2021-01.parquet").read_bytes())
    return path


@pytest.fixture(scope="module")
def model_env(january: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A registry with a small real champion (LightGBM, 5 rounds on 3,000 January trips)."""
    from tripcast.core.domain.month import Month
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
    from tripcast.data_engineering.tlc.files import read_tlc_file
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator
    from tripcast.mlops.model_registry.mlflow_registry import MlflowModelRegistry
    from tripcast.mlops.tracking.mlflow_tracker import MlflowTracker
    from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

    root = tmp_path_factory.mktemp("registry")
    raw = read_tlc_file(january, "green").iloc[:3000]
    valid = PanderaTripValidator().split(RawDataset(raw, Month(2021, 1), str(january))).valid
    features = TripFeatureBuilder()
    train = features.training_set(valid, "2021-01")
    model = LightGBMTrainer(features.spec, num_boost_round=5).fit(train, train)
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    with MlflowTracker(tracking_uri, "faults", (root / "artifacts").as_uri()).start_run("champion") as run:
        uri = run.log_model(model, features.spec, train)
    registry = MlflowModelRegistry(tracking_uri, features)
    registry.set_alias(MODEL_NAME, "champion", registry.register(uri, MODEL_NAME).version)
    return {"TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri, "TRIPCAST_MODEL_NAME": MODEL_NAME}


@dataclass(frozen=True)
class TinyDisk:
    """A folder where writing more than 512 KiB fails, and how to start a process that writes there."""

    folder: Path
    preexec: Callable[[], None] | None = None
    #: What the operating system says when the space runs out.
    errors: tuple[str, ...] = ("No space left on device",)

    def run(self, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TRIPCAST, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, preexec_fn=self.preexec
        )


def _file_size_limit() -> None:  # runs in the child before exec: files past 512 KiB fail with EFBIG
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of the process dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Iterator[TinyDisk]:
    """A 512 KiB tmpfs (writes fail with ENOSPC, as on a full disk).

    Where mounting is not permitted (not root), the next best real fault: the child's file size
    limit (RLIMIT_FSIZE), so its writes past 512 KiB fail with EFBIG.
    """
    folder = tmp_path / "full"
    folder.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(folder)]
    if subprocess.run(mount, capture_output=True, check=False).returncode != 0:
        yield TinyDisk(folder, _file_size_limit, ("File too large",))
        return
    try:
        yield TinyDisk(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


# --------------------------------------------------------------------------- tripcast score
@pytest.mark.slow
def test_sigkill_during_score_leaves_the_previous_output_and_the_input_intact(
    january: Path, model_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    output = out / "scored.parquet"
    previous = pa.table({"source_row": pa.array([0, 1, 2], pa.int64()), "predicted_minutes": [5.0, 6.0, 7.0]})
    pq.write_table(previous, output)
    before_output, before_input = _digest(output), _digest(january)
    args = ["score", "--input", str(january), "--output", str(output), "--chunk-rows", "500"]
    process = subprocess.Popen(
        [TRIPCAST, *args], env=_env(tmp_path / "data", **model_env), cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip

    def writing() -> bool:  # a scored output being written under any name, past its first row groups
        growing = [p for p in out.iterdir() if p.name != output.name and p.stat().st_size > 16_384]
        return bool(growing) or _digest(output) != before_output

    assert _kill_when(process, writing), "score finished (or never wrote) before it could be killed"
    assert _digest(output) == before_output  # the previous complete output, untouched
    assert pq.read_table(output).equals(previous)
    assert not (out / "scored.quarantine.parquet").exists()  # no file under a final name that was not there
    assert _digest(january) == before_input


def test_score_output_equal_to_the_input_is_refused_and_the_input_unchanged(
    january: Path, model_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    january = Path(shutil.copy(january, tmp_path / "in" / january.name))  # this test's own input to lose
    before = _digest(january)
    env = _env(tmp_path / "data", **model_env)
    same = _run(["score", "--input", str(january), "--output", str(january)], env, tmp_path)
    assert "is an input file" in _one_line_error(same)
    relative = _run(["score", "--input", str(january), "--output", january.name], env, january.parent)
    assert "is an input file" in _one_line_error(relative)
    assert _digest(january) == before
    assert sorted(p.name for p in january.parent.iterdir()) == [january.name]  # nothing written beside it


def test_truncated_parquet_given_to_score_is_one_line_naming_the_file(
    january: Path, model_env: dict[str, str], tmp_path: Path
) -> None:
    truncated = tmp_path / "cut.parquet"
    data = january.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    args = ["score", "--input", str(truncated), "--output", str(tmp_path / "o.parquet")]
    result = _run(args, _env(tmp_path, **model_env), tmp_path)
    message = _one_line_error(result)
    assert "cut.parquet" in message and "truncated or corrupt" in message
    assert not (tmp_path / "o.parquet").exists()


@pytest.mark.slow
def test_disk_full_during_score_is_one_line_and_leaves_no_partial_file(
    january: Path, model_env: dict[str, str], tmp_path: Path, tiny_disk: TinyDisk
) -> None:
    output = tiny_disk.folder / "scored.parquet"
    args = ["score", "--input", str(january), "--output", str(output)]
    message = _one_line_error(tiny_disk.run(args, _env(tmp_path, **model_env), tmp_path))
    assert "scored" in message and any(error in message for error in tiny_disk.errors), message
    assert list(tiny_disk.folder.iterdir()) == []


# --------------------------------------------------------------------------- tripcast validate (parquet store)
def test_sigkill_during_validate_store_write_leaves_the_old_or_the_new_file(january: Path, tmp_path: Path) -> None:
    from tripcast.core.domain.month import Month
    from tripcast.data_engineering.tlc.store import ParquetDatasetStore

    data = tmp_path / "data"
    store = ParquetDatasetStore(data / "processed", data / "quarantine")
    old = pq.read_table(january).slice(0, 10).to_pandas()
    store.save_processed(Month(2021, 1), old)
    store.save_quarantine(Month(2021, 1), old)
    finals = (store.processed_path(Month(2021, 1)), store.quarantine_path(Month(2021, 1)))
    before = {path: _digest(path) for path in finals}
    old_name = finals[0].name
    process = subprocess.Popen(
        [TRIPCAST, "validate", "--month", "2021-01", "--source", str(january)], env=_env(data), cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip

    def writing() -> bool:  # a temporary file being written, or a final file already replaced
        temps = [p for folder in (data / "processed", data / "quarantine") for p in folder.glob(".*")]
        return bool(temps) or any(_digest(path) != was for path, was in before.items())

    assert _kill_when(process, writing), "validate finished before it could be killed"
    for path, was in before.items():
        assert path.is_file()
        if _digest(path) != was:  # replaced: then by the complete new file, which reads in full
            pq.read_table(path)
    assert pq.read_table(store.processed_path(Month(2021, 1))).num_rows in {10, _valid_rows(january)}
    leftovers = [p.name for folder in (data / "processed", data / "quarantine") for p in folder.iterdir()]
    assert [name for name in leftovers if name.endswith(".parquet")] == [old_name, old_name]


def _valid_rows(january: Path) -> int:
    from tripcast.core.domain.month import Month
    from tripcast.core.ports.data import RawDataset
    from tripcast.data_engineering.tlc.files import read_tlc_file
    from tripcast.data_engineering.tlc.validation import PanderaTripValidator

    raw = RawDataset(read_tlc_file(january, "green"), Month(2021, 1), str(january))
    return PanderaTripValidator().split(raw).n_valid


def test_disk_full_during_validate_is_one_line_and_leaves_no_partial_file(
    january: Path, tmp_path: Path, tiny_disk: TinyDisk
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "processed").symlink_to(tiny_disk.folder)  # the processed folder lives on the full disk
    result = tiny_disk.run(["validate", "--month", "2021-01", "--source", str(january)], _env(data), tmp_path)
    message = _one_line_error(result)
    assert "green_tripdata_2021-01.parquet" in message and any(error in message for error in tiny_disk.errors)
    assert list(tiny_disk.folder.iterdir()) == []


# --------------------------------------------------------------------------- tripcast drift check
def test_drift_check_on_a_file_with_zero_valid_rows_exits_non_zero_with_the_reasons(
    january: Path, tmp_path: Path
) -> None:
    from support.drift_features import load_trip_features, trip_spec
    from tripcast.mlops.drift_detection import ReferenceProfile

    rows = pq.read_table(january)
    train, current = tmp_path / "green_tripdata_2021-01.parquet", tmp_path / "green_tripdata_2021-02.parquet"
    pq.write_table(rows.slice(0, 5000), train)
    pq.write_table(rows.slice(5000, 3000), current)  # January trips under a February name: none is valid
    profile = tmp_path / "profile.json"
    profile.write_text(ReferenceProfile.build(trip_spec(), load_trip_features(train)[0]).to_json())
    args = ["drift", "check", "--current", str(current), "--profile", str(profile)]
    result = _run(args, _env(tmp_path / "data"), tmp_path)
    message = _one_line_error(result)
    assert "0 valid rows" in message and "pickup_outside_month 3,000" in message
    assert "no dataset drift" not in result.stdout
