"""Experiment definitions as written by people (YAML files, JSON over the API), checked field by field.

The pydantic model refuses unknown fields and wrong types, then the domain's own rules run
(:meth:`ExperimentDefinition.validated`: weights sum to 1, alpha, power...); every broken rule is named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.experiment import (
    GUARDRAIL_METRICS,
    Arm,
    CanaryStep,
    ExperimentDefinition,
    ExperimentMode,
    Guardrail,
)


class ArmIn(BaseModel):
    """One arm: a name, the registry version number or alias it serves, its share of traffic."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr = Field(min_length=1, max_length=64)
    model: StrictStr | int = Field(description="registry version number or alias")
    weight: float = Field(ge=0, le=1)


class CanaryStepIn(BaseModel):
    """From ``after_seconds`` on, the treatment arms together get ``treatment_share``."""

    model_config = ConfigDict(extra="forbid")
    after_seconds: float = Field(ge=0)
    treatment_share: float = Field(ge=0, le=1)


class GuardrailIn(BaseModel):
    """A metric every treatment arm must keep at or below ``limit``."""

    model_config = ConfigDict(extra="forbid")
    metric: StrictStr = Field(min_length=1)
    limit: float

    @field_validator("metric")
    @classmethod
    def _measured(cls, metric: str) -> str:
        if metric not in GUARDRAIL_METRICS:
            raise ValueError(f"{metric!r} is not measured; use {', '.join(GUARDRAIL_METRICS)}")
        return metric


class DefinitionIn(BaseModel):
    """An experiment definition (``environments/local/experiments/example_ab.yaml`` shows every field)."""

    model_config = ConfigDict(extra="forbid")
    id: StrictStr = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    model: StrictStr = Field(min_length=1, max_length=200)
    arms: list[ArmIn] = Field(min_length=2, max_length=10)
    mode: ExperimentMode = ExperimentMode.AB
    unit: StrictStr = Field(default="request_id", pattern="^(request_id|client_id)$")
    primary_metric: StrictStr = "abs_error_minutes"
    higher_is_better: bool = False
    minimum_detectable_effect: float = 0.1
    alpha: float = 0.05
    power: float = 0.8
    covariate: StrictStr | None = None
    guardrails: list[GuardrailIn] = Field(default_factory=list)
    canary_steps: list[CanaryStepIn] = Field(default_factory=list)
    description: str = ""

    def to_domain(self) -> ExperimentDefinition:
        """The domain definition, or InvalidInputError naming every rule it breaks."""
        return ExperimentDefinition(
            experiment_id=self.id,
            model_name=self.model,
            arms=tuple(Arm(a.name, str(a.model), a.weight) for a in self.arms),
            mode=self.mode,
            unit=self.unit,
            primary_metric=self.primary_metric,
            higher_is_better=self.higher_is_better,
            minimum_detectable_effect=self.minimum_detectable_effect,
            alpha=self.alpha,
            power=self.power,
            covariate=self.covariate,
            guardrails=tuple(Guardrail(g.metric, g.limit) for g in self.guardrails),
            canary_steps=tuple(CanaryStep(s.after_seconds, s.treatment_share) for s in self.canary_steps),
            description=self.description,
        ).validated()


def parse_definition(data: object) -> ExperimentDefinition:
    """A definition from parsed YAML/JSON, or InvalidInputError naming each bad field."""
    if not isinstance(data, dict):
        raise InvalidInputError([FieldProblem("definition", "must be a mapping of fields")])
    try:
        return DefinitionIn.model_validate(data).to_domain()
    except ValidationError as exc:
        raise InvalidInputError(
            [
                FieldProblem(".".join(str(p) for p in error["loc"]) or "definition", str(error["msg"]))
                for error in exc.errors()
            ]
        ) from None


def read_definition(path: Path) -> ExperimentDefinition:
    """A definition from a YAML (or JSON) file."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError([FieldProblem("FILE", f"cannot read {path}: {exc.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError([FieldProblem("FILE", f"{path} is not valid YAML: {exc}")]) from None
    return parse_definition(data)


def definition_dict(definition: ExperimentDefinition) -> dict[str, Any]:
    """The definition as the fields :func:`parse_definition` reads (stored as JSON by the SQL store)."""
    return {
        "id": definition.experiment_id,
        "model": definition.model_name,
        "arms": [{"name": a.name, "model": a.model_ref, "weight": a.weight} for a in definition.arms],
        "mode": definition.mode.value,
        "unit": definition.unit,
        "primary_metric": definition.primary_metric,
        "higher_is_better": definition.higher_is_better,
        "minimum_detectable_effect": definition.minimum_detectable_effect,
        "alpha": definition.alpha,
        "power": definition.power,
        "covariate": definition.covariate,
        "guardrails": [{"metric": g.metric, "limit": g.limit} for g in definition.guardrails],
        "canary_steps": [
            {"after_seconds": s.after_seconds, "treatment_share": s.treatment_share} for s in definition.canary_steps
        ],
        "description": definition.description,
    }
