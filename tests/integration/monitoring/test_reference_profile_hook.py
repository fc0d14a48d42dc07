"""The registration hook stores a profile that `load_reference_profile` finds by alias."""

from typing import ClassVar

import numpy as np
import pandas as pd

from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.core.ports.learning import TrainedModel, TrainingSet
from tripcast.mlops.drift_detection.profile_store import load_reference_profile
from tripcast.mlops.drift_detection.registration_hook import ReferenceProfileHook

SPEC = ModelSpec("toy", (FeatureSpec("x", FeatureKind.NUMERIC), FeatureSpec("c", FeatureKind.CATEGORICAL)), "y")


class DoublingModel(TrainedModel):
    flavor = "test"
    params: ClassVar[dict] = {}

    def predict(self, features):
        return features["x"].to_numpy() * 2


def test_hook_logs_a_profile_loadable_through_the_alias(tmp_path):
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("e", artifact_location=(tmp_path / "art").as_uri())
    run = client.create_run(experiment)
    client.create_registered_model("toy")
    mv = client.create_model_version("toy", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias("toy", "champion", mv.version)

    features = pd.DataFrame({"x": np.arange(2000, dtype=float), "c": np.arange(2000) % 7})
    train = TrainingSet(features, np.zeros(2000), "2021-01", "abc")
    version = ModelVersion("toy", mv.version, run_id=run.info.run_id)
    note = ReferenceProfileHook(uri, SPEC).after_registration(version, DoublingModel(), train)
    assert "2,000 training rows" in note

    profile = load_reference_profile(uri, "toy", "champion")
    assert profile.n_rows == 2000 and set(profile.features) == {"x", "c"}
    assert profile.prediction is not None
    assert profile.metadata["digest"] == "abc"
    mlflow.set_tracking_uri(None)
