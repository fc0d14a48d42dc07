"""The four retraining triggers: dataset drift, live-error decay, schedule, new data volume.

Each says whether it fired, why (one sentence) and the numbers behind it. Generic: a model, months,
row counts and RMSE; the drift verdict and the live error come through their ports.
"""

from __future__ import annotations

from collections.abc import Callable

from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.month import Month
from tripcast.core.domain.retraining import TriggerResult
from tripcast.core.ports.approval import DriftEvidence
from tripcast.core.ports.retraining import LiveErrors, RetrainTrigger, TriggerContext


class DriftTrigger(RetrainTrigger):
    """Fires when the month drifted against the champion's reference profile (the existing drift checker)."""

    name = "drift"

    def __init__(self, drift: DriftEvidence) -> None:
        self.drift = drift

    def check(self, context: TriggerContext) -> TriggerResult:
        if context.champion is None:
            return TriggerResult(self.name, False, "no champion to compare the month with")
        try:
            verdict = self.drift.check(context.champion, str(context.month))
        except TripcastError as exc:
            return TriggerResult(self.name, False, f"drift not assessed: {exc}")
        state = "drifted" if verdict.drifted else "did not drift"
        why = f"{context.month} {state} against v{context.champion.version}'s reference: {verdict.detail}"
        return TriggerResult(self.name, verdict.drifted, why, {"dataset_drift": verdict.drifted})


class LiveErrorTrigger(RetrainTrigger):
    """Fires when the champion's live RMSE exceeds its validation RMSE by more than ``max_ratio``."""

    name = "live_error"

    def __init__(self, live: LiveErrors, *, max_ratio: float, min_rows: int) -> None:
        self.live = live
        self.max_ratio = max_ratio
        self.min_rows = min_rows

    def check(self, context: TriggerContext) -> TriggerResult:
        champion = context.champion
        if champion is None:
            return TriggerResult(self.name, False, "no champion: no live error")
        validation = champion.tags.get("val_rmse") or champion.metrics.get("val_rmse")
        live = self.live.live_error(champion.version)
        if live is None or live.n < self.min_rows:
            seen = live.n if live is not None else 0
            return TriggerResult(
                self.name, False, f"v{champion.version} has {seen} labeled predictions (< {self.min_rows})"
            )
        if not validation:
            return TriggerResult(self.name, False, f"v{champion.version} has no validation RMSE to compare with")
        ratio = live.rmse / float(validation)
        evidence = {"live_rmse": live.rmse, "validation_rmse": float(validation), "ratio": ratio, "n": live.n}
        fired = ratio > self.max_ratio
        relation = "above" if fired else "within"
        why = (
            f"v{champion.version} live RMSE {live.rmse:.4g} / validation RMSE {float(validation):.4g} "
            f"= {ratio:.2f}, {relation} {self.max_ratio:.2f}"
        )
        return TriggerResult(self.name, fired, why, evidence)


class ScheduleTrigger(RetrainTrigger):
    """Fires for a month newer than the last retrained one (each new month is retrained once)."""

    name = "schedule"

    def check(self, context: TriggerContext) -> TriggerResult:
        last = context.last_retrained
        if last is None:
            return TriggerResult(self.name, True, f"{context.month} arrived and no month was retrained yet")
        fired = context.month > last
        state = "is newer than" if fired else "is not newer than"
        return TriggerResult(
            self.name, fired, f"{context.month} {state} the last retrained month {last}", {"last": str(last)}
        )


class NewDataTrigger(RetrainTrigger):
    """Fires when the months after the last retrained one hold at least ``min_rows`` valid rows."""

    name = "new_data"

    def __init__(self, rows_of: Callable[[Month], int], *, min_rows: int) -> None:
        self.rows_of = rows_of
        self.min_rows = min_rows

    def check(self, context: TriggerContext) -> TriggerResult:
        months = [context.month]
        last = context.last_retrained
        while last is not None and months[0].previous() > last:
            months.insert(0, months[0].previous())
        rows = context.rows_valid + sum(self.rows_of(m) for m in months[:-1])
        fired = rows >= self.min_rows
        since = f"since {last}" if last is not None else "so far"
        why = f"{rows:,} new valid rows {since} ({months[0]}..{months[-1]}), threshold {self.min_rows:,}"
        return TriggerResult(self.name, fired, why, {"rows": rows, "months": [str(m) for m in months]})
