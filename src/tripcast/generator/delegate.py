"""Run an upgrade with the source tree's own generator when the running one lives elsewhere.

A generated project carries a renamed copy of the generator; that copy knows the project's names, not the
source's layout. The source's generator does: when the source holds one (``src/<package>/generator/``) and the
running code is not it, the upgrade runs in a child Python with the source's ``src`` on its path, and the
report comes back as JSON. Standard library only, like the rest of the generator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: The child: import the source's generator by its package name, upgrade, print the report as one JSON line.
_CHILD = """
import dataclasses, importlib, json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
upgrade = importlib.import_module(sys.argv[2] + ".generator.upgrade")
levels = importlib.import_module(sys.argv[2] + ".levels")
project, level, source, lock = Path(sys.argv[3]), levels.Level[sys.argv[4]], Path(sys.argv[5]), sys.argv[6] == "1"
try:
    report = upgrade.upgrade_project(project, level, source, lock=lock)
except Exception as error:
    print(json.dumps({"error": str(error), "kind": type(error).__name__}))
    sys.exit(2)
print(json.dumps({"report": dataclasses.asdict(report)}))
"""


def source_generator(source: Path) -> str | None:
    """The package name of the generator inside ``source`` (``src/<package>/generator/upgrade.py``), if any."""
    src = source / "src"
    found = sorted(path.relative_to(src).parts[0] for path in src.glob("*/generator/upgrade.py"))
    return found[0] if found else None


def runs_from(source: Path) -> bool:
    """Whether the running generator is the one inside ``source``."""
    return source.resolve() in Path(__file__).resolve().parents


def upgrade_in_source(
    project_dir: Path, level_name: str, source: Path, package: str, *, lock: bool
) -> dict[str, object]:
    """Run ``upgrade_project`` of the source's generator in a child Python; its report as a dict.

    Raises :class:`DelegatedError` with the child's message (and its error's class name) when it failed.
    """
    arguments = [str(source / "src"), package, str(project_dir.resolve()), level_name.upper(), str(source.resolve())]
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, *arguments, "1" if lock else "0"], capture_output=True, text=True, check=False
    )
    lines = result.stdout.strip().splitlines()
    try:
        payload = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        payload = {}
    if "report" in payload:
        report: dict[str, object] = payload["report"]
        return report
    message = payload.get("error") or (result.stderr.strip().splitlines() or ["no output"])[-1]
    raise DelegatedError(f"the source's generator ({source}): {message}", kind=payload.get("kind", "RuntimeError"))


class DelegatedError(RuntimeError):
    """The source's generator failed; ``kind`` is the class name of its error."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
