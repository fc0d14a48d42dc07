"""The batch scoring use case with in-memory fakes of every port: books balance, outputs commit, audit records."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.batch_scoring import CheckedBatch, ScoringPlan, TripBatch
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.learning import Predictor
from tripcast.core.services.batch_scoring import SCORED, BatchScorer, BatchScoring, ScoringJob
from tripcast.core.services.validation import RowsUnaccountedError

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
Row = dict[str, Any]


class FakeSource:
    """Files held in memory: name -> rows (dicts)."""

    def __init__(self, files: dict[str, list[Row]]) -> None:
        self.files = files

    def plan(self, input_path: Path, output: Path, quarantine: Path | None) -> ScoringPlan:
        if input_path.name not in self.files:
            raise NotFoundError(f"{input_path}: no such file or directory")
        quarantine = quarantine or output.with_name(f"{output.stem}.quarantine.parquet")
        rows = len(self.files[input_path.name])
        return ScoringPlan(input_path, (input_path,), output, quarantine, rows)

    def batches(self, plan: ScoringPlan, chunk_rows: int) -> Iterator[TripBatch]:
        for path in plan.files:
            rows = self.files[path.name]
            for start in range(0, len(rows), chunk_rows):
                chunk = rows[start : start + chunk_rows]
                yield TripBatch(path.name, start, len(chunk), chunk)


class FakeChecker:
    """A trip is valid when its distance is a non-negative number; ``drop_one`` simulates a buggy adapter."""

    def __init__(self, drop_one: bool = False) -> None:
        self.drop_one = drop_one

    def check(self, batch: TripBatch) -> CheckedBatch:
        valid: list[Row] = []
        refused: list[Row] = []
        for i, row in enumerate(batch.columns):
            source_row = batch.first_row + i
            if isinstance(row["trip_distance"], int | float) and row["trip_distance"] >= 0:
                valid.append({**row, "source_row": source_row})
            else:
                refused.append({**row, "source_row": source_row, "reason": "trip_distance: must be >= 0"})
        if self.drop_one and valid:
            valid.pop()
        reasons = {"trip_distance": len(refused)} if refused else {}
        return CheckedBatch(valid, len(valid), refused, len(refused), reasons)


class FakeFeatures:
    def features_for_columns(self, trips: list[Row]) -> list[list[float]]:
        return [[float(row["trip_distance"])] for row in trips]


class FakePredictor(Predictor):
    """Minutes = 2 * distance + 1; fails on the call numbered ``fail_on_call`` (1-based)."""

    def __init__(self, version: str, fail_on_call: int | None = None) -> None:
        self.model_name, self.model_version = "trip-duration", version
        self.fail_on_call = fail_on_call
        self.calls = 0

    def predict_features(self, features: Any) -> list[float]:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("model crashed mid-run")
        return [2 * row[0] + 1 for row in features]

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        raise AssertionError("batch scoring predicts on feature tables, never per request")


class FakeLoader:
    def __init__(self, predictor: FakePredictor, aliases: dict[str, str]) -> None:
        self.predictor = predictor
        self.aliases = aliases
        self.loaded: list[tuple[str, str]] = []

    def load_predictor(self, name: str, ref: str) -> Predictor:
        self.loaded.append((name, ref))
        if self.aliases.get(ref, ref) != self.predictor.model_version:
            raise NotFoundError(f"{name}: no version or alias {ref!r}")
        return self.predictor


class FakeSink:
    """Writes go to ``pending``; they become ``committed`` only when the run's block exits normally."""

    def __init__(self) -> None:
        self.committed: dict[Path, list[Row]] = {}
        self.pending: dict[Path, list[Row]] = {}

    @contextmanager
    def open(self, plan: ScoringPlan, model_name: str, model_version: str) -> Iterator[FakeSink]:
        self.pending = {plan.output: [], plan.quarantine: []}
        self._plan, self._model = plan, (model_name, model_version)
        yield self
        self.committed.update(self.pending)

    def write(self, checked: CheckedBatch, minutes: Any) -> None:
        scored = [{**row, "minutes": m, "model": self._model} for row, m in zip(checked.valid, minutes, strict=True)]
        self.pending[self._plan.output].extend(scored)
        self.pending[self._plan.quarantine].extend(checked.refused)


class FakeAudit(AuditLog):
    def __init__(self) -> None:
        self.recorded: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.recorded.append(event)

    def events(
        self, subject_prefix: str = "", limit: int = 100, actions: Collection[str] | None = None
    ) -> list[AuditEvent]:
        return [e for e in reversed(self.recorded) if e.subject.startswith(subject_prefix)][:limit]


class FixedClock(Clock):
    def now(self) -> datetime:
        return NOW


class RecordingProgress:
    def __init__(self) -> None:
        self.total: int | None = None
        self.advanced: list[int] = []

    def start(self, description: str, total_rows: int | None) -> None:
        self.total = total_rows

    def advance(self, rows: int) -> None:
        self.advanced.append(rows)


def trips(distances: list[Any]) -> list[Row]:
    return [{"pickup_zone": 74, "dropoff_zone": 75, "trip_distance": d} for d in distances]


