"""Airflow DAG: the Tripcast monthly data pipeline, one task per step (Airflow 3.x).

Each task calls the same function as ``tripcast pipeline run`` does for that step
(``tripcast.cli.pipeline_tasks.<step>``), so Airflow only schedules and retries;
all logic, idempotence and resumption live in tripcast.

tripcast is imported *inside* each task callable, never at parse time: the DAG parses in
Airflow's own light environment (``setup_env.sh``; no pandas/mlflow there), and the tasks run
in a worker whose Python has tripcast installed (see ``README.md``).

Month processed: the run's data interval start. The schedule is an explicit
``CronDataIntervalTimetable`` because Airflow 3's plain ``"@monthly"`` becomes a trigger
timetable whose interval is empty; with data intervals the run at 2021-02-01 covers January and
processes ``2021-01``. A manual run can name its month with the ``month`` param.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, Param

DAG_ID = "tripcast_monthly"
TASKS_MODULE = "tripcast.cli.pipeline_tasks"
STEPS = ("ingest", "validate", "transform", "quality", "export")

MONTH = "{{ params.month or data_interval_start.strftime('%Y-%m') }}"
ENGINE = "{{ var.value.get('tripcast_engine', 'duckdb') }}"


def tripcast_step(name: str) -> Callable[..., dict[str, Any]]:
    """The task callable for pipeline step ``name``: imports tripcast's step when the task runs.

    The signature is explicit (no ``**kwargs``) on purpose: PythonOperator passes the whole
    Airflow context to a callable that accepts ``**kwargs``, and tripcast's steps must receive
    only their own arguments.
    """

    def run(month: str, engine: str | None = None, source_dir: str | None = None) -> dict[str, Any]:
        step = getattr(importlib.import_module(TASKS_MODULE), name)
        return step(month, engine=engine or None, source_dir=source_dir or None)

    run.__name__ = run.__qualname__ = f"tripcast_{name}"
    run.__doc__ = f"Run tripcast's pipeline up to the {name!r} step ({TASKS_MODULE}.{name})."
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
    description="NYC TLC month -> validated trips -> zone features -> quality report -> sinks",
    schedule=CronDataIntervalTimetable("@monthly", timezone="UTC"),
    start_date=datetime(2021, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    params={"month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")},
    tags=["tripcast", "data"],
) as dag:
    ingest = PythonOperator(task_id="ingest", python_callable=tripcast_step("ingest"), op_kwargs={"month": MONTH})
    validate = PythonOperator(task_id="validate", python_callable=tripcast_step("validate"), op_kwargs={"month": MONTH})
    transform = PythonOperator(
        task_id="transform",
        python_callable=tripcast_step("transform"),
        op_kwargs={"month": MONTH, "engine": ENGINE},
    )
    quality = PythonOperator(task_id="quality", python_callable=tripcast_step("quality"), op_kwargs={"month": MONTH})
    export = PythonOperator(task_id="export", python_callable=tripcast_step("export"), op_kwargs={"month": MONTH})

    ingest >> validate >> transform >> quality >> export
