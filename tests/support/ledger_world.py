"""A real MLflow registry with empty versions, and promoter processes racing on its champion (ledger tests)."""

from __future__ import annotations

import multiprocessing
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.ledger import AliasMove, LedgerNote, StaleAliasError
from tripcast.core.ports.clock import Clock

MODEL = "ledger-test-model"


class UtcClock(Clock):
    """Wall-clock time (the worker processes cannot receive the root's clock)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def registry_with_versions(tracking_uri: str, count: int, scratch: Path) -> None:
    """Create the MLflow tables (when missing) and ``count`` versions of :data:`MODEL` (sources are empty dirs)."""
    from mlflow import MlflowClient

    if tracking_uri.startswith("sqlite"):
        from tripcast.mlops.tracking.schema import prepare_tracking_store

        prepare_tracking_store(tracking_uri, str(scratch / "artifacts"), scratch / "locks")
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    client.create_registered_model(MODEL)
    for number in range(count):
        source = scratch / f"model-{number}"
        source.mkdir(parents=True, exist_ok=True)
        client.create_model_version(MODEL, source=str(source))


def champion_in_mlflow(tracking_uri: str) -> str:
    """The champion as MLflow itself reports it ("" when unset)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    return str(client.get_registered_model(MODEL).aliases.get("champion", ""))


def promoter(tracking_uri: str, version: str, rounds: int, barrier: Any, results: Any) -> None:
    """One promoter process: each round, read the champion, wait for the others, try to move it to ``version``."""
    from tripcast.mlops.model_registry.ledger import SqlPromotionLedger

    ledger = SqlPromotionLedger(tracking_uri, UtcClock())
    for round_number in range(rounds):
        barrier.wait(timeout=120)
        current = champion_in_mlflow(tracking_uri)
        barrier.wait(timeout=120)  # everyone has read: all decide on the same champion
        results.put((round_number, version, current, _attempt(ledger, version, current)))
        barrier.wait(timeout=120)


def _attempt(ledger: Any, version: str, current: str) -> str:
    """Try to move the champion from ``current`` to ``version``: won, lost, skipped or an error."""
    if current == version:
        return "skipped"
    try:
        ledger.move(MODEL, [AliasMove("champion", version, current)], LedgerNote(f"p{version}", "race"))
    except StaleAliasError:
        return "lost"
    except TripcastError as exc:  # pragma: no cover - reported to the test
        return f"error: {exc}"
    return "won"


def race(tracking_uri: str, versions: list[str], rounds: int) -> list[tuple[int, str, str, str]]:
    """Run one promoter process per version for ``rounds`` rounds; every attempt's outcome."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(versions))
    results = context.Queue()
    processes = [context.Process(target=promoter, args=(tracking_uri, v, rounds, barrier, results)) for v in versions]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in range(len(versions) * rounds)]
    for process in processes:
        process.join(timeout=60)
    return outcomes


def scratch_dir() -> Path:
    """A fresh temporary directory (the spawn workers need nothing from pytest)."""
    return Path(tempfile.mkdtemp(prefix="tripcast-ledger-"))


def two_real_versions(tracking_uri: str, data_dir: Path, shared_data_dir: Path) -> tuple[str, str]:
    """Two small LightGBM versions of ``trip-duration`` trained on real January trips (no alias set)."""
    from support.real_models import register_lightgbm_versions, validated_january

    if tracking_uri.startswith("sqlite"):
        from tripcast.mlops.tracking.schema import prepare_tracking_store

        prepare_tracking_store(tracking_uri, (data_dir / "artifacts").as_uri(), data_dir / "locks")
    trips = validated_january(shared_data_dir).valid.head(3000)
    made = register_lightgbm_versions(
        trips, tracking_uri, data_dir / "artifacts", rounds=(10, 30), experiment="ledger-e2e", params={"num_threads": 1}
    )
    return made.versions[0], made.versions[1]
