"""FeedbackOutcomeRecorder waits for the prediction log to hold every replayed id before ingesting outcomes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tripcast.mlops.ab_testing.replay import FeedbackOutcomeRecorder, ReplayRequestError


def test_outcomes_are_ingested_once_the_log_holds_every_id():
    seen: list[set[str]] = [set(), {"a"}, {"a", "b"}]
    ingested: list[list[list[str]]] = []

    def known_ids(ids: list[str]) -> set[str]:
        return seen.pop(0) if len(seen) > 1 else seen[0]

    def ingest(path: str) -> int:
        rows = list(csv.reader(Path(path).read_text().splitlines()))
        ingested.append(rows)
        return len(rows) - 1

    recorder = FeedbackOutcomeRecorder(ingest, known_ids, settle_seconds=5, poll_seconds=0.001)
    assert recorder.record({"a": 12.5, "b": 3.0}) == 2
    assert ingested == [[["request_id", "actual_minutes"], ["a", "12.5"], ["b", "3.0"]]]


def test_ids_that_never_reach_the_log_fail_naming_how_many_and_the_setting():
    recorder = FeedbackOutcomeRecorder(lambda path: 0, lambda ids: {"a"}, settle_seconds=0.01, poll_seconds=0.001)
    with pytest.raises(ReplayRequestError, match=r"1 of 2 answered requests never reached the prediction log"):
        recorder.record({"a": 1.0, "b": 2.0})
