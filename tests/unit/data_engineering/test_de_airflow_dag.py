"""The Airflow DAG file, checked from the main venv (no Airflow here).

The real DagBag checks run in Airflow's own env (tests/integration/data_engineering/test_de_airflow_integrity.py).
Here: the file's structure, and its task-callable factory executed for real against tripcast, which is
exactly the code an Airflow worker with tripcast installed runs.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tripcast.cli import pipeline_tasks as tasks
from tripcast.data_engineering.pipeline.steps import STEPS

DAG_FILE = Path(__file__).resolve().parents[3] / "data_engineering" / "batch" / "airflow" / "tripcast_monthly.py"
STEP_NAMES = [step.name for step in STEPS]
TREE = ast.parse(DAG_FILE.read_text())


def _operators() -> list[tuple[str, str]]:
    """(task_id, step passed to ``tripcast_step``) of every PythonOperator in the file, in source order."""
    found = []
    for node in ast.walk(TREE):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "PythonOperator":
            kwargs = {k.arg: k.value for k in node.keywords}
            target = kwargs["python_callable"]
            assert isinstance(target, ast.Call) and getattr(target.func, "id", "") == "tripcast_step"
            found.append((node.lineno, kwargs["task_id"].value, target.args[0].value))  # type: ignore[attr-defined]
    return [(task_id, step) for _, task_id, step in sorted(found)]


def _tripcast_step_factory() -> Callable[[str], Callable[..., dict[str, Any]]]:
    """The DAG file's ``tripcast_step`` (and the constant it reads), compiled on its own, without Airflow."""
    wanted: list[ast.stmt] = [
        node
        for node in TREE.body
        if (isinstance(node, ast.FunctionDef) and node.name == "tripcast_step")
        or (isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TASKS_MODULE" for t in node.targets))
    ]
    assert len(wanted) == 2, "tripcast_step and TASKS_MODULE must be top-level in the DAG file"
    namespace: dict[str, Any] = {"importlib": importlib, "Any": Any, "Callable": Callable}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(DAG_FILE), "exec"), namespace)
    return namespace["tripcast_step"]


def test_dag_file_has_one_task_per_step_calling_that_step():
    operators = _operators()
    assert [task_id for task_id, _ in operators] == STEP_NAMES
    assert all(task_id == step for task_id, step in operators)
    chains = [node.value for node in ast.walk(TREE) if isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp)]
    assert [ast.unparse(chain) for chain in chains] == [" >> ".join(STEP_NAMES)]


def test_dag_file_does_not_import_tripcast_at_parse_time():
    imported = [
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in TREE.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name.startswith("tripcast")], imported


def test_task_callables_point_at_existing_steps():
    factory = _tripcast_step_factory()
    for name in STEP_NAMES:
        run = factory(name)
        module_name, _, attribute = run.tripcast_target.partition(":")  # type: ignore[attr-defined]
        assert getattr(importlib.import_module(module_name), attribute) is getattr(tasks, name)
        assert run.__name__ == f"tripcast_{name}"


def test_task_callable_runs_its_step(shared_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    validate = _tripcast_step_factory()("validate")
    # Called exactly as PythonOperator calls it: op_kwargs only (templated strings, "" for unset).
    summary = validate(month="2021-03", source_dir=str(shared_data_dir))
    assert summary["step"] == "validate" and summary["month"] == "2021-03"
    assert summary["rows"]["input"] == 83_827
    assert summary["skipped"] is False
    again = validate(month="2021-03", source_dir=str(shared_data_dir), engine="")
    assert again["skipped"] is True
