"""The web console in Debian's Chromium against a real ``tripcast serve`` with a trained champion.

At desktop and phone (390 px) sizes: predict a trip and see the number, see the models page with its versions
and ledger, load every page with no console error and no serious or critical axe-core violation, nothing
wider than the phone; the drift chart plots the API's scores and the distribution panel its shares; the
Data page shows the validated January's quarantine as the API serves it. Screenshots of each page land in
the test's tmp dir (``console/*.png``) and, palette-compressed, in ``$TRIPCAST_SCREENSHOTS_DIR`` when set.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from support.frontend import build_console, chromium, node_project, publish_screenshots
from support.serve_process import serve_process

TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}


def wait_for_drift(api: httpx.Client, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if api.get("/v1/console/monitoring").json()["drift"]["features"]:
            return
        time.sleep(0.25)
    raise AssertionError("the drift window never evaluated")


def _drive(base: str, out: Path) -> dict[str, Any]:
    project = node_project()
    browser = chromium()
    env = {**os.environ, "CHROMIUM": browser}
    run = subprocess.run(
        ["node", "web/e2e/console.e2e.mjs", base, str(out)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"browser script failed:\n{run.stdout}\n{run.stderr}"
    return json.loads((out / "result.json").read_text())


def test_console_predicts_and_shows_every_page_at_desktop_and_phone_sizes(
    console_registry: Any, tmp_path: Path
) -> None:
    chromium()
    home = tmp_path / "home"
    build_console(home)
    env = {
        **os.environ,
        "TRIPCAST_HOME": str(home),
        "TRIPCAST_DATA_DIR": str(console_registry.data_dir),
        "TRIPCAST_MLFLOW_TRACKING_URI": console_registry.tracking_uri,
        "TRIPCAST_ALLOW_ANONYMOUS_PREDICTIONS": "true",
        "TRIPCAST_DRIFT_EVALUATION_SECONDS": "0.5",
        "TRIPCAST_MAX_LOOP_LAG_MS": "0",
        "TRIPCAST_MAX_LOOP_BUSY": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with serve_process(env, tmp_path / "server.log") as base:
        with httpx.Client(base_url=base, timeout=10) as api:
            expected = api.post("/v1/predictions", json={**TRIP, "dropoff_zone": 132, "trip_distance": 17.2}).json()
            # Enough traffic for the drift window to evaluate (at least 100 rows), long trips unlike training's.
            trips = [{**TRIP, "pickup_zone": 1 + i % 200, "trip_distance": 5.0 + i % 30} for i in range(300)]
            assert api.post("/v1/predictions", json={"trips": trips}).status_code == 200
            wait_for_drift(api)
        result = _drive(base, tmp_path / "console")
        with httpx.Client(base_url=base, timeout=10) as api:
            monitoring = api.get("/v1/console/monitoring").json()
            data = api.get("/v1/console/data").json()
    v1 = console_registry.versions[0]
    for viewport, seen in result.items():
        prediction = seen["prediction"]
        assert prediction["model"] == f"v{v1}", viewport
        assert prediction["minutes"] == round(expected["minutes"], 1), viewport  # the page shows the API's number
        assert seen["errors"] == [], viewport
        assert all(found == [] for found in seen["axe"].values()), (viewport, seen["axe"])
        assert f"v{console_registry.versions[1]}" in seen["pages"]["models"], viewport
        assert "champion" in seen["pages"]["models"] and "Promotion ledger" in seen["pages"]["models"]
        assert "p95" in seen["pages"]["monitoring"].lower()
        assert "No experiments on this server" in seen["pages"]["experiments"]
        assert "Colour tokens" in seen["pages"]["design"]
    assert max(result["phone"]["scroll_width"].values()) <= 390, result["phone"]["scroll_width"]
    # The drift table shows the scores the API serves (no prediction since: the window is unchanged), and the
    # chart plots them: each line's last point, read back from the SVG, sits at the API's score.
    drift = monitoring["drift"]["features"]
    assert drift and result["phone"]["drift_scores"] == {f["feature"]: f"{f['score']:.4f}" for f in drift}
    plotted = result["phone"]["drift_plotted"]
    assert set(plotted) == {f["feature"] for f in drift}, plotted
    for feature in drift:
        point = plotted[feature["feature"]]
        assert abs(point["value"] - feature["score"]) <= 0.02 * point["axis_span"], (feature, point)
    # The prediction distribution panel shows the API's shares, bin by bin, beside the training reference's.
    shares = monitoring["prediction_distribution"]
    assert shares is not None and shares["n_current"] >= 300
    expected = [
        [f"{r * 100:.1f} %", f"{c * 100:.1f} %"] for r, c in zip(shares["reference"], shares["current"], strict=True)
    ]
    assert [row[1:] for row in result["phone"]["distribution"]] == expected
    # The Data page shows the validated January's quarantine as the API reads it from the files.
    (january,) = data["months"]
    assert (
        january["month"] == "2021-01" and january["rows_quarantined"] > 0 and january["sources"] == ["validated files"]
    )
    for viewport, seen in result.items():
        assert seen["data"]["quarantined"] == {"2021-01": f"{january['rows_quarantined']:,}"}, viewport
        assert seen["data"]["reasons"] == {reason: f"{n:,}" for reason, n in data["reasons"].items()}, viewport
        assert seen["data"]["bars"] == len(data["reasons"]), viewport  # one bar per reason in the chart
    screenshots = sorted(path.name for path in (tmp_path / "console").glob("*.png"))
    assert len(screenshots) == 12, screenshots  # 6 pages x 2 viewports
    publish_screenshots(tmp_path / "console")  # TRIPCAST_SCREENSHOTS_DIR=DOCS/img/console refreshes the docs' copies
