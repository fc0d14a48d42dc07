"""Wiring of experiments (issue #14, expert): the SQL store and exposure log, the use case, the traffic split
a serving process follows, and the plain-data facade the HTTP routes call.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripcast.core.domain.access import Identity
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.experiment import (
    ExperimentDefinition,
    ExperimentState,
    experiment_payload,
    parse_verdict,
)
from tripcast.core.ports.experiment_analysis import ExperimentAnalyzer
from tripcast.core.ports.experiments import ExperimentMetrics, ExperimentStore, ExposureLog
from tripcast.core.ports.serving import ModelSource
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.core.services.experiments import Experiments, ExperimentTraffic

if TYPE_CHECKING:
    import sqlalchemy as sa

    from tripcast.bootstrap import Tripcast
    from tripcast.mlops.ab_testing.serving import ExperimentRunner


def stats_engine() -> ExperimentAnalyzer:
    """The statistics engine (``tripcast.mlops.ab_testing.analysis``): SRM, CUPED, sequential and Welch tests."""
    from tripcast.mlops.ab_testing.analysis.engine import StatsEngine

    return StatsEngine()


def write_report(result: Any, path: Path) -> None:
    """The engine's self-contained HTML report of ``result`` at ``path``."""
    from tripcast.mlops.ab_testing.analysis.report import write_report as write_html

    write_html(result, path)


class ExperimentServices:
    """``tc.experiments``: the experiment use case, its stores, and the traffic split of a serving process."""

    def __init__(self, tripcast: Tripcast) -> None:
        self.tripcast = tripcast

    @cached_property
    def engine(self) -> sa.Engine:
        """The experiments database (tables created on first use)."""
        from tripcast.mlops.ab_testing.sql_store import sql_engine

        self.tripcast.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return sql_engine(self.tripcast.settings.experiments_database_url)

    @cached_property
    def store(self) -> ExperimentStore:
        from tripcast.mlops.ab_testing.sql_store import SqlExperimentStore

        return SqlExperimentStore(self.engine)

    @cached_property
    def exposures(self) -> ExposureLog:
        """A buffered exposure log (a serving process: close it at shutdown)."""
        from tripcast.mlops.ab_testing.sql_store import SqlExposureLog

        return SqlExposureLog(self.engine, flush_seconds=self.tripcast.settings.exposure_flush_seconds)

    @cached_property
    def service(self) -> Experiments:
        """The use case over the registry, the audit trail and the prediction log's outcomes."""
        from tripcast.mlops.ab_testing.outcomes import PredictionLogOutcomes

        tc = self.tripcast
        outcomes = PredictionLogOutcomes(tc.settings.prediction_log_database_url)
        return Experiments(
            self.store, self.exposures, tc.registry, tc.audit, tc.clock, analyzer=stats_engine, outcomes=outcomes
        )

    def traffic(
        self,
        registry: ModelRegistry,
        model_name: str,
        sources: Callable[[str, str], ModelSource],
        metrics: ExperimentMetrics | None = None,
    ) -> tuple[ExperimentTraffic, ExperimentRunner]:
        """The traffic split of a serving process and the runner that polls the store and flushes at shutdown."""
        from tripcast.mlops.ab_testing.serving import BackgroundWorker, ExperimentRunner

        worker = BackgroundWorker()
        settings = self.tripcast.settings
        traffic = ExperimentTraffic(
            self.store, self.exposures, model_name, sources, self.tripcast.clock, worker.submit, metrics
        )
        return traffic, ExperimentRunner(traffic.refresh, self.exposures, worker, settings.experiments_poll_seconds)

    @staticmethod
    def read_definition(path: Path) -> ExperimentDefinition:
        """A definition from a YAML file, each bad field named."""
        from tripcast.mlops.ab_testing.definitions import read_definition

        return read_definition(path)

    def http(self) -> ExperimentsHttp:
        """The plain-data facade ``/v1/experiments`` calls."""
        return ExperimentsHttp(self.service)


class ExperimentsHttp:
    """The experiment use case in JSON-able data, for the HTTP routes (which import no expert module)."""

    def __init__(self, service: Experiments) -> None:
        self.service = service

    def create(self, body: dict[str, Any], actor: Identity) -> dict[str, object]:
        from tripcast.mlops.ab_testing.definitions import parse_definition

        return experiment_payload(self.service.create(parse_definition(body), actor=actor))

    def start(self, experiment_id: str, actor: Identity) -> dict[str, object]:
        return experiment_payload(self.service.start(experiment_id, actor=actor))

    def stop(self, experiment_id: str, actor: Identity) -> dict[str, object]:
        return experiment_payload(self.service.stop(experiment_id, actor=actor))

    def decide(self, experiment_id: str, verdict: str, actor: Identity) -> dict[str, object]:
        """Record the decision on a stopped experiment (``tripcast experiments decide``'s call)."""
        return experiment_payload(self.service.decide(experiment_id, parse_verdict(verdict, "verdict"), actor=actor))

    def get(self, experiment_id: str) -> dict[str, object]:
        status = self.service.status(experiment_id)
        return experiment_payload(status.experiment, status.exposures)

    def list(self, state: str | None) -> list[dict[str, object]]:
        chosen = None
        if state is not None:
            try:
                chosen = ExperimentState(state)
            except ValueError:
                allowed = ", ".join(s.value for s in ExperimentState)
                raise InvalidInputError([FieldProblem("state", f"{state!r} is not a state; use {allowed}")]) from None
        return [experiment_payload(e) for e in self.service.list(chosen)]

    def analysis(self, experiment_id: str) -> dict[str, object]:
        return analysis_payload(self.service.analyze(experiment_id))


def analysis_payload(result: Any) -> dict[str, object]:
    """An analysis result as JSON-able data: at least verdict, effect, ci_low, ci_high, srm_p, n_per_arm."""
    from tripcast.mlops.ab_testing.analysis.report import result_to_dict

    payload: dict[str, object] = result_to_dict(result)
    return payload
