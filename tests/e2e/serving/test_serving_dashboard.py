"""The Streamlit dashboard driven with AppTest against a real registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tripcast.bootstrap import bootstrap  # level: expert
from tripcast.settings import Settings  # level: expert

SCRIPT = Path(__file__).resolve().parents[3] / "src" / "tripcast" / "dashboard" / "app.py"


def test_predicts_by_zone_name_and_lists_models(served_registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPCAST_MLFLOW_TRACKING_URI", served_registry.tracking_uri)
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(served_registry.data_dir))
    monkeypatch.setenv("TRIPCAST_ENV", "local")
    at = AppTest.from_file(str(SCRIPT), default_timeout=60).run()
    assert not at.exception
    pickup = at.selectbox[0]
    assert "Manhattan / East Harlem North (74)" in pickup.options
    pickup.set_value("Queens / JFK Airport (132)").run()
    at.selectbox[1].set_value("Manhattan / Times Sq/Theatre District (230)").run()
    at.number_input[0].set_value(17.0).run()
    at.button[0].click().run()
    assert not at.exception and not at.error
    metric = at.metric[0]
    minutes = float(metric.value.split()[0])
    assert 10 < minutes < 90
    champion = served_registry.registry.get("trip-duration", "champion").version
    assert f"v{champion}" in at.caption[0].value
    # the answer is in the prediction log under the request id shown, for `tripcast feedback ingest`
    assert logged(served_registry, at.caption[0].value.rsplit("request id ", 1)[1])  # level: expert
    table = at.dataframe[0].value
    assert sorted(table["version"]) == sorted(served_registry.versions)
    assert "champion" in set(table["aliases"])


def logged(served: Any, request_id: str) -> bool:  # level: expert
    """Whether the prediction log (lifecycle feedback, expert) holds ``request_id``."""
    tc = bootstrap(Settings(data_dir=served.data_dir, mlflow_tracking_uri=served.tracking_uri))
    return tc.feedback.store.known_ids([request_id]) == {request_id}
