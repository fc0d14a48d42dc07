"""Approval policies: the repository's per-environment YAML files load, and a bad file is one error naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripcast.bootstrap.approvals import approval_policy
from tripcast.core.domain.errors import InvalidInputError
from tripcast.mlops.governance.policy import POLICY_FILE, default_policy, load_policy
from tripcast.settings import Environment, Settings

ENVIRONMENTS = Path(__file__).resolve().parents[3] / "environments"


@pytest.mark.parametrize("env", [e.value for e in Environment])
def test_every_environment_has_a_valid_policy_naming_itself(env: str) -> None:
    policy = load_policy(ENVIRONMENTS / env / POLICY_FILE)
    assert policy.environment == env and policy.require_passing_gate


def test_production_demands_a_second_person_and_no_drift_and_local_auto_approves() -> None:
    production = load_policy(ENVIRONMENTS / "production" / POLICY_FILE)
    assert production.require_distinct_approver and production.require_no_drift
    assert not production.auto_approve_when_gate_passes
    local = load_policy(ENVIRONMENTS / "local" / POLICY_FILE)
    assert local.auto_approve_when_gate_passes and not local.require_distinct_approver


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "environment: production\nrequire_no_drift: maybe\n",
            "approval_policy.yaml: require_no_drift: Input should be a valid boolean",
        ),
        (
            "environment: production\nauto_approve: true\n",
            "approval_policy.yaml: auto_approve: Extra inputs are not permitted",
        ),
        ("require_no_drift: true\n", "approval_policy.yaml: environment: Field required"),
        ("- a\n- b\n", "expected a mapping of policy fields"),
        ("environment: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_policy_file_names_the_field_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / POLICY_FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInputError) as error:
        load_policy(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_settings_pick_the_environment_file_under_home_or_the_configured_one(tmp_path: Path) -> None:
    assert approval_policy(Settings(_env_file=None, home=tmp_path)) == default_policy("local")
    folder = tmp_path / "environments" / "local"
    folder.mkdir(parents=True)
    (folder / POLICY_FILE).write_text("environment: local\nrequire_no_drift: true\n", encoding="utf-8")
    assert approval_policy(Settings(_env_file=None, home=tmp_path)).require_no_drift
    (tmp_path / "strict.yaml").write_text("environment: local\nrequire_won_experiment: true\n", encoding="utf-8")
    chosen = approval_policy(Settings(_env_file=None, home=tmp_path, approval_policy_file=Path("strict.yaml")))
    assert chosen.require_won_experiment and not chosen.require_no_drift
    (tmp_path / "prod.yaml").write_text("environment: production\n", encoding="utf-8")
    with pytest.raises(
        InvalidInputError, match=r"prod\.yaml: environment: is .production. but TRIPCAST_ENV is .local."
    ):
        approval_policy(Settings(_env_file=None, home=tmp_path, approval_policy_file=Path("prod.yaml")))
