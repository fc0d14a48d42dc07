"""TRIP_DURATION_WITH_STORE_SPEC: the unchanged spine spec followed by the store's numeric features."""

from __future__ import annotations

from pathlib import Path

from tripcast.core.domain.model_spec import FeatureKind
from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC, TRIP_DURATION_WITH_STORE_SPEC
from tripcast.data_engineering.features.store_features import STORE_FEATURES
from tripcast.mlops.feature_store.definitions import FEATURE_REFS
from tripcast.settings import Settings


def test_store_spec_extends_the_spine_spec_with_the_feast_features() -> None:
    spine = TRIP_DURATION_SPEC.feature_names
    assert len(spine) == 11
    assert TRIP_DURATION_WITH_STORE_SPEC.feature_names == [*spine, *STORE_FEATURES]
    assert list(STORE_FEATURES) == [ref.split(":", 1)[1] for ref in FEATURE_REFS]
    added = TRIP_DURATION_WITH_STORE_SPEC.features[len(spine) :]
    assert all(f.kind is FeatureKind.NUMERIC for f in added)
    assert TRIP_DURATION_WITH_STORE_SPEC.target == TRIP_DURATION_SPEC.target
    assert TRIP_DURATION_WITH_STORE_SPEC.name != TRIP_DURATION_SPEC.name


def test_feature_store_is_off_by_default_and_lives_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.feature_store_enabled is False
    assert settings.feature_store_path == tmp_path / "feature_store"
    assert settings.drift_evaluation_seconds == 60.0
    from tripcast.bootstrap import bootstrap
    from tripcast.data_engineering.features.trip_features import TripFeatureBuilder

    assert type(bootstrap(settings).features) is TripFeatureBuilder
    enabled = bootstrap(Settings(data_dir=tmp_path, feature_store_enabled=True)).features
    assert enabled.spec is TRIP_DURATION_WITH_STORE_SPEC
