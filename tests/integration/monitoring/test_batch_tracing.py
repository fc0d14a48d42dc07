"""Traces of batch work, exported over real OTLP/HTTP to a local receiver (issue #15 item 1).

The pipeline runs as ``tripcast pipeline run`` in its own process with tracing configured from settings (the
composition root passes ``tracer_of(settings)``; the spans leave when the command exits). Training,
retraining, batch scoring and drift checks run their use cases over the unit tests' in-memory worlds with an
:class:`OpenTelemetryTracer` on a provider of this test exporting to the receiver (the process's global
provider is set once, so a test must not install it). Each asserts the span tree (one root per run, a child
per step or stage, counts as attributes) and that no attribute names a trip field, a path or a credential.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from support.otlp_receiver import OtlpReceiver, ReceivedSpan, otlp_receiver
from support.serve_process import free_port
from tripcast.core.domain.month import Month
from tripcast.core.ports.drift import DriftSettings
from tripcast.core.services.drift import CheckRequest, DriftMonitoring
from tripcast.observability.tracing import OpenTelemetryTracer, traces_url
from unit.core import test_batch_scoring_service as scoring_world
from unit.core import test_drift_service as drift_world
from unit.core import test_retraining_service as retraining_world

#: Words an attribute key must never contain (a trip's fields: where and when someone travelled).
TRIP_FIELDS = ("zone", "pickup", "dropoff", "distance", "latitude", "longitude", "location")
#: OTLP's error status code.
ERROR = 2
STEPS = ["ingest", "validate", "transform", "quality", "export"]


@pytest.fixture
def traced() -> Iterator[tuple[OtlpReceiver, OpenTelemetryTracer]]:
    """A receiver, and a tracer whose spans reach it over OTLP/HTTP as each ends."""
    with otlp_receiver() as receiver:
        provider = TracerProvider(resource=Resource.create({"service.name": "tripcast-batch-test"}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=traces_url(receiver.endpoint))))
        yield receiver, OpenTelemetryTracer(provider=provider)
        provider.shutdown()


def _root(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    [root] = [s for s in spans if s.name == name]
    assert root.parent_span_id == "", f"{name} is not a trace's root"
    return root


def _children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.parent_span_id == parent.span_id and s.trace_id == parent.trace_id]


def _no_pii(spans: list[ReceivedSpan], *forbidden: str) -> None:
    for span in spans:
        for key, value in span.attributes.items():
            # Row counts are named by table (``tripcast.rows.zone_hour``): a number, not where anyone went.
            counted = key.startswith("tripcast.rows.") and type(value) is int
            assert counted or not any(word in key.lower() for word in TRIP_FIELDS), (span.name, key)
            text = str(value)
            assert "://" not in text and "/" not in text.strip("/"), (span.name, key, text)  # no URL, no path
            assert not any(word in text for word in forbidden), (span.name, key, text)


def _pipeline_run(endpoint: str, data_dir: Path, source: Path) -> subprocess.CompletedProcess[str]:
    """``tripcast pipeline run --month 2021-01`` in its own process, tracing every span to ``endpoint``."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "TRIPCAST_DATA_DIR": str(data_dir),
        "TRIPCAST_OTEL_EXPORTER_ENDPOINT": endpoint,
        "TRIPCAST_OTEL_SAMPLING_RATIO": "1.0",
    }
    command = [sys.executable, "-c", "from tripcast.cli.app import app; app()", "pipeline", "run"]
    return subprocess.run(
        [*command, "--month", "2021-01", "--source", str(source), "--no-download"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_pipeline_run_is_one_trace_with_a_span_per_step_and_its_row_counts(
    shared_data_dir: Path, tmp_path: Path
) -> None:
    with otlp_receiver() as receiver:
        done = _pipeline_run(receiver.endpoint, tmp_path / "data", shared_data_dir)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        spans = receiver.wait_for(lambda got: any(s.name == "tripcast.pipeline.run" for s in got))
    run = _root(spans, "tripcast.pipeline.run")
    assert run.attributes["tripcast.month"] == "2021-01" and run.attributes["tripcast.engine"] == "duckdb"
    assert run.resource["service.name"] == "tripcast"
    steps = {s.name.removeprefix("tripcast.pipeline."): s for s in _children(spans, run)}
    assert sorted(steps) == sorted(STEPS)
    validate = steps["validate"].attributes
    assert (validate["tripcast.rows.input"], validate["tripcast.rows.valid"]) == (76_518, 73_844)
    assert validate["tripcast.rows.quarantined"] == 2_674 and validate["tripcast.step.skipped"] is False
    assert steps["transform"].attributes["tripcast.rows.trips_enriched"] == 73_844
    _no_pii(spans, str(tmp_path), str(shared_data_dir))


def test_a_pipeline_run_with_the_collector_down_succeeds_and_exits_promptly(
    shared_data_dir: Path, tmp_path: Path
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens: the spans' export at exit is refused
    started = time.monotonic()
    done = _pipeline_run(nobody, tmp_path / "data", shared_data_dir)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 120  # the export gives up after its 2 s timeout; the run is ~10 s


def test_training_and_retraining_are_one_trace_per_run_with_a_span_per_stage(traced) -> None:
    receiver, tracer = traced
    world = retraining_world.World()
    world.training.tracer = tracer
    service = world.service()
    service.tracer = tracer
    outcome = service.run(retraining_world.MAR, actor="bob")
    assert outcome.run.decision == "promoted"

    spans = receiver.spans
    run = _root(spans, "tripcast.retrain.run")
    assert run.attributes["tripcast.month"] == "2021-03" and run.attributes["tripcast.retrain.decision"] == "promoted"
    stages = {s.name: s for s in _children(spans, run)}
    expected = ["ingest_validate", "triggers", "ingest_validate_window", "train", "evaluate", "decide"]
    assert sorted(stages) == sorted(f"tripcast.retrain.{stage}" for stage in expected)
    assert stages["tripcast.retrain.ingest_validate"].attributes["tripcast.rows.valid"] == 2
    assert stages["tripcast.retrain.triggers"].attributes["tripcast.retrain.fired"] == 1
    [training] = _children(spans, stages["tripcast.retrain.train"])
    assert training.name == "tripcast.training" and training.attributes["tripcast.model.version"] == "2"
    inner = {s.name: s for s in _children(spans, training)}
    assert sorted(inner) == [f"tripcast.training.{s}" for s in ("evaluate", "fit", "load", "register")]
    assert inner["tripcast.training.load"].attributes["tripcast.rows.train"] == 3  # Jan (2) + Feb (1)
    assert inner["tripcast.training.fit"].attributes["tripcast.model.flavor"] == "lightgbm"
    assert inner["tripcast.training.register"].attributes["tripcast.model.version"] == "2"
    assert {s.trace_id for s in spans} == {run.trace_id}  # one trace for the whole run
    _no_pii(spans)


def test_batch_scoring_has_a_span_per_chunk_with_its_counts(traced) -> None:
    receiver, tracer = traced
    world = scoring_world.World(
        {"jan.parquet": scoring_world.trips([1.0, -2.0, 3.0, "x", 0.0])}, scoring_world.FakePredictor("3")
    )
    world.service.tracer = tracer
    report = world.service.score(scoring_world.JOB)  # chunks of 2 rows
    assert report.input_rows == 5

    score = _root(receiver.spans, "tripcast.batch.score")
    assert score.attributes["tripcast.model.version"] == "3"
    assert (score.attributes["tripcast.rows.scored"], score.attributes["tripcast.rows.quarantined"]) == (3, 2)
    chunks = sorted(_children(receiver.spans, score), key=lambda s: s.attributes["tripcast.chunk"])
    assert [s.name for s in chunks] == ["tripcast.batch.chunk"] * 3
    counts = [tuple(c.attributes[f"tripcast.rows.{k}"] for k in ("input", "scored", "quarantined")) for c in chunks]
    assert counts == [(2, 1, 1), (2, 1, 1), (1, 1, 0)]
    _no_pii(receiver.spans, "jan.parquet", "scored.parquet")


def test_a_chunk_that_fails_ends_its_spans_as_errors_and_the_error_propagates(traced) -> None:
    receiver, tracer = traced
    rows = scoring_world.trips([1.0, 2.0, 3.0, 4.0, 5.0])
    world = scoring_world.World({"jan.parquet": rows}, scoring_world.FakePredictor("3", fail_on_call=2))
    world.service.tracer = tracer
    with pytest.raises(RuntimeError, match="mid-run"):
        world.service.score(scoring_world.JOB)

    score = _root(receiver.spans, "tripcast.batch.score")
    chunks = sorted(_children(receiver.spans, score), key=lambda s: s.attributes["tripcast.chunk"])
    assert [c.status for c in chunks] == [0, ERROR] and score.status == ERROR
    assert "tripcast.rows.scored" not in chunks[1].attributes  # counts only of a chunk that was written


def test_a_drift_check_is_one_trace_with_load_predict_detect_and_report_spans(traced) -> None:
    receiver, tracer = traced
    profiles = drift_world.FakeProfiles()
    profiles.by_ref["champion"] = drift_world.FakeProfile(n_rows=150, prediction=[1.0])
    service = DriftMonitoring(
        model_name="trip-duration",
        features=drift_world.FakeFeatures({"drifted": drift_world.sample([500.0] * 200, {"bad_zone": 7})}),
        profiles=profiles, detection=drift_world.FakeDetection(), reports=drift_world.FakeReports(),
        predictions=drift_world.FakePredictions(), decay=drift_world.FakeDecay(), registry=drift_world.FakeRegistry(),
        audit=drift_world.InMemoryAudit(), clock=drift_world.FixedClock(), tracer=tracer,
    )  # fmt: skip
    settings = DriftSettings(drift_share=0.3, min_rows=100)
    result = service.check(CheckRequest(current="drifted", settings=settings, month=Month(2021, 3)))
    assert result.report.dataset_drift

    check = _root(receiver.spans, "tripcast.drift.check")
    assert check.attributes["tripcast.model.ref"] == "champion"
    assert (check.attributes["tripcast.rows.valid"], check.attributes["tripcast.rows.quarantined"]) == (200, 7)
    assert check.attributes["tripcast.drift.dataset_drift"] is True
    assert check.attributes["tripcast.drift.drifted_columns"] == 1
    stages = [s.name.removeprefix("tripcast.drift.") for s in _children(receiver.spans, check)]
    assert sorted(stages) == ["detect", "load", "predict", "report"]
    _no_pii(receiver.spans, "drifted")
