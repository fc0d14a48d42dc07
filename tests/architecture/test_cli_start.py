"""``tripcast --help`` starts fast: importing the CLI loads none of the heavy libraries.

Each command imports what it needs inside its function or through the composition root. TEMPORARY maps a
heavy library still loaded today to the command module that loads it; an entry whose library is no longer
loaded fails the test, so the list only shrinks. Timing lives in
performance/benchmarks/cli_start/bench_cli_start.py (a benchmark, not a timed test).
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "pandas",
    "numpy",
    "pyarrow",
    "mlflow",
    "sqlalchemy",
    "prometheus_client",
    "scipy",
    "matplotlib",
    "lightgbm",
    "fastapi",
    "redis",  # imports opentelemetry's SDK on import: ~0.35 s here
)

#: heavy library -> the command module that still imports it at module level (none left; may only shrink).
TEMPORARY: dict[str, str] = {}


def heavy_modules_loaded_by(module: str) -> list[str]:
    """The HEAVY libraries in ``sys.modules`` after importing ``module`` in a fresh interpreter."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_heavy_library():
    loaded = heavy_modules_loaded_by("tripcast.cli.app")
    unexpected = [name for name in loaded if name not in TEMPORARY]
    assert not unexpected, f"`tripcast --help` imports {unexpected}: import them inside the command instead"


def test_the_temporary_list_only_shrinks():
    loaded = heavy_modules_loaded_by("tripcast.cli.app")
    fixed = sorted(name for name in TEMPORARY if name not in loaded)
    assert not fixed, f"remove from TEMPORARY (no longer loaded by the CLI): {fixed}"


def test_the_check_sees_a_heavy_import():
    assert "numpy" in heavy_modules_loaded_by("numpy")