class World:
    def __init__(self, files: dict[str, list[Row]], predictor: FakePredictor, *, drop_one: bool = False) -> None:
        self.sink = FakeSink()
        self.audit = FakeAudit()
        self.loader = FakeLoader(predictor, {"champion": "3"})
        scorer = BatchScorer(
            source=FakeSource(files), checker=FakeChecker(drop_one), features=FakeFeatures(), sink=self.sink
        )
        self.service = BatchScoring(
            scorer=scorer,
            predictors=self.loader,
            audit=self.audit,
            clock=FixedClock(),
            model_name="trip-duration",
            actor="alice",
        )


JOB = ScoringJob(Path("/in/jan.parquet"), Path("/out/scored.parquet"), chunk_rows=2)


def test_scores_valid_rows_quarantines_the_rest_and_records_the_run() -> None:
    world = World({"jan.parquet": trips([1.0, -2.0, 3.0, "x", 0.0])}, FakePredictor("3"))
    progress = RecordingProgress()
    report = world.service.score(JOB, progress)

    assert (report.input_rows, report.scored_rows, report.quarantined_rows) == (5, 3, 2)
    assert report.reasons == {"trip_distance": 2}
    assert (report.model_name, report.model_version) == ("trip-duration", "3")
    assert report.quarantine == Path("/out/scored.quarantine.parquet")
    scored = world.sink.committed[JOB.output]
    assert [(r["source_row"], r["minutes"]) for r in scored] == [(0, 3.0), (2, 7.0), (4, 1.0)]
    assert {r["model"] for r in scored} == {("trip-duration", "3")}
    assert [r["source_row"] for r in world.sink.committed[report.quarantine]] == [1, 3]
    assert progress.total == 5 and sum(progress.advanced) == 5 and len(progress.advanced) == 3
    assert world.loader.loaded == [("trip-duration", "champion")]
    [event] = world.audit.recorded
    assert (event.at, event.actor, event.action, event.subject) == (NOW, "alice", SCORED, "model:trip-duration/3")
    assert event.details == {
        "model_version": "3",
        "input": "/in/jan.parquet",
        "output": "/out/scored.parquet",
        "quarantine": "/out/scored.quarantine.parquet",
        "rows_in": "5",
        "rows_scored": "3",
        "rows_quarantined": "2",
    }


def test_chunk_size_changes_nothing_but_the_number_of_batches() -> None:
    rows = trips([float(i) for i in range(7)] + [-1.0])
    results = []
    for chunk_rows in (1, 3, 100):
        world = World({"jan.parquet": rows}, FakePredictor("3"))
        job = ScoringJob(JOB.input, JOB.output, chunk_rows=chunk_rows)
        report = world.service.score(job)
        results.append((report.scored_rows, report.quarantined_rows, world.sink.committed[JOB.output]))
    assert results[0] == results[1] == results[2]


def test_a_bad_input_path_fails_before_any_model_loads_and_records_nothing() -> None:
    world = World({"jan.parquet": trips([1.0])}, FakePredictor("3"))
    with pytest.raises(NotFoundError, match=r"feb\.parquet"):
        world.service.score(ScoringJob(Path("/in/feb.parquet"), JOB.output))
    assert world.loader.loaded == [] and world.audit.recorded == [] and world.sink.committed == {}


def test_an_unknown_model_ref_writes_nothing_and_records_nothing() -> None:
    world = World({"jan.parquet": trips([1.0])}, FakePredictor("3"))
    with pytest.raises(NotFoundError, match="champoin"):
        world.service.score(ScoringJob(JOB.input, JOB.output, model_ref="champoin"))
    assert world.audit.recorded == [] and world.sink.committed == {}


def test_a_model_failing_mid_run_commits_no_output_and_records_nothing() -> None:
    world = World({"jan.parquet": trips([1.0, 2.0, 3.0, 4.0, 5.0])}, FakePredictor("3", fail_on_call=2))
    with pytest.raises(RuntimeError, match="mid-run"):
        world.service.score(JOB)
    assert world.sink.committed == {} and world.audit.recorded == []


def test_a_checker_losing_rows_is_caught_before_anything_is_committed() -> None:
    world = World({"jan.parquet": trips([1.0, 2.0, 3.0])}, FakePredictor("3"), drop_one=True)
    with pytest.raises(RowsUnaccountedError, match=r"jan\.parquet rows 0\+2"):
        world.service.score(JOB)
    assert world.sink.committed == {} and world.audit.recorded == []


def test_a_version_number_is_scored_with_that_version() -> None:
    world = World({"jan.parquet": trips([1.0])}, FakePredictor("3"))
    report = world.service.score(ScoringJob(JOB.input, JOB.output, model_ref="3"))
    assert report.model_version == "3" and world.loader.loaded == [("trip-duration", "3")]
    assert world.audit.recorded[0].details["rows_scored"] == "1"


def test_a_batch_without_valid_rows_is_not_sent_to_the_model() -> None:
    predictor = FakePredictor("3")
    world = World({"jan.parquet": trips([-1.0, -2.0, 1.0])}, predictor)
    report = world.service.score(JOB)  # batches of 2: the first has no valid row
    assert (report.scored_rows, report.quarantined_rows) == (1, 2)
    assert predictor.calls == 1
