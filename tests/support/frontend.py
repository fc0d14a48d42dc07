"""The web console's toolchain for tests: node, the installed packages, a production build, Chromium.

A missing tool skips here, which ``tests/conftest.py`` turns into a failure under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
_INSTALL = threading.Lock()


def node_project() -> Path:
    """``frontend/`` with its packages installed (``npm ci`` from the committed lock when missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the web console (apt-get install nodejs npm)")
    with _INSTALL:
        if not (FRONTEND / "node_modules" / ".package-lock.json").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True, timeout=600)
    return FRONTEND


def chromium() -> str:
    """Debian's Chromium (Playwright's own browser download cannot work here)."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is needed for the console's browser tests (apt-get install chromium)")
    return found


def build_console(home: Path) -> Path:
    """A production build of the console where ``tripcast serve`` with ``TRIPCAST_HOME=home`` serves it."""
    project = node_project()
    out = home / "frontend" / "web" / "dist"
    command = ["npx", "vite", "build", "--config", "web/vite.config.ts", "--outDir", str(out), "--emptyOutDir"]
    subprocess.run(command, cwd=project, check=True, timeout=300, capture_output=True)
    return out


#: Where the browser test also writes its screenshots, palette-compressed (``DOCS/img/console`` for the docs).
SCREENSHOTS_ENV = "TRIPCAST_SCREENSHOTS_DIR"


def publish_screenshots(source: Path, colours: int = 64) -> list[Path]:
    """Copy ``source/*.png`` to ``$TRIPCAST_SCREENSHOTS_DIR`` as small palette PNGs; none when it is unset."""
    target = os.environ.get(SCREENSHOTS_ENV)
    if not target:
        return []
    from PIL import Image

    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source.glob("*.png")):
        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
            small.save(folder / path.name, optimize=True)
        written.append(folder / path.name)
    return written
