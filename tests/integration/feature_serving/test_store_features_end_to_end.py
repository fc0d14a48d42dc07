"""Store features through the product: materialize (CLI) -> train on store features -> serve one request.

Real green 2021-01 trips (the first ten days). The served request's store features must be exactly the
latest offline aggregate rows for its zone and zone pair, and the API's answer must be the model's
prediction on those values.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from feature_serving_helpers import MODEL_NAME, january_trips, settings_for, train_register_champion
from typer.testing import CliRunner

from tripcast.api.asgi import app_from_env
from tripcast.bootstrap import bootstrap
from tripcast.cli.monitoring import app as monitoring_cli
from tripcast.core.domain.trip import TripRequest
from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC, TRIP_DURATION_WITH_STORE_SPEC
from tripcast.data_engineering.features.store_features import (
    STORE_FEATURES,
    FeatureStoreNotReadyError,
    StoreBackedTripFeatureBuilder,
)
from tripcast.mlops.feature_store.definitions import (
    ZONE_HOUR_FEATURES,
    ZONE_HOUR_TTL,
    ZONE_PAIR_FEATURES,
    ZONE_PAIR_TTL,
)

MATERIALIZE_END = pd.Timestamp("2021-01-11 12:00", tz="UTC")


def latest_offline(table: pd.DataFrame, keys: dict[str, int], end: pd.Timestamp) -> pd.Series:
    """The row Feast materializes for an entity: the latest one stamped at or before ``end``."""
    rows = table
    for column, value in keys.items():
        rows = rows[rows[column] == value]
    rows = rows[rows["feature_timestamp"] <= end]
    return rows.sort_values("feature_timestamp").iloc[-1]


@pytest.fixture(scope="module")
def product(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    data_dir = tmp_path_factory.mktemp("store-product")
    trips = january_trips(shared_data_dir)
    trips = trips[trips["pickup_datetime"] < datetime(2021, 1, 11)].reset_index(drop=True)
    trips_file = data_dir / "trips-2021-01-01..10.parquet"
    trips.to_parquet(trips_file)
    settings = settings_for(data_dir, feature_store_enabled=True)
    return {"data_dir": data_dir, "trips": trips, "trips_file": trips_file, "settings": settings}


def test_training_before_materialize_names_the_command(product: dict[str, object]) -> None:
    tc = bootstrap(product["settings"], allow_download=False)  # type: ignore[arg-type]
    with pytest.raises(FeatureStoreNotReadyError, match="tripcast features materialize"):
        tc.features.training_set(product["trips"], "2021-01")  # type: ignore[arg-type]


def test_materialize_train_and_serve_with_online_store_features(
    product: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir: Path = product["data_dir"]  # type: ignore[assignment]
    trips: pd.DataFrame = product["trips"]  # type: ignore[assignment]
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(data_dir))
    monkeypatch.delenv("TRIPCAST_FEATURE_STORE_ONLINE_URL", raising=False)
    result = CliRunner().invoke(
        monitoring_cli,
        [
            "features", "materialize", "--trips", str(product["trips_file"]),
            "--start", "2021-01-01", "--end", MATERIALIZE_END.strftime("%Y-%m-%dT%H:%M"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    # Training through the product's wiring: bootstrap hands out the store-backed builder.
    tc = bootstrap(product["settings"], allow_download=False)  # type: ignore[arg-type]
    builder = tc.features
    assert isinstance(builder, StoreBackedTripFeatureBuilder)
    assert builder.spec is TRIP_DURATION_WITH_STORE_SPEC and tc.trainer.spec is TRIP_DURATION_WITH_STORE_SPEC
    train = builder.training_set(trips, "2021-01-01..10")
    assert list(train.features.columns) == TRIP_DURATION_WITH_STORE_SPEC.feature_names
    assert len(train) == len(trips)
    nulls = train.features[list(STORE_FEATURES)].isna().mean()
    assert ((nulls > 0) & (nulls < 1)).all(), nulls  # cold starts are NaN, most rows have history
    version = train_register_champion(tc.settings, builder, train, rounds=30)

    # A request in the busiest zone, ten minutes after that zone's latest materialized hour.
    offline = data_dir / "feature_store" / "offline"
    zone_hour = pd.read_parquet(offline / "zone_hour.parquet")
    zone_pair = pd.read_parquet(offline / "zone_pair.parquet")
    zone = int(trips["pickup_zone"].mode()[0])
    dropoff = int(trips.loc[trips["pickup_zone"] == zone, "dropoff_zone"].mode()[0])
    hour_row = latest_offline(zone_hour, {"pickup_zone": zone}, MATERIALIZE_END)
    pair_row = latest_offline(zone_pair, {"pickup_zone": zone, "dropoff_zone": dropoff}, MATERIALIZE_END)
    pickup = hour_row["feature_timestamp"] + pd.Timedelta(minutes=10)
    assert pickup - hour_row["feature_timestamp"] <= ZONE_HOUR_TTL
    assert pickup - pair_row["feature_timestamp"] <= ZONE_PAIR_TTL
    expected = np.array(
        [float(hour_row[f]) for f in ZONE_HOUR_FEATURES] + [float(pair_row[f]) for f in ZONE_PAIR_FEATURES]
    )
    request = TripRequest(pickup.tz_localize(None).to_pydatetime(), zone, dropoff, 2.4)

    fetched = builder.store_values([request])[0]
    np.testing.assert_allclose(fetched, expected, rtol=1e-9)  # online store == offline aggregate
    frame = builder.features_for_requests([request])
    np.testing.assert_allclose(frame[list(STORE_FEATURES)].to_numpy()[0], expected, rtol=1e-9)
    np.testing.assert_allclose(builder.feature_matrix([request]), frame.to_numpy(np.float64), rtol=1e-12)

    # Serve it through the product's ASGI factory (store-backed builder, drift monitor injected).
    app = app_from_env(tc.settings)
    with TestClient(app) as client:
        response = client.post(
            "/v1/predictions",
            json={
                "pickup_datetime": request.pickup_datetime.isoformat(),
                "pickup_zone": zone,
                "dropoff_zone": dropoff,
                "trip_distance": request.trip_distance,
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model_version"] == version
        ready = client.get("/health/ready").json()
        assert ready["status"] == "ready"

    native = tc.registry.load_predictor(MODEL_NAME, version)
    spine = builder.base.feature_matrix([request])
    with_store = native.predict_features(np.hstack([spine, expected.reshape(1, -1)]))[0]
    without_store = native.predict_features(np.hstack([spine, np.full((1, len(STORE_FEATURES)), np.nan)]))[0]
    assert body["minutes"] == pytest.approx(with_store, rel=1e-6)
    assert with_store != pytest.approx(without_store, rel=1e-6)  # the store values really changed the answer

    # A pair the store has never seen, and a zone whose last hour is long gone: NaN, not an error.
    later = TripRequest(request.pickup_datetime + pd.Timedelta(hours=3), zone, dropoff, 2.4)
    values = builder.store_values([later, TripRequest(request.pickup_datetime, 1, 1, 0.5)])
    assert np.isnan(values[0, : len(ZONE_HOUR_FEATURES)]).all()
    np.testing.assert_allclose(values[0, len(ZONE_HOUR_FEATURES) :], expected[len(ZONE_HOUR_FEATURES) :])
    assert np.isnan(values[1]).all()
    assert TRIP_DURATION_SPEC.feature_names == TRIP_DURATION_WITH_STORE_SPEC.feature_names[: len(spine[0])]
