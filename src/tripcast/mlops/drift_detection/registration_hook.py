"""Store a drift reference profile with every newly registered model version."""

from __future__ import annotations

from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.ports.learning import TrainedModel, TrainingSet
from tripcast.core.ports.tracking import RegistrationHook
from tripcast.mlops.drift_detection.profile import ReferenceProfile
from tripcast.mlops.drift_detection.profile_store import log_reference_profile


class ReferenceProfileHook(RegistrationHook):
    """Profiles the training features and the model's predictions on them, once, at registration.

    Drift checks then load this profile instead of rescanning the training data.
    """

    def __init__(self, tracking_uri: str, spec: ModelSpec) -> None:
        self.tracking_uri = tracking_uri
        self.spec = spec

    def after_registration(self, version: ModelVersion, model: TrainedModel, train: TrainingSet) -> str:
        profile = ReferenceProfile.build(
            self.spec,
            train.features,
            model.predict(train.features),
            metadata={"model": version.name, "version": version.version, "dataset": train.name, "digest": train.digest},
        )
        uri = log_reference_profile(self.tracking_uri, version.run_id, profile)
        return f"drift reference profile of {profile.n_rows:,} training rows -> {uri}"
