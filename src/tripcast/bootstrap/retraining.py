"""Wiring of automated retraining (``tc.retraining``): the environment's policy, the run-state store in the
registry's database, the four triggers, month preparation through the validation service, the promotion
gate, approvals, rollback and feedback of the root, and the guardrail's alerter.

Taxi specifics stay out of the use case: months come from TLC file names here, nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tripcast.core.domain.approval import DriftCheck
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.month import Month
from tripcast.core.domain.retraining import RetrainingPolicy
from tripcast.core.ports.locks import month_lock
from tripcast.core.ports.retraining import MonthPreparation, RetrainTrigger
from tripcast.core.services.approval import GateThroughPromotion
from tripcast.core.services.experiment_lifecycle import ExperimentLifecycle
from tripcast.core.services.retraining import Retraining

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast
    from tripcast.settings import Settings


def policy_path(settings: Settings) -> Path | None:
    """The file the settings name, else ``environments/<env>/retraining_policy.yaml`` under the home."""
    from tripcast.mlops.policy_files import policy_path as environment_policy_path
    from tripcast.mlops.retraining.policy import POLICY_FILE

    return environment_policy_path(settings.home, settings.env.value, POLICY_FILE, settings.retraining_policy_file)


def retraining_policy(settings: Settings) -> RetrainingPolicy:
    """The environment's policy: its file, or the environment's built-in default."""
    from tripcast.mlops.policy_files import environment_policy
    from tripcast.mlops.retraining.policy import default_policy, load_policy

    return environment_policy(policy_path(settings), settings.env.value, default_policy, load_policy)


class ValidatedMonths(MonthPreparation):
    """Months made processed by the validation service (the pipeline's ingest + validate), under the month lock."""

    def __init__(self, tc: Tripcast) -> None:
        self.tc = tc
        #: Files given for a month (``--source FILE``), which the drift trigger reads too.
        self.files: dict[Month, Path] = {}

    def prepare(self, month: Month, source: str | None = None) -> int:
        tc = self.tc
        if source is not None:
            self.files[month] = Path(source)
        # A month processed with no valid rows is validated again: a corrected file then counts.
        if not tc.store.has_processed(month) or self.rows(month) == 0:
            validation = tc.data.validation
            if source is not None:  # a file for this month only: its own source, the root's store and audit
                from tripcast.bootstrap import bootstrap

                local = bootstrap(tc.settings, local_source=Path(source), allow_download=False, clock=tc.clock)
                local.audit = tc.audit  # one audit trail per command
                validation = local.data.validation
            with tc.locks.hold(month_lock(tc.settings.service, month), f"tripcast retrain: validate {month}"):
                validation.validate(month, actor="tripcast-retrain")
        return self.rows(month)

    def rows(self, month: Month) -> int:
        """Valid rows of a processed month (from the Parquet footer: no data read); 0 when not processed."""
        import pyarrow.parquet as pq

        path = self.tc.store.processed_path(month)
        return int(pq.ParquetFile(path).metadata.num_rows) if path.is_file() else 0

    def _folders(self) -> list[Path]:
        source = self.tc.source.local_source
        folders = [source] if source is not None and source.is_dir() else []
        return [*folders, self.tc.settings.raw_path]

    def raw_file(self, month: Month) -> Path | None:
        """The month's raw file on hand: given with ``--source``, in the source folder or in ``raw_path``."""
        from tripcast.data_engineering.tlc.files import FILE_EXTENSIONS, tlc_file_name

        if month in self.files:
            return self.files[month]
        service = self.tc.settings.service
        found = [f / tlc_file_name(service, month, ext) for f in self._folders() for ext in FILE_EXTENSIONS]
        return next((path for path in found if path.is_file()), None)

    def available(self, month: Month) -> bool:
        return self.tc.store.has_processed(month) or self.raw_file(month) is not None

    def newest_available(self) -> Month | None:
        from tripcast.data_engineering.tlc.files import month_from_file_name

        service = self.tc.settings.service
        folders = [*self._folders(), self.tc.store.processed_path(Month(2021, 1)).parent]
        months = {
            month
            for folder in folders
            if folder.is_dir()
            for path in folder.glob(f"{service}_tripdata_*")
            if (month := month_from_file_name(path)) is not None
        }
        return max(months) if months else None


class DriftOfMonth:
    """Dataset drift of a month's file against a version's reference profile (the existing checker, ``tc.drift``)."""

    def __init__(self, tc: Tripcast, months: ValidatedMonths) -> None:
        self.tc = tc
        self.months = months

    def check(self, candidate: ModelVersion, month: str) -> DriftCheck:
        from tripcast.core.services.drift import CheckRequest

        parsed = Month.parse(month)
        path = self.months.raw_file(parsed)
        current = str(path) if path is not None else month
        request = CheckRequest(current=current, reference=candidate.version, month=parsed, predictions=False)
        report = self.tc.drift.check(request).report
        columns = ", ".join(report.drifted_columns) or "none"
        return DriftCheck(report.dataset_drift, f"drifted columns: {columns} ({report.n_current:,} rows)")


def triggers(tc: Tripcast, policy: RetrainingPolicy, months: ValidatedMonths) -> list[RetrainTrigger]:
    """The triggers the policy enables."""
    from tripcast.mlops.retraining.triggers import DriftTrigger, LiveErrorTrigger, NewDataTrigger, ScheduleTrigger

    chosen: list[RetrainTrigger] = []
    if policy.drift_trigger:
        chosen.append(DriftTrigger(DriftOfMonth(tc, months)))
    if policy.live_error_trigger:
        live = tc.feedback.service
        chosen.append(
            LiveErrorTrigger(live, max_ratio=policy.live_error_max_ratio, min_rows=policy.live_error_min_rows)
        )
    if policy.schedule_trigger:
        chosen.append(ScheduleTrigger())
    if policy.new_data_trigger:
        chosen.append(NewDataTrigger(months.rows, min_rows=policy.new_data_min_rows))
    return chosen


def build_retraining(tc: Tripcast) -> Retraining:
    """The retraining use case over the root's services."""
    from tripcast.bootstrap import tracer_of
    from tripcast.mlops.retraining.store import SqlRunStateStore
    from tripcast.observability.alerting.alertmanager import AlertmanagerGateway
    from tripcast.observability.alerting.retraining import AlertmanagerAlerter

    policy = retraining_policy(tc.settings)
    months = ValidatedMonths(tc)
    promotion = tc.ml.promotion
    has_ledger = tc.ml.ledger is not None
    return Retraining(
        model_name=tc.settings.model_name,
        policy=policy,
        data=months,
        triggers=triggers(tc, policy, months),
        runs=SqlRunStateStore(tc.tracking_store_uri),
        training=tc.ml.training,
        gate=GateThroughPromotion(promotion),
        promotion=promotion,
        approvals=lambda: tc.approvals,
        rollback=(lambda: tc.ml.rollback) if has_ledger else None,
        live=tc.feedback.service,
        alerter=AlertmanagerAlerter(AlertmanagerGateway(tc.settings.alertmanager_url)),
        locks=tc.registry_locks,
        audit=tc.audit,
        clock=tc.clock,
        experiments=lambda: ExperimentLifecycle(tc.experiments.service),  # decision `experiment` (issue #14)
        tracer=tracer_of(tc.settings),
    )
