"""``tripcast models request|approve|reject|approvals`` end to end: real TLC months, real MLflow registry and
audit trail, real API keys given with ``--as``, the repository's production policy (second person, passing
gate, no dataset drift on the validation month checked by the real drift checker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tripcast.bootstrap import Tripcast, bootstrap, load_settings
from tripcast.bootstrap.access import api_key_store
from tripcast.cli.app import app
from tripcast.core.domain.access import Role
from tripcast.core.domain.month import Month
from tripcast.core.services.promotion import CHAMPION
from tripcast.core.services.training import Training, TrainingPlan
from tripcast.mlops.training.lightgbm_trainer import LightGBMTrainer

REPOSITORY = Path(__file__).resolve().parents[3]
PLAN = TrainingPlan.consecutive(Month(2021, 1), "trip-duration")


@pytest.fixture()
def tc(tmp_path: Path, shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tripcast]:
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    for month in ("2021-01", "2021-02", "2021-03"):
        (raw / f"green_tripdata_{month}.parquet").symlink_to(shared_data_dir / f"green_tripdata_{month}.parquet")
    environment = {
        "TRIPCAST_HOME": str(tmp_path),
        "TRIPCAST_DATA_DIR": str(tmp_path / "data"),
        "TRIPCAST_ENV": "production",
        "TRIPCAST_API_TOKEN": "production-admin-token-0123456789",
        "TRIPCAST_AUDIT_KEY": "production-audit-key-0123456789",
        "TRIPCAST_API_KEY_SECRET": "production-key-secret-0123456789",
        "TRIPCAST_APPROVAL_POLICY_FILE": str(REPOSITORY / "environments" / "production" / "approval_policy.yaml"),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TRIPCAST_TOKEN", raising=False)
    yield bootstrap(load_settings(), allow_download=False)


def train(tc: Tripcast, rounds: int) -> str:
    """Register a version trained with ``rounds`` boosting rounds (registration hooks included: drift profile)."""
    for month in (PLAN.train_month, PLAN.valid_month, PLAN.test_month):
        tc.data.validation.ensure_processed(month, actor="pytest")
    training = Training(
        store=tc.store,
        features=tc.features,
        trainer=LightGBMTrainer(tc.features.spec, num_boost_round=rounds),
        baseline_trainer=tc.baseline_trainer,
        metrics=tc.metrics,
        tracker=tc.tracker,
        registry=tc.registry,
        clock=tc.clock,
        audit=tc.audit,
        hooks=tc.ml.registration_hooks,
    )
    return training.train_and_register(PLAN, actor="pytest").version.version


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_request_and_approve_from_the_cli_under_the_production_policy(tc: Tripcast) -> None:
    weak = train(tc, 5)
    tc.ml.promotion.promote(tc.ml.promotion.candidate("trip-duration", weak), actor="pytest", reason="first")
    strong = train(tc, 60)
    keys = api_key_store(tc.settings)
    operator = keys.create("olga", Role.OPERATOR, actor="pytest")
    approver = keys.create("ada", Role.APPROVER, actor="pytest")

    code, output = cli("models", "request", strong, "--reason", "60 rounds", "--as", "tc_unknown", "--json")
    assert code == 1 and "--as: unknown or revoked API key" in output and "Traceback" not in output
    code, output = cli("models", "request", strong, "--reason", "60 rounds", "--as", operator, "--json")
    assert code == 0, output
    request = json.loads(output[output.index("{") :])
    assert request["state"] == "pending" and request["gate"]["passed"] and request["requested_by"] == "olga"

    code, output = cli("models", "approve", request["request_id"], "--as", operator)
    assert code == 1 and "may not approve a promotion: needs role approver, admin" in output
    code, output = cli("models", "approve", "nope", "--as", approver)
    assert code == 1 and "approval request 'nope' not found" in output
    assert tc.registry.alias_version("trip-duration", CHAMPION) == weak

    # the real drift checker refuses while the validation month's file drifts (every trip JFK -> LaGuardia,
    # four times as long: most features move); nothing changes
    raw = tc.settings.raw_path / "green_tripdata_2021-02.parquet"
    original = raw.resolve()
    frame = pd.read_parquet(original)
    frame["trip_distance"] = frame["trip_distance"] * 4
    frame["PULocationID"], frame["DOLocationID"] = 132, 138
    raw.unlink()
    frame.to_parquet(raw)
    n_events = len(tc.audit.events(limit=1000))
    code, output = cli("models", "approve", request["request_id"], "--as", approver)
    assert code == 1 and "dataset drift on validation month 2021-02: drifted columns:" in output, output
    assert "trip_distance" in output and "Traceback" not in output
    assert tc.registry.alias_version("trip-duration", CHAMPION) == weak
    assert len(tc.audit.events(limit=1000)) == n_events
    raw.unlink()
    raw.symlink_to(original)

    code, output = cli("models", "approve", request["request_id"], "--as", approver, "--json")
    # 2021-02 does not drift against the 2021-01 reference (the real checker ran: its report is on disk)
    assert code == 0, output
    done = json.loads(output[output.index("{") :])
    assert (done["state"], done["decided_by"]) == ("promoted", "ada")
    assert tc.registry.alias_version("trip-duration", CHAMPION) == strong
    assert list(tc.settings.data_dir.rglob("drift_*green_tripdata_2021-02*.json")), "no drift check was made"
    actions = [e.action for e in tc.audit.events(subject_prefix=f"model:trip-duration/{strong}", limit=20)]
    assert actions[:3] == ["model.promoted", "model.alias_move_started", "approval.approved"]
    assert "approval.requested" in actions
    code, output = cli("models", "approvals", "--json")
    assert code == 0 and request["request_id"] in output
    code, output = cli("models")  # without a subcommand: the version listing, as before
    assert code == 0 and "trip-duration" in output and "champion" in output
