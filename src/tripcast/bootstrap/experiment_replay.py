"""Wiring of the experiment replay (issue #14 item 4): a month of valid trips through a running experiment.

Over HTTP (``url``) the requests go to a running ``tripcast serve``, whose prediction log and exposures
must be the ones this process reads (same ``TRIPCAST_*`` settings). In-process, the prediction use case
gets the experiment's traffic split and the prediction log, exactly as a server wires them, minus HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tripcast.core.domain.month import Month
from tripcast.core.ports.replay import LabelledRequest, ReplaySender
from tripcast.core.services.experiment_replay import ExperimentReplay, ReplaySettings

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast


def month_requests(tripcast: Tripcast, month: Month, limit: int | None) -> list[LabelledRequest]:
    """The month's valid trips (the raw month, validated) as requests labelled with their real duration."""
    from tripcast.data_engineering.features.replay_trips import labelled_trips

    valid = tripcast.validator.split(tripcast.source.load(month)).valid
    return labelled_trips(valid, limit)


def experiment_replay(
    tripcast: Tripcast, settings: ReplaySettings, *, url: str | None = None, token: str | None = None
) -> ExperimentReplay:
    """The replay use case: HTTP to ``url`` (``token`` as bearer), or in-process when ``url`` is None."""
    from tripcast.mlops.ab_testing.replay import FeedbackOutcomeRecorder, HttpReplaySender

    sender: ReplaySender
    if url is not None:
        from tripcast.data_engineering.features.replay_trips import trip_json

        sender = HttpReplaySender(url, trip_json, token=token, max_in_flight=settings.max_in_flight)
    else:
        sender = _in_process_sender(tripcast)
    feedback = tripcast.feedback

    def ingest(location: str) -> int:
        return feedback.service.ingest(location, actor="experiments-replay").rows

    recorder = FeedbackOutcomeRecorder(ingest, feedback.store.known_ids, settle_seconds=settings.settle_seconds)
    return ExperimentReplay(tripcast.experiments.service, sender, recorder)


def _in_process_sender(tripcast: Tripcast) -> ReplaySender:
    """The prediction use case a server would build (the champion, the experiment split, the log), in-process."""
    from tripcast.bootstrap.serving import PinnedModel, experiment_split
    from tripcast.core.domain.errors import TripcastError
    from tripcast.core.services.prediction import Prediction
    from tripcast.mlops.ab_testing.replay import InProcessReplaySender

    settings = tripcast.settings
    split, runner = experiment_split(tripcast, tripcast.registry, feature_builder=tripcast.features)
    log = tripcast.feedback.prediction_log()
    if split is None or runner is None or log is None:
        raise TripcastError(
            "an in-process replay needs experiments serving and the prediction log on "
            "(TRIPCAST_EXPERIMENTS_SERVING, TRIPCAST_PREDICTION_LOG_ENABLED)"
        )
    runner.start()  # reads the running experiment and loads its arms now
    prediction = Prediction(PinnedModel(tripcast.registry, settings.model_name, "champion"), log=log, split=split)

    def close() -> None:
        runner.stop()  # writes every queued exposure
        log.close()  # and every logged prediction

    return InProcessReplaySender(prediction, close)
