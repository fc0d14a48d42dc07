"""Locust scenario for the prediction API: single trips, small batches, and invalid requests.

Run it as its own process against a server you started (never from the test suite):

    tripcast serve --port 8000 &
    .venv/bin/locust -f performance/load_testing/locust/locustfile.py --host http://127.0.0.1:8000 \\
        --headless -u 50 -r 10 -t 60s --csv performance/reports/locust

Invalid requests must come back 422 (counted as success here when they do); any 5xx is a failure.
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task

ZONES = list(range(1, 264))


def trip() -> dict[str, object]:
    day, hour, minute = random.randint(1, 28), random.randint(0, 23), random.randint(0, 59)
    return {
        "pickup_datetime": f"2021-02-{day:02d}T{hour:02d}:{minute:02d}:00",
        "pickup_zone": random.choice(ZONES),
        "dropoff_zone": random.choice(ZONES),
        "trip_distance": round(random.uniform(0.1, 25.0), 2),
        "passenger_count": random.randint(1, 4),
    }


class PredictionUser(FastHttpUser):
    """A client mixing the three request kinds 8:2:1."""

    wait_time = between(0.0, 0.05)

    @task(8)
    def single(self) -> None:
        self.client.post("/v1/predictions", json=trip(), name="single")

    @task(2)
    def small_batch(self) -> None:
        self.client.post("/v1/predictions", json={"trips": [trip() for _ in range(10)]}, name="batch-10")

    @task(1)
    def invalid(self) -> None:
        bad = {**trip(), "pickup_zone": 999, "trip_distance": -1}
        with self.client.post("/v1/predictions", json=bad, name="invalid", catch_response=True) as response:
            if response.status_code == 422:
                response.success()
            else:
                response.failure(f"expected 422, got {response.status_code}")
