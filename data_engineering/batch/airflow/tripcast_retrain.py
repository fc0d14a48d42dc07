"""Airflow DAG: automated retraining of the Tripcast model, monthly (Airflow 3.x).

prepare (ingest + validate the month) -> retrain (triggers, challenger on the sliding window, champion and
challenger on the month, gate, decision per the environment's retraining policy) -> guard (the live-error
guardrail). Each task calls ``tripcast.cli.retrain_tasks.<task>``, the same use case as ``tripcast retrain``,
so Airflow only schedules and retries; idempotence (a decided month returns its decision) and resumption (a
run killed after training resumes at the evaluation) live in tripcast.

tripcast is imported *inside* each task callable, never at parse time, as in ``tripcast_monthly.py``.
Month: the run's data interval start (the month that just ended), or the ``month`` param of a manual run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, Param

DAG_ID = "tripcast_retrain"
TASKS_MODULE = "tripcast.cli.retrain_tasks"
TASKS = ("prepare", "retrain", "guard")

MONTH = "{{ params.month or data_interval_start.strftime('%Y-%m') }}"
SOURCE_DIR = "{{ var.value.get('tripcast_source_dir', '') }}"


def tripcast_task(name: str) -> Callable[..., dict[str, Any]]:
    """The task callable for retraining task ``name``: imports tripcast's callable when the task runs.

    Explicit signature (no ``**kwargs``): PythonOperator would otherwise pass the whole Airflow context.
    """

    def run(month: str, source_dir: str | None = None) -> dict[str, Any]:
        task = getattr(importlib.import_module(TASKS_MODULE), name)
        return task(month, source_dir=source_dir or None)

    run.__name__ = run.__qualname__ = f"tripcast_{name}"
    run.__doc__ = f"Run tripcast's retraining task {name!r} ({TASKS_MODULE}.{name})."
    run.tripcast_target = f"{TASKS_MODULE}:{name}"  # type: ignore[attr-defined]  # checked by the integrity test
    return run


default_args = {
    "owner": "tripcast",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
}

with DAG(
    dag_id=DAG_ID,
    description="New month -> triggers -> challenger on the recent window -> decision -> live-error guardrail",
    schedule=CronDataIntervalTimetable("@monthly", timezone="UTC"),
    start_date=datetime(2021, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    params={"month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")},
    tags=["tripcast", "ml", "retraining"],
) as dag:
    kwargs = {"month": MONTH, "source_dir": SOURCE_DIR}
    prepare = PythonOperator(task_id="prepare", python_callable=tripcast_task("prepare"), op_kwargs=kwargs)
    retrain = PythonOperator(task_id="retrain", python_callable=tripcast_task("retrain"), op_kwargs=kwargs)
    guard = PythonOperator(task_id="guard", python_callable=tripcast_task("guard"), op_kwargs=kwargs)
    prepare >> retrain >> guard
