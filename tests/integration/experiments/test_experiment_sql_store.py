"""The SQL experiment store and exposure log on SQLite and PostgreSQL: compare-and-set, batches, the join."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.core.domain.experiment import (
    Arm,
    Experiment,
    ExperimentConflictError,
    ExperimentDefinition,
    ExperimentState,
    Exposure,
)
from tripcast.mlops.ab_testing.sql_store import SqlExperimentStore, SqlExposureLog, sql_engine

AT = datetime(2026, 1, 1, tzinfo=UTC)
AB = ExperimentDefinition("ab-1", "trip-duration", (Arm("control", "champion", 0.5), Arm("treatment", "2", 0.5)))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = (
        f"sqlite:///{tmp_path / 'experiments.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    built = sql_engine(url)
    yield built
    built.dispose()


def test_states_change_by_compare_and_set(engine: sa.Engine) -> None:
    store = SqlExperimentStore(engine)
    draft = Experiment(AB, ExperimentState.DRAFT, AT)
    store.save(draft)
    with pytest.raises(ExperimentConflictError, match="already exists"):
        store.save(draft)
    running = Experiment(AB, ExperimentState.RUNNING, AT, started_at=AT + timedelta(seconds=5))
    assert store.transition(running, expected=ExperimentState.DRAFT) == running
    with pytest.raises(ExperimentConflictError, match="is running, not draft"):  # the loser of a race
        store.transition(running, expected=ExperimentState.DRAFT)
    assert store.get("ab-1") == running
    assert [e.definition.experiment_id for e in store.list(ExperimentState.RUNNING, "trip-duration")] == ["ab-1"]
    assert store.list(ExperimentState.DRAFT) == [] and store.list(model_name="other") == []
    with pytest.raises(NotFoundError):
        store.get("nope")


def test_exposures_are_written_in_batches_and_joined_to_outcomes(engine: sa.Engine) -> None:
    exposures = SqlExposureLog(engine, flush_seconds=60)
    exposures.record(
        [
            Exposure("ab-1", "control", "u1", "r1", AT, "1"),
            Exposure("ab-1", "control", "u1", "r2", AT + timedelta(seconds=1), "1"),
            Exposure("ab-1", "treatment", "u2", "r3", AT, "2"),
            Exposure("ab-1", "treatment", "u1", "r1", AT, "2", answered=False, prediction=13.0),  # shadow score
        ]
    )
    assert exposures.count("ab-1") == {}  # queued, not written
    assert exposures.flush() == 4
    assert exposures.count("ab-1") == {"control": 2, "treatment": 2}
    assert sorted(exposures.request_ids("ab-1")) == ["r1", "r2", "r3"]
    outcomes = pd.DataFrame(
        {"request_id": ["r1", "r2", "r3"], "predicted": [10.0, 20.0, 8.0], "actual": [12.0, 16.0, 9.0]}
    )
    frame = exposures.observations("ab-1", outcomes).sort_values(["arm", "unit_id"])
    assert list(frame.columns) == ["arm", "unit_id", "outcome", "covariate", "at"]
    # u1/control: mean(|10-12|, |20-16|) = 3; u1/treatment (shadow): |13-12| = 1; u2/treatment: |8-9| = 1
    assert frame[["arm", "unit_id", "outcome"]].to_records(index=False).tolist() == [
        ("control", "u1", 3.0),
        ("treatment", "u1", 1.0),
        ("treatment", "u2", 1.0),
    ]
    empty = outcomes.iloc[0:0]
    with pytest.raises(InvalidInputError, match="no exposure with an actual outcome yet"):
        exposures.observations("ab-1", empty)
    exposures.close()


def test_close_writes_what_is_still_queued(engine: sa.Engine) -> None:
    exposures = SqlExposureLog(engine, flush_seconds=3600)  # the background flush never comes in time
    exposures.record([Exposure("ab-1", "control", f"u{i}", f"r{i}", AT, "1") for i in range(500)])
    exposures.close()
    assert SqlExposureLog(engine).count("ab-1") == {"control": 500}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_exposure_table_of_an_older_release_gains_the_guardrail_columns(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    old = sa.create_engine(url)
    key = "INTEGER PRIMARY KEY" if backend == "sqlite" else "SERIAL PRIMARY KEY"
    with old.begin() as conn:  # the table as the first release created it
        conn.execute(sa.text(
            f"CREATE TABLE experiment_exposures (id {key}, experiment_id VARCHAR(80) NOT NULL, "
            "arm VARCHAR(64) NOT NULL, unit_id VARCHAR(200) NOT NULL, request_id VARCHAR(80) NOT NULL, "
            "at FLOAT NOT NULL, model_version VARCHAR(32) NOT NULL, answered BOOLEAN NOT NULL, prediction FLOAT)"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO experiment_exposures (experiment_id, arm, unit_id, request_id, at, model_version, answered) "
            "VALUES ('ab-1', 'control', 'u', 'r', 0, '1', TRUE)"
        ))  # fmt: skip
    old.dispose()
    exposures = SqlExposureLog(sql_engine(url))
    exposures.record([Exposure("ab-1", "treatment", "u2", "r" * 150, AT, "2", True, 9.0, 12.5, True)])
    exposures.flush()
    measures = exposures.arm_measures("ab-1", "control")
    assert measures["treatment"]["p99_latency_ms"] == 12.5 and measures["treatment"]["error_rate"] == 1.0
    assert measures["control"]["error_rate"] == 0.0  # the old row: no error recorded
    exposures.close()
    exposures.engine.dispose()
