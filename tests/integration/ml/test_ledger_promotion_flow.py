"""Gate, promote, park and roll back real models through the core services with the SQL ledger (SQLite, PG)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from ml_fakes import FixedClock, MemoryDatasetStore
from registry_world import NAME, RegistryWorld

from tripcast.core.domain.errors import PromotionRefusedError
from tripcast.core.domain.ledger import EmptyLedgerError
from tripcast.core.domain.month import Month
from tripcast.core.services.promotion import CHALLENGER, CHAMPION
from tripcast.core.services.rollback import Rollback
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.mlops.model_registry.ledger import SqlPromotionLedger
from tripcast.mlops.tracking.schema import prepare_tracking_store


@pytest.fixture(params=["sqlite", "postgresql"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
        prepare_tracking_store(uri, (tmp_path / "artifacts").as_uri(), tmp_path / "locks")
        return uri
    return str(request.getfixturevalue("postgres_url"))


def test_promotions_and_a_rollback_write_the_ledger_the_aliases_and_the_audit_trail(
    tracking_uri: str,
    tmp_path: Path,
    processed_month: Callable[[str], pd.DataFrame],
    feature_builder: TripFeatureBuilder,
    clock: FixedClock,
) -> None:
    store = MemoryDatasetStore({
        Month(2021, 1): processed_month("2021-01").head(4000),
        Month(2021, 2): processed_month("2021-02").head(1500),
        Month(2021, 3): processed_month("2021-03").head(1500),
    })  # fmt: skip
    ledger = SqlPromotionLedger(tracking_uri, clock)
    world = RegistryWorld(tracking_uri, tmp_path, store, feature_builder, clock, "ledger-flow", ledger=ledger)
    registry, audit, promotion = world.registry, world.audit, world.promotion
    rollback = Rollback(promotion=promotion, ledger=ledger, registry=registry, clock=clock)

    def train_and_gate(rounds: int) -> str:
        version = world.train(rounds, advance=True).version.version
        promotion.promote(registry.get(NAME, version), actor="alice", reason=f"{rounds} rounds")
        return version

    with pytest.raises(EmptyLedgerError, match="the ledger holds no champion of trip-duration"):
        rollback.rollback(NAME, actor="bob", reason="too early")
    v1 = train_and_gate(3)
    v2 = train_and_gate(80)
    with pytest.raises(PromotionRefusedError):
        train_and_gate(1)  # worse than v2: parked as challenger
    clock.moment += timedelta(minutes=1)
    rolled = rollback.rollback(NAME, actor="bob", reason="live error up")

    rows = ledger.history(NAME)
    assert [(r.id, r.alias, r.from_version, r.to_version, r.actor) for r in rows] == [
        (1, CHAMPION, "", v1, "alice"),
        (2, CHAMPION, v1, v2, "alice"),
        (3, CHALLENGER, "", "3", "alice"),
        (4, CHAMPION, v2, v1, "bob"),
    ]
    assert rolled == rows[-1] and rolled.reason == "rollback: live error up"
    assert rows[1].gate_metrics["candidate.rmse"] < rows[1].gate_metrics["champion.rmse"]
    assert rows[0].at == clock.moment - timedelta(minutes=3)
    assert registry.alias_version(NAME, CHAMPION) == v1 and registry.alias_version(NAME, CHALLENGER) == "3"
    assert registry.get(NAME, v1).tags["promotion.decision"] == "rolled back"
    newest = audit.events(subject_prefix=f"model:{NAME}/", limit=2)
    assert [(e.action, e.subject) for e in newest] == [
        ("model.rolled_back", f"model:{NAME}/{v1}"),
        ("model.alias_move_started", f"model:{NAME}/{v1}"),
    ]
