"""`tripcast predict --trip`: numbers too large, wrong types and impossible dates are one-line field errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TRIPCAST = str(Path(sys.executable).parent / "tripcast")
BASE = '"pickup_datetime": "2021-02-01T08:30", "pickup_zone": 74, "dropoff_zone": 75'


@pytest.mark.parametrize(
    ("trip", "field"),
    [
        (f'{{{BASE}, "trip_distance": 1e400}}', "trip_distance"),
        (f'{{{BASE}, "trip_distance": {"9" * 400}}}', "trip_distance"),
        (f'{{{BASE}, "trip_distance": {"9" * 5000}}}', "--trip"),
        (f'{{{BASE}, "trip_distance": 1.2, "passenger_count": {"9" * 400}}}', "passenger_count"),
        (
            '{"pickup_datetime": "2021-02-01T08:30", "pickup_zone": "74", "dropoff_zone": 75, "trip_distance": 1}',
            "pickup_zone",
        ),
        (
            '{"pickup_datetime": "2201-02-01T08:30", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1}',
            "pickup_datetime",
        ),
    ],
    ids=["1e400", "400-digits", "5000-digits", "huge-passengers", "zone-as-text", "year-2201"],
)
def test_bad_numbers_are_one_line_errors_naming_the_field(tmp_path: Path, trip: str, field: str) -> None:
    """Defect 12: a 400-digit trip_distance used to end in an OverflowError traceback."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    environment.update(COLUMNS="300", TRIPCAST_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [TRIPCAST, "predict", "--trip", trip],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}:"), result.stderr
    assert len(lines[0]) < 200
