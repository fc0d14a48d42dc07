"""Experiment definitions from YAML/JSON: the examples parse, bad fields are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.experiment import ExperimentMode, bucket
from tripcast.mlops.ab_testing.definitions import definition_dict, parse_definition, read_definition

EXAMPLES = Path(__file__).resolve().parents[3] / "environments" / "local" / "experiments"
GOOD = {
    "id": "ab-1",
    "model": "trip-duration",
    "arms": [{"name": "control", "model": "champion", "weight": 0.5}, {"name": "t", "model": 2, "weight": 0.5}],
}


@pytest.mark.parametrize("name", ["example_ab.yaml", "example_shadow.yaml", "example_canary.yaml"])
def test_the_examples_parse_and_round_trip(name: str) -> None:
    definition = read_definition(EXAMPLES / name)
    assert parse_definition(definition_dict(definition)) == definition
    assert definition.control.model_ref == "champion"


def test_the_canary_example_has_its_steps() -> None:
    canary = read_definition(EXAMPLES / "example_canary.yaml")
    assert canary.mode is ExperimentMode.CANARY
    assert [s.treatment_share for s in canary.canary_steps] == [0.05, 0.25, 0.5]


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"arms": [{"name": "a", "model": "1", "weight": 0.5}, {"name": "b", "model": "2", "weight": 0.4}]},
         "arms.weight", "weights must sum to 1"),
        ({"mode": "bandit"}, "mode", "Input should be"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"alpha": 0.7}, "alpha", "must be in (0, 0.5)"),
        ({"id": 12}, "id", "Input should be a valid string"),
        ({"arms": [{"name": "a", "model": "1", "weight": 1.0}]}, "arms", "at least 2"),
    ],
)  # fmt: skip
def test_each_bad_field_is_named(change: dict[str, object], field: str, problem: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_definition({**GOOD, **change})
    assert any(p.field == field and problem in p.problem for p in refused.value.problems), refused.value.problems


def test_a_unit_id_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="unit_id: must be a string, got int"):
        bucket("ab-1", 42)  # type: ignore[arg-type]


def test_a_file_that_is_not_yaml_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "x.yaml"
    broken.write_text("id: [unclosed\n")
    with pytest.raises(InvalidInputError, match="is not valid YAML"):
        read_definition(broken)
    with pytest.raises(InvalidInputError, match="cannot read"):
        read_definition(tmp_path / "missing.yaml")
