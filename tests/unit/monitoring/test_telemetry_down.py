"""Telemetry that is down never breaks what it observes (issue #15 "Bad input").

The live-error gauges on ``/metrics`` come from the prediction log's database: a scrape while it is down still
answers, with the last values (a warning logged), and the values come back when the database does.
"""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from tripcast.core.services.feedback import ErrorSlice, FeedbackReport
from tripcast.mlops.feedback.gauges import LiveErrorCollector
from tripcast.mlops.serving.real_time.metrics import exposition


class FlakyLog:
    """The log's report: answers, then fails while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.rmse = 4.0

    def __call__(self) -> FeedbackReport:
        if self.down:
            raise ConnectionError("connection refused")
        version = ErrorSlice("3", n=10, rmse=self.rmse, mae=3.0, bias=0.1)
        return FeedbackReport("trip-duration", "all", [version], [], [], {"3": {"decayed": False}})


def test_a_scrape_with_the_prediction_log_down_answers_with_the_last_values(caplog: pytest.LogCaptureFixture) -> None:
    log = FlakyLog()
    registry = CollectorRegistry()
    registry.register(LiveErrorCollector(log, refresh_seconds=0))  # every scrape recomputes
    assert 'tripcast_live_rmse{model="trip-duration",segment="all",version="3"} 4.0' in exposition(registry).decode()

    log.down, log.rmse = True, 9.0
    text = exposition(registry).decode()  # no exception: the scrape answers
    assert 'tripcast_live_rmse{model="trip-duration",segment="all",version="3"} 4.0' in text
    assert 'tripcast_concept_drift{model="trip-duration",version="3"} 0.0' in text
    assert "live error metrics not refreshed" in caplog.text

    log.down = False
    assert 'version="3"} 9.0' in exposition(registry).decode()
