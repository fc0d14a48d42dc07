"""The retraining DAG file, checked from the main venv (no Airflow here; the DagBag checks run in Airflow's own
env in tests/integration/data_engineering/test_de_airflow_integrity.py): its tasks and chain, no tripcast at
parse time, and its task-callable factory resolving to ``tripcast.cli.retrain_tasks``."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tripcast.cli import retrain_tasks

DAG_FILE = Path(__file__).resolve().parents[3] / "data_engineering" / "batch" / "airflow" / "tripcast_retrain.py"
TREE = ast.parse(DAG_FILE.read_text())


def _factory() -> Callable[[str], Callable[..., dict[str, Any]]]:
    wanted: list[ast.stmt] = [
        node
        for node in TREE.body
        if (isinstance(node, ast.FunctionDef) and node.name == "tripcast_task")
        or (isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TASKS_MODULE" for t in node.targets))
    ]
    assert len(wanted) == 2, "tripcast_task and TASKS_MODULE must be top-level in the DAG file"
    namespace: dict[str, Any] = {"importlib": importlib, "Any": Any, "Callable": Callable}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(DAG_FILE), "exec"), namespace)
    return namespace["tripcast_task"]


def test_dag_chains_prepare_retrain_guard_and_imports_no_tripcast_at_parse_time() -> None:
    operators = [
        node
        for node in ast.walk(TREE)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "PythonOperator"
    ]
    task_ids = [next(k.value.value for k in op.keywords if k.arg == "task_id") for op in operators]  # type: ignore[attr-defined]
    assert task_ids == list(retrain_tasks.TASKS) == ["prepare", "retrain", "guard"]
    chains = [
        ast.unparse(n.value) for n in ast.walk(TREE) if isinstance(n, ast.Expr) and isinstance(n.value, ast.BinOp)
    ]
    assert chains == ["prepare >> retrain >> guard"]
    imported = [
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in TREE.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name.startswith("tripcast")]


def test_task_callables_resolve_to_the_retrain_tasks_and_pass_only_their_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factory = _factory()
    calls: list[tuple[str, str, str | None]] = []
    for name in retrain_tasks.TASKS:
        run = factory(name)
        module_name, _, attribute = run.tripcast_target.partition(":")  # type: ignore[attr-defined]
        assert getattr(importlib.import_module(module_name), attribute) is getattr(retrain_tasks, name)
        monkeypatch.setattr(
            retrain_tasks, name, lambda month, source_dir=None, _n=name: calls.append((_n, month, source_dir)) or {}
        )
        run(month="2021-03", source_dir="")  # as PythonOperator calls it: templated strings, "" for unset
    assert calls == [("prepare", "2021-03", None), ("retrain", "2021-03", None), ("guard", "2021-03", None)]
