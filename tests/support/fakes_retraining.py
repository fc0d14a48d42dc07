"""In-memory fakes of the retraining ports (months, triggers, run state, live error, alerter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.domain.retraining import Alert, RetrainRun, TriggerResult
from tripcast.core.ports.retraining import Alerter, MonthPreparation, RetrainTrigger, RunStateStore, TriggerContext


class FakeMonths(MonthPreparation):
    """Months with a valid row count; ``prepare`` of an unknown month has 0 rows."""

    def __init__(self, rows: dict[Month, int]) -> None:
        self.rows = dict(rows)
        self.prepared: list[tuple[Month, str | None]] = []

    def prepare(self, month: Month, source: str | None = None) -> int:
        self.prepared.append((month, source))
        return self.rows.get(month, 0)

    def available(self, month: Month) -> bool:
        return self.rows.get(month, 0) > 0

    def newest_available(self) -> Month | None:
        return max(self.rows) if self.rows else None


class FixedTrigger(RetrainTrigger):
    def __init__(self, name: str, fired: bool) -> None:
        self.name = name
        self.fired = fired
        self.seen: list[TriggerContext] = []

    def check(self, context: TriggerContext) -> TriggerResult:
        self.seen.append(context)
        return TriggerResult(self.name, self.fired, f"{self.name} says {self.fired}", {"month": str(context.month)})


class MemoryRuns(RunStateStore):
    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], RetrainRun] = {}
        self.history: list[RetrainRun] = []

    def get(self, model: str, month: str) -> RetrainRun | None:
        return self.saved.get((model, month))

    def save(self, run: RetrainRun) -> None:
        self.saved[(run.model, run.month)] = run
        self.history.append(run)

    def runs(self, model: str, limit: int = 50) -> list[RetrainRun]:
        found = [r for (m, _), r in self.saved.items() if m == model]
        return sorted(found, key=lambda r: r.month, reverse=True)[:limit]


@dataclass(frozen=True)
class Slice:
    n: int
    rmse: float


class FakeLive:
    """Live error per version."""

    def __init__(self, errors: dict[str, Slice] | None = None) -> None:
        self.errors = dict(errors or {})

    def live_error(self, model_version: str, *, since: datetime | None = None) -> Slice | None:
        return self.errors.get(model_version)


class FakeAlerter(Alerter):
    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[Alert] = []
        self.fail = fail

    def send(self, alert: Alert) -> None:
        if self.fail:
            raise TripcastError("webhook down")
        self.sent.append(alert)
