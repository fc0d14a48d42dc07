"""The pipeline run request as a pydantic model: every entry point's arguments are checked the same way."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.month import Month

StepName = Literal["ingest", "validate", "transform", "quality", "export"]
EngineName = Literal["duckdb", "spark"]


class PipelineRequest(BaseModel):
    """What one run of the monthly pipeline is asked to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    month: str = Field(description="Month to process, YYYY-MM")
    engine: EngineName = Field(description="Transformation engine")
    force: bool = Field(default=False, description="Rerun steps that are already complete")
    stop_after: StepName | None = Field(default=None, description="End the run after this step")

    @field_validator("month")
    @classmethod
    def _a_month(cls, value: str) -> str:
        """The one month parser of the core, so every entry point says the same (and shows YYYY-MM)."""
        try:
            return str(Month.parse(value))
        except InvalidInputError as exc:
            raise ValueError(exc.problems[0].problem) from None

    @classmethod
    def parse(
        cls, month: Month | str, engine: str, *, force: bool = False, stop_after: str | None = None
    ) -> PipelineRequest:
        """The request, or one :class:`InvalidInputError` naming every bad field and what is wrong with it."""
        try:
            return cls.model_validate({"month": str(month), "engine": engine, "force": force, "stop_after": stop_after})
        except ValidationError as exc:
            problems = [
                FieldProblem(".".join(str(part) for part in error["loc"]) or "pipeline", _message(error))
                for error in exc.errors()
            ]
            raise InvalidInputError(problems) from None

    @property
    def month_value(self) -> Month:
        return Month.parse(self.month)


def _message(error: ErrorDetails) -> str:
    if error["type"] == "value_error":  # our own validators already name the input
        return str(error["ctx"]["error"])
    return f"{error['input']!r}: {error['msg']}"
