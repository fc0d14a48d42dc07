"""The prediction API with experiments on a fake registry and a real SQLite experiment store."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from support.api_keys import authenticator, key_store
from support.fakes_ml import FakeAudit
from support.serving_fakes import FakeRegistry
from support.serving_settings import functional_settings
from tripcast.api import create_app
from tripcast.bootstrap.experiments import ExperimentsHttp
from tripcast.bootstrap.serving import PinnedModel, serving_parts
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.feedback import PredictionLog
from tripcast.core.ports.tracking import Predictor
from tripcast.core.services.experiments import Experiments, ExperimentTraffic
from tripcast.mlops.ab_testing.serving import BackgroundWorker, ExperimentRunner
from tripcast.mlops.ab_testing.sql_store import SqlExperimentStore, SqlExposureLog, sql_engine
from tripcast.mlops.serving.real_time.metrics import ServingMetrics
from tripcast.security.api_keys import SqlApiKeyStore

NAME = "trip-duration"


@dataclass
class ExperimentWorld:
    app: FastAPI
    service: Experiments
    exposures: SqlExposureLog
    keys: SqlApiKeyStore
    audit: FakeAudit
    registry: FakeRegistry
    url: str
    traffic: ExperimentTraffic
    metrics: ServingMetrics


def experiment_world(
    tmp_path: Path,
    clock: Clock,
    *,
    flush_seconds: float = 0.05,
    gates: dict[str, threading.Event] | None = None,
    prediction_log: PredictionLog | None = None,
    **settings: Any,
) -> ExperimentWorld:
    """Versions 1 (champion) and 2; the server polls the store every 50 ms. ``gates``: version -> an event
    its arm's load waits for (a slow load, on the poller's thread as in a server)."""
    registry = FakeRegistry()
    registry.add("1", alias="champion")
    registry.add("2")
    url = f"sqlite:///{tmp_path / 'experiments.db'}"
    engine = sql_engine(url)
    store, exposures = SqlExperimentStore(engine), SqlExposureLog(engine, flush_seconds=flush_seconds)
    worker = BackgroundWorker()

    def arm_loader(name: str, version: str) -> Predictor:
        gate = (gates or {}).get(version)
        if gate is not None:
            gate.wait(30)
        return registry.load_predictor(name, version)

    metrics = ServingMetrics()
    traffic = ExperimentTraffic(
        store, exposures, NAME, lambda name, ref: PinnedModel(registry, name, ref, arm_loader), clock,
        worker.submit, metrics,
    )  # fmt: skip
    audit = FakeAudit()
    service = Experiments(store, exposures, registry, audit, clock)
    keys = key_store(tmp_path)
    parts = serving_parts(
        functional_settings(**settings), registry, cache=None, poll=False, split=traffic,
        authenticator=authenticator(keys), metrics=metrics, prediction_log=prediction_log,
    )  # fmt: skip
    parts = replace(
        parts,
        experiments=lambda: ExperimentsHttp(service),
        experiment_runner=ExperimentRunner(traffic.refresh, exposures, worker, poll_seconds=0.05),
    )
    return ExperimentWorld(create_app(parts), service, exposures, keys, audit, registry, url, traffic, metrics)
