"""Errors the domain raises. Each names the field at fault and the problem."""

from __future__ import annotations

from dataclasses import dataclass


class TripcastError(Exception):
    """Base class of every error a user can cause; the CLI prints these without a traceback."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One broken rule: which field, and what is wrong with it."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class InvalidInputError(TripcastError, ValueError):
    """Input broke one or more field rules; ``problems`` lists each of them."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class NotFoundError(TripcastError, LookupError):
    """A named thing (model, alias, month file, dataset) does not exist."""


class PromotionRefusedError(TripcastError):
    """The promotion gate refused the candidate."""


class SourceUnavailableError(TripcastError):
    """An ingestion source (database, API, stream server) could not be reached or read; nothing was landed."""


class ModelNotLoadedError(TripcastError):
    """No model version is served yet (the alias is unset or every load so far failed)."""
