"""Airflow DAG: the Tripcast monthly data pipeline, one task per step.

Each task calls the same functions as ``tripcast pipeline run`` (``tripcast.data_engineering.pipeline.tasks``),
so Airflow only schedules and retries; all logic, idempotence and resumption live in tripcast. The
month processed is the DAG run's data interval (``@monthly``: the run starting 2021-02-01 processes 2021-01).

Install into the Airflow environment with ``pip install -r requirements.txt`` (see that file).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator

from tripcast.data_engineering.pipeline import tasks

MONTH = "{{ data_interval_start.strftime('%Y-%m') }}"
ENGINE = "{{ var.value.get('tripcast_engine', 'duckdb') }}"

default_args = {
    "owner": "tripcast",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
}

with DAG(
    dag_id="tripcast_monthly",
    description="NYC TLC month -> validated trips -> zone features -> quality report -> sinks",
    schedule="@monthly",
    start_date=datetime(2021, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["tripcast", "data"],
) as dag:
    ingest = PythonOperator(task_id="ingest", python_callable=tasks.ingest, op_kwargs={"month": MONTH})
    validate = PythonOperator(task_id="validate", python_callable=tasks.validate, op_kwargs={"month": MONTH})
    transform = PythonOperator(
        task_id="transform", python_callable=tasks.transform, op_kwargs={"month": MONTH, "engine": ENGINE}
    )
    quality = PythonOperator(task_id="quality", python_callable=tasks.quality, op_kwargs={"month": MONTH})
    export = PythonOperator(task_id="export", python_callable=tasks.export, op_kwargs={"month": MONTH})

    ingest >> validate >> transform >> quality >> export
