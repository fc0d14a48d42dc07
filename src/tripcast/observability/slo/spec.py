"""The SLO spec: sloth's ``prometheus/v1`` format, so one file serves Tripcast's generator and sloth alike.

Only what Tripcast generates from is modelled (events or raw SLIs, page and ticket alerts); an unknown key
is an error naming it, as is any bad value, so a typo never silently drops an alert.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.ports.slo import SloCatalog, SloObjective

WINDOW_PLACEHOLDER = "{{.window}}"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventsSli(_Strict):
    """Bad events over all events, both rates over ``{{.window}}``."""

    error_query: str = Field(min_length=1)
    total_query: str = Field(min_length=1)


class RawSli(_Strict):
    """An error ratio computed directly over ``{{.window}}``."""

    error_ratio_query: str = Field(min_length=1)


class Sli(_Strict):
    events: EventsSli | None = None
    raw: RawSli | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Sli:
        if (self.events is None) == (self.raw is None):
            raise ValueError("give exactly one of 'events' or 'raw'")
        queries = [self.events.error_query, self.events.total_query] if self.events else [self.raw.error_ratio_query]  # type: ignore[union-attr]
        if any(WINDOW_PLACEHOLDER not in query for query in queries):
            raise ValueError(f"every query must use {WINDOW_PLACEHOLDER} as its range")
        for query in queries:
            problem = unbalanced(query.replace(WINDOW_PLACEHOLDER, "5m"))
            if problem:
                raise ValueError(f"query does not parse as PromQL ({problem}): {query}")
        return self


_CLOSING = {")": "(", "]": "[", "}": "{"}


def unbalanced(query: str) -> str:
    """Why ``query`` cannot parse as PromQL for want of a bracket or a quote ("" when they balance).

    Not a PromQL parser (promtool checks the generated rules in CI); it catches the slips that otherwise
    surface only as a rule Prometheus refuses to load, with the spec reported valid.
    """
    stack: list[str] = []
    quote = ""
    for position, char in enumerate(query):
        if quote:
            if char == quote and query[position - 1] != "\\":
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in _CLOSING and (not stack or stack.pop() != _CLOSING[char]):
            return f"unexpected {char!r} at character {position + 1}"
    if quote:
        return f"unclosed {quote}"
    return f"unclosed {stack[-1]!r}" if stack else ""


class AlertSpec(_Strict):
    disable: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class Alerting(_Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    page_alert: AlertSpec = Field(default_factory=AlertSpec)
    ticket_alert: AlertSpec = Field(default_factory=AlertSpec)


class Slo(_Strict):
    name: str = Field(pattern=NAME.pattern)
    objective: float = Field(gt=0, lt=100, description="percent of good events, e.g. 99.9")
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    sli: Sli
    alerting: Alerting


class SloSpec(_Strict):
    version: Literal["prometheus/v1"]
    service: str = Field(pattern=NAME.pattern)
    labels: dict[str, str] = Field(default_factory=dict)
    slos: list[Slo] = Field(min_length=1)
    period_days: int = Field(default=30, ge=1, le=90, description="SLO period (sloth: 30 days)")

    @model_validator(mode="after")
    def _unique_names(self) -> SloSpec:
        names = [slo.name for slo in self.slos]
        if len(set(names)) != len(names):
            raise ValueError(f"slo names must be unique, got {names}")
        return self


def load_slo_spec(path: Path) -> SloSpec:
    """Read and validate a spec; InvalidInputError names each bad field (``slos.0.objective``)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InvalidInputError([FieldProblem(str(path), f"cannot read the SLO spec: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        raise InvalidInputError([FieldProblem(str(path), f"not valid YAML: {exc}")]) from None
    try:
        return SloSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [
            FieldProblem(".".join(str(part) for part in error["loc"]) or str(path), error["msg"])
            for error in exc.errors()
        ]
        raise InvalidInputError(problems) from None


class SpecSloCatalog(SloCatalog):
    """The objectives of a spec file, read on each call (an edited file counts at once)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def objectives(self) -> list[SloObjective]:
        spec = load_slo_spec(self.path)
        return [
            SloObjective(spec.service, slo.name, slo.objective / 100, spec.period_days, slo.description)
            for slo in spec.slos
        ]
