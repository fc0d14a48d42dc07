"""A version's lineage: its training run on the tracking server, and its alias moves in the audit trail."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Final

from tripcast.core.domain.model_card import AliasChange, DatasetRecord, TrainingRecord
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.model_card import AliasHistory, TrainingRecords
from tripcast.core.services.promotion import MOVE_ABANDONED, MOVE_STARTED
from tripcast.mlops.tracking.client import mlflow_client

#: MLflow's input tag naming a dataset's role in the run (training, validation, testing).
CONTEXT_TAG: Final = "mlflow.data.context"
#: How many of a model's audit events are read for its alias history.
MAX_ALIAS_EVENTS: Final = 10_000


class MlflowTrainingRecords(TrainingRecords):
    """Reads a run's params, logged datasets and experiment from MLflow."""

    def __init__(self, tracking_uri: str) -> None:
        self._client = mlflow_client(tracking_uri)

    def training_record(self, run_id: str) -> TrainingRecord:
        run = self._client.get_run(run_id)
        datasets = []
        for entry in run.inputs.dataset_inputs if run.inputs else ():
            tags = {tag.key: tag.value for tag in entry.tags or ()}
            datasets.append(
                DatasetRecord(
                    name=entry.dataset.name,
                    digest=entry.dataset.digest,
                    context=tags.get(CONTEXT_TAG, ""),
                    rows=_row_count(entry.dataset.profile),
                )
            )
        return TrainingRecord(
            run_id=run_id,
            run_name=run.info.run_name or "",
            experiment_id=str(run.info.experiment_id),
            params=dict(run.data.params),
            datasets=tuple(datasets),
        )


def _row_count(profile: str | None) -> int | None:
    """Rows from a logged dataset's profile (``{"num_rows": ...}`` for pandas datasets)."""
    try:
        rows = json.loads(profile or "{}").get("num_rows")
    except (ValueError, AttributeError):
        return None
    return int(rows) if isinstance(rows, int | float) else None


class AuditAliasHistory(AliasHistory):
    """Alias moves as the audit trail recorded them: every finished move (promotion, refusal, rollback...)
    whose details name the alias and its from/to versions. Started and abandoned moves are not changes."""

    def __init__(self, audit: AuditLog, skipped_actions: Collection[str] = (MOVE_STARTED, MOVE_ABANDONED)) -> None:
        self.audit = audit
        self.skipped_actions = frozenset(skipped_actions)

    def changes(self, name: str) -> list[AliasChange]:
        events = self.audit.events(subject_prefix=f"model:{name}/", limit=MAX_ALIAS_EVENTS)
        moves = [
            AliasChange(
                at=e.at,
                actor=e.actor,
                action=e.action,
                alias=e.details["alias"],
                version=e.details["to"],
                previous=e.details.get("from", ""),
                reason=e.details.get("promotion.reason", e.details.get("reason", "")),
            )
            for e in events
            if e.action not in self.skipped_actions and "alias" in e.details and "to" in e.details
        ]
        # The trail reads newest first; reversed, a stable sort keeps same-instant moves in recorded order.
        return sorted(reversed(moves), key=lambda change: change.at)
