"""Reference profiles load from the local cache when the run's sha256 matches, without importing MLflow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.mlops.drift_detection import ReferenceProfile, profile_store
from tripcast.mlops.drift_detection.profile_store import MlflowProfileStore, log_reference_profile

SPEC = ModelSpec("toy", (FeatureSpec("x", FeatureKind.NUMERIC, "x"),), target="y")


@pytest.fixture
def registry(tmp_path: Path) -> tuple[str, ReferenceProfile]:
    """A SQLite registry whose model ``toy`` has version 1, aliased champion, carrying a profile."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    experiment = client.create_experiment("cache", artifact_location=(tmp_path / "artifacts").as_uri())
    run = client.create_run(experiment)
    client.create_registered_model("toy")
    version = client.create_model_version("toy", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias("toy", "champion", version.version)
    profile = ReferenceProfile.build(SPEC, pd.DataFrame({"x": np.random.default_rng(0).normal(size=2000)}))
    log_reference_profile(uri, run.info.run_id, profile)
    return uri, profile


def test_second_load_comes_from_the_cache(
    registry: tuple[str, ReferenceProfile], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, profile = registry
    store = MlflowProfileStore(uri, cache_dir=tmp_path / "cache")
    assert store.load("toy", "champion").to_json() == profile.to_json()
    (cached,) = (tmp_path / "cache" / "toy").glob("v1-*.json")

    def no_download(*args: object) -> str:
        raise AssertionError("the registry was asked although the cache holds the profile")

    monkeypatch.setattr(profile_store, "_download", no_download)
    assert store.load("toy", "1").to_json() == profile.to_json()
    cached.write_text(cached.read_text() + " ")  # a tampered (still valid JSON) copy
    with pytest.raises(AssertionError, match="registry was asked"):
        store.load("toy", "champion")  # a copy whose sha256 differs is never trusted


def test_relogging_a_profile_changes_the_key(registry: tuple[str, ReferenceProfile], tmp_path: Path) -> None:
    uri, _ = registry
    store = MlflowProfileStore(uri, cache_dir=tmp_path / "cache")
    store.load("toy", "champion")
    _, run_id = store.run_of("toy", "champion")
    newer = ReferenceProfile.build(SPEC, pd.DataFrame({"x": np.arange(500.0)}))
    store.save(run_id, newer)
    assert store.load("toy", "champion").n_rows == 500
    assert len(list((tmp_path / "cache" / "toy").glob("v1-*.json"))) == 2


def test_cache_hit_imports_no_mlflow(registry: tuple[str, ReferenceProfile], tmp_path: Path) -> None:
    uri, _ = registry
    MlflowProfileStore(uri, cache_dir=tmp_path / "cache").load("toy", "champion")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tripcast.mlops.drift_detection.profile_store import MlflowProfileStore\n"
        f"profile = MlflowProfileStore({uri!r}, cache_dir=Path({str(tmp_path / 'cache')!r})).load('toy', 'champion')\n"
        "print(profile.n_rows, 'mlflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["2000", "False"]


def test_unknown_alias_is_not_found(registry: tuple[str, ReferenceProfile], tmp_path: Path) -> None:
    uri, _ = registry
    with pytest.raises(NotFoundError, match="challenger"):
        MlflowProfileStore(uri, cache_dir=tmp_path / "cache").load("toy", "challenger")
