"""``frontend/shared/types/api.ts`` is what ``npm run gen:types`` makes from the API's OpenAPI spec today.

Change a route or a schema without regenerating, and this fails: run ``cd frontend && npm run gen:types``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support.frontend import node_project
from tripcast.api.app import create_app
from tripcast.bootstrap.serving import serving_parts_from_env
from tripcast.settings import Settings


def test_committed_api_types_match_the_served_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = node_project()
    monkeypatch.setenv("TRIPCAST_HOME", str(tmp_path))  # as the generator does: no developer's .env
    for name in [n for n in os.environ if n.startswith("TRIPCAST_") and n != "TRIPCAST_HOME"]:
        monkeypatch.delenv(name)
    spec = create_app(serving_parts_from_env(Settings())).openapi()
    (tmp_path / "openapi.json").write_text(json.dumps(spec, sort_keys=True))
    out = tmp_path / "api.ts"
    command = ["node", "shared/scripts/gen-types.mjs", "--spec", str(tmp_path / "openapi.json"), "--out", str(out)]
    subprocess.run(command, cwd=project, check=True, timeout=120, capture_output=True)
    committed = (project / "shared" / "types" / "api.ts").read_text()
    assert out.read_text() == committed, "API types drifted from the spec: cd frontend && npm run gen:types"
    assert "/v1/console/zones" in committed and "PredictionOut" in committed
