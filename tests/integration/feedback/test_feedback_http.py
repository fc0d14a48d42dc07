"""Over real HTTP: every served prediction is logged under the request id the API returns; outcomes posted
later for those ids give the live error, which the server's /metrics exports."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd

from support.uvicorn_thread import serve_in_thread
from tripcast.api import create_app
from tripcast.bootstrap import Tripcast
from tripcast.bootstrap.serving import ServingMetrics, serving_parts

TRIPS = [
    {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6},
    {"pickup_datetime": "2021-02-14T09:10:00", "pickup_zone": 7, "dropoff_zone": 129, "trip_distance": 2.4},
]


def test_served_predictions_are_logged_joined_and_exported(champion: tuple[Tripcast, str], tmp_path: Path) -> None:
    tc, version = champion
    metrics = ServingMetrics()
    tc.feedback.register_live_error_metrics(metrics.registry)
    parts = serving_parts(
        tc.settings,
        tc.registry,
        feature_builder=tc.features,
        cache=None,
        metrics=metrics,
        poll=False,
        prediction_log=tc.feedback.prediction_log(),
    )
    ids: list[str] = []
    with serve_in_thread(create_app(parts)) as port:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(20):
                single = client.post("/v1/predictions", json=TRIPS[0])
                assert single.status_code == 200, single.text
                ids.append(single.headers["X-Request-Id"])
            batch = client.post("/v1/predictions", json={"trips": TRIPS})
            assert batch.status_code == 200, batch.text
            batch_id = batch.headers["X-Request-Id"]
            assert "," not in batch_id  # one short header however large the batch
            ids.extend(f"{batch_id}.{index}" for index in range(len(TRIPS)))
            assert len(set(ids)) == 22
            parts.prediction.log.flush()  # type: ignore[union-attr]
            actuals = tmp_path / "actuals.parquet"
            pd.DataFrame({"request_id": ids, "actual_minutes": [9.0] * len(ids)}).to_parquet(actuals)
            assert tc.feedback.service.ingest(str(actuals)).rows == 22
            exported = client.get("/metrics").text
    logged = {r.request_id: r for r in tc.feedback.store.labeled(tc.settings.model_name)}
    assert set(ids) <= set(logged)
    assert {logged[i].model_version for i in ids} == {version}
    assert {logged[i].segment for i in ids[-2:]} == {"Manhattan", "Queens"}  # zones 74 and 7
    assert f'tripcast_live_rmse{{model="trip-duration",segment="all",version="{version}"}}' in exported
