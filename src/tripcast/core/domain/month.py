"""A calendar month, the unit in which TLC publishes trips."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from tripcast.core.domain.errors import FieldProblem, InvalidInputError

_MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month such as 2021-01."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidInputError([FieldProblem("month", f"month number {self.month} is not in 1-12")])
        if not 2000 <= self.year <= 2100:
            raise InvalidInputError([FieldProblem("month", f"year {self.year} is not in 2000-2100")])

    @classmethod
    def parse(cls, text: str, field: str = "month") -> Month:
        """Parse ``YYYY-MM``; the error names ``field`` and shows the expected form."""
        match = _MONTH_PATTERN.match(text.strip())
        if match is None:
            raise InvalidInputError(
                [FieldProblem(field, f"{text!r} is not a month in the form YYYY-MM (e.g. 2021-01)")]
            )
        try:
            return cls(int(match.group(1)), int(match.group(2)))
        except InvalidInputError as exc:
            raise InvalidInputError([FieldProblem(field, f"{text!r}: {exc.problems[0].problem}")]) from exc

    def next(self) -> Month:
        """The month after this one."""
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        """The month before this one."""
        return Month(self.year - (1 if self.month == 1 else 0), 12 if self.month == 1 else self.month - 1)

    @property
    def start(self) -> datetime:
        """Midnight on the first day of the month."""
        return datetime(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        """Midnight on the first day of the next month (exclusive bound)."""
        return self.next().start

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside this month."""
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
