"""These tests cut projects from this repository: a project generated from it (which carries them, the
generator being at every level) is not a source tree, so there they are not collected."""

from __future__ import annotations

from pathlib import Path

from tripcast.generator.manifest import MANIFEST_NAME

collect_ignore_glob = ["test_*.py"] if (Path(__file__).resolve().parents[3] / MANIFEST_NAME).exists() else []
