"""Task callables of the ``tripcast_retrain`` Airflow DAG (and any other scheduler): prepare, retrain, guard.

Each bootstraps, then calls the same use case as ``tripcast retrain``; each returns a small JSON-serialisable
summary (for XCom). Retries are safe: the data pipeline skips completed steps, a decided month returns its
recorded decision, and a run that died after training resumes at the evaluation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tripcast.bootstrap import Tripcast, bootstrap, load_settings
from tripcast.core.domain.month import Month

ACTOR = "airflow"
#: The DAG's tasks, in order (each is a function of this module).
TASKS = ("prepare", "retrain", "guard")


def _root(source_dir: str | None) -> Tripcast:
    return bootstrap(load_settings(), local_source=Path(source_dir) if source_dir else None, allow_download=False)


def prepare(month: str, source_dir: str | None = None) -> dict[str, Any]:
    """Ingest and validate the month (the monthly pipeline up to ``validate``)."""
    report = _root(source_dir).data.pipeline.run(month, stop_after="validate", actor=ACTOR)
    step = report.step("validate")
    return {"month": str(report.month), "skipped": step.skipped, "rows": step.rows, "seconds": round(step.seconds, 3)}


def retrain(month: str, source_dir: str | None = None, force: bool = False) -> dict[str, Any]:
    """Triggers -> challenger on the window -> champion and challenger on the month -> decision."""
    outcome = _root(source_dir).retraining.run(Month.parse(month), force=force, actor=ACTOR)
    run = outcome.run
    return {
        "month": run.month,
        "decision": run.decision,
        "detail": run.decision_detail,
        "triggers": [t.name for t in run.fired],
        "window": list(run.window),
        "challenger": run.challenger_version,
        "champion": run.champion_version,
        "reused": outcome.reused,
        "seconds": round(outcome.seconds, 3),
    }


def guard(month: str | None = None, source_dir: str | None = None) -> dict[str, Any]:
    """The live-error guardrail: roll the champion back (and alert) when it does worse than the previous one."""
    verdict = _root(source_dir).retraining.guard(actor=f"{ACTOR}-guardrail")
    return {**verdict.to_dict(), "month": month}
