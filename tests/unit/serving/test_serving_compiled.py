"""CompiledTreeModel on a tiny LightGBM model: equality with LightGBM, missing values, input safety."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from tripcast.mlops.serving.optimization import CompiledTreeModel, compile_lightgbm


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[lgb.Booster, CompiledTreeModel]:
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 10, size=(2000, 3))
    x[rng.random(2000) < 0.1, 1] = np.nan  # LightGBM learns a default direction for missing values
    y = 2 * x[:, 0] + np.nan_to_num(x[:, 1], nan=20.0) + rng.normal(0, 0.1, 2000)
    params = {"verbose": -1, "num_leaves": 8, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=15)
    library = compile_lightgbm(booster, tmp_path_factory.mktemp("lib") / "tiny.so", options=("-O0",))
    return booster, CompiledTreeModel(library)


def test_matches_lightgbm_including_missing_values(models: tuple[lgb.Booster, CompiledTreeModel]) -> None:
    booster, compiled = models
    rows = np.random.default_rng(1).uniform(0, 10, size=(500, 3))
    rows[::4, 1] = np.nan
    rows[::7, 0] = np.nan
    original = rows.copy()
    assert np.allclose(compiled.predict(rows), booster.predict(rows), atol=1e-9, rtol=0)
    assert np.array_equal(rows, original, equal_nan=True)  # the caller's array is untouched
    assert compiled.num_feature == 3


def test_single_row_as_1d_and_empty_matrix(models: tuple[lgb.Booster, CompiledTreeModel]) -> None:
    booster, compiled = models
    row = np.array([1.0, 2.0, 3.0])
    assert compiled.predict(row)[0] == pytest.approx(booster.predict(row.reshape(1, -1))[0], abs=1e-9)
    assert compiled.predict(np.empty((0, 3))).shape == (0,)


def test_wrong_width_is_refused(models: tuple[lgb.Booster, CompiledTreeModel]) -> None:
    with pytest.raises(ValueError, match="3 columns"):
        models[1].predict(np.zeros((2, 4)))


def test_non_library_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"not a shared library")
    with pytest.raises(OSError):
        CompiledTreeModel(bogus)


# the cache a server loads compiled libraries from: content-addressed, verified, never rewritten ---------------


@pytest.fixture()
def published(models: tuple[lgb.Booster, CompiledTreeModel], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A compiled library 'in the artifact store' and MLflow's download replaced by a copy from there."""
    import shutil

    import mlflow.artifacts

    from tripcast.mlops.serving.optimization.artifact import file_sha256

    store = models[1].path
    downloads: list[str] = []

    def download_artifacts(*, run_id: str, artifact_path: str, dst_path: str, tracking_uri: str) -> str:
        downloads.append(artifact_path)
        target = Path(dst_path) / Path(artifact_path).name
        shutil.copyfile(store, target)
        return str(target)

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", download_artifacts)
    return {"store": store, "sha256": file_sha256(store), "downloads": downloads}


def test_a_fetched_library_is_named_by_its_checksum_read_only_and_never_rewritten(
    published: dict[str, Any], tmp_path: Path
) -> None:
    from tripcast.mlops.serving.optimization.artifact import fetch_verified_library

    first = fetch_verified_library("sqlite:///x.db", "run", "optimized/v1/m.so", published["sha256"], tmp_path)
    assert first == tmp_path / f"{published['sha256']}.so"
    before = first.stat()
    loaded = CompiledTreeModel(first)
    row = np.array([[1.0, 2.0, 3.0]])
    expected = loaded.predict(row)
    # A forced reload or a rollback fetches the same content again: same file, untouched, same answers.
    again = fetch_verified_library("sqlite:///x.db", "run", "optimized/v1/m.so", published["sha256"], tmp_path)
    after = again.stat()
    assert again == first and (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert published["downloads"] == ["optimized/v1/m.so"]  # the verified cached copy was reused
    assert after.st_mode & 0o222 == 0  # read-only
    reloaded = CompiledTreeModel(again)
    assert reloaded.predict(row) == pytest.approx(expected) and loaded.predict(row) == pytest.approx(expected)
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary leftovers


def test_bytes_that_differ_from_the_recorded_checksum_are_refused_and_not_kept(
    published: dict[str, Any], tmp_path: Path
) -> None:
    from tripcast.mlops.serving.optimization.artifact import ChecksumMismatchError, fetch_verified_library

    recorded = "0" * 64
    with pytest.raises(ChecksumMismatchError, match="checksum mismatch"):
        fetch_verified_library("sqlite:///x.db", "run", "optimized/v1/m.so", recorded, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_corrupted_cached_copy_is_replaced_by_a_verified_one_not_used(
    published: dict[str, Any], tmp_path: Path
) -> None:
    from tripcast.mlops.serving.optimization.artifact import fetch_verified_library, file_sha256

    cached = tmp_path / f"{published['sha256']}.so"
    cached.write_bytes(b"someone wrote here")
    fetched = fetch_verified_library("sqlite:///x.db", "run", "optimized/v1/m.so", published["sha256"], tmp_path)
    assert fetched == cached and file_sha256(fetched) == published["sha256"]


@pytest.mark.parametrize("recorded", ["", "abc", "g" * 64, "../" * 21 + "x"])
def test_a_recorded_checksum_that_is_not_a_sha256_digest_is_refused(
    published: dict[str, Any], tmp_path: Path, recorded: str
) -> None:
    from tripcast.mlops.serving.optimization.artifact import ChecksumMismatchError, fetch_verified_library

    with pytest.raises(ChecksumMismatchError, match="not a sha256"):
        fetch_verified_library("sqlite:///x.db", "run", "optimized/v1/m.so", recorded, tmp_path)
    assert published["downloads"] == []
