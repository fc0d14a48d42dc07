"""Wiring of ground-truth feedback (issue #13 item 4): the prediction log, outcome ingest, replay, live error.

Everything that knows about taxis is here (which request fields make the digest, a zone's borough as the
segment, the trip columns a replay reads); the service and the adapters in ``tripcast.mlops.feedback`` are
generic. The adapters are imported inside the functions: lifecycle automation is the expert level.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.feedback import PredictionLog, PredictionLogStore
from tripcast.core.services.feedback import Feedback

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast

#: The predictions ``/metrics`` reports live error over (older ones: ``tripcast feedback report``).
LIVE_METRICS_WINDOW = timedelta(days=7)


class FeedbackServices:
    """``tc.feedback``: the feedback use cases and the prediction log serving writes to."""

    def __init__(self, tripcast: Tripcast) -> None:
        self.tripcast = tripcast

    @cached_property
    def store(self) -> PredictionLogStore:
        """The SQL prediction log at ``settings.prediction_log_database_url`` (tables created on first use)."""
        from tripcast.mlops.feedback.sql_log import SqlPredictionLogStore

        self.tripcast.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqlPredictionLogStore(self.tripcast.settings.prediction_log_database_url)

    def prediction_log(self) -> PredictionLog | None:
        """A buffered writer to :attr:`store` for a serving process; None when ``prediction_log_enabled`` is off."""
        settings = self.tripcast.settings
        if not settings.prediction_log_enabled:
            return None
        from tripcast.mlops.feedback.sql_log import BufferedPredictionLog, SqlPredictionLogStore

        store = self.store
        assert isinstance(store, SqlPredictionLogStore)
        return BufferedPredictionLog(store, describe_trips, flush_seconds=settings.prediction_log_flush_seconds)

    def register_live_error_metrics(self, metrics_registry: object) -> None:
        """Export live error and concept drift of the last week's predictions on a serving process's ``/metrics``
        (computed at most once a minute, on scrape); nothing when the prediction log is off."""
        if not self.tripcast.settings.prediction_log_enabled:
            return
        from tripcast.mlops.feedback.gauges import LiveErrorCollector

        def recent() -> object:  # bounded work on the serving process: the last week, not the whole log
            return self.service.report(since=self.tripcast.clock.now() - LIVE_METRICS_WINDOW)

        metrics_registry.register(LiveErrorCollector(recent))  # type: ignore[attr-defined]

    @cached_property
    def service(self) -> Feedback:
        """The feedback use case: ingest outcomes, replay a month, report live error (gauges in a registry)."""
        from tripcast.data_engineering.tlc.zones import ZoneLookup
        from tripcast.mlops.feedback.actuals import FileActualsReader
        from tripcast.mlops.feedback.gauges import PrometheusFeedbackGauges
        from tripcast.mlops.feedback.replay import ReplayColumns, SourceMonthReplayer

        tc = self.tripcast
        replayer = SourceMonthReplayer(
            source=tc.source,
            validator=tc.validator,
            features=tc.features,
            registry=tc.registry,
            model_name=tc.settings.model_name,
            columns=ReplayColumns(time="pickup_datetime", slice_key="pickup_zone"),
            segment_of=ZoneLookup.bundled().borough,
        )
        return Feedback(
            model_name=tc.settings.model_name,
            store=self.store,
            reader=FileActualsReader(),
            replayer=replayer,
            decay=tc.drift,
            gauges=PrometheusFeedbackGauges(),
            audit=tc.audit,
            clock=tc.clock,
            tolerance=tc.settings.feedback_decay_tolerance,
        )


def describe_trips(requests: Sequence[TripRequest]) -> list[tuple[str, str, int | None]]:
    """(features digest, pickup borough, pickup zone) per trip request: runs on the log's writer thread."""
    boroughs = _boroughs()
    return [(_digest(r), boroughs.get(r.pickup_zone, "Unknown"), r.pickup_zone) for r in requests]


@lru_cache(maxsize=1)
def _boroughs() -> dict[int, str]:
    from tripcast.data_engineering.tlc.zones import ZoneLookup

    zones = ZoneLookup.bundled()
    return {zone: zones.borough(zone) for zone in zones.zone_ids}


def _digest(request: TripRequest) -> str:
    text = (
        f"{request.pickup_datetime.isoformat()}|{request.pickup_zone}|{request.dropoff_zone}|"
        f"{request.trip_distance!r}|{request.vendor_id}|{request.passenger_count}"
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
