"""`tripcast experiments` without a registry: JSON on stdout only, and one clear line for every mistake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TRIPCAST = str(Path(sys.executable).parent / "tripcast")
EXAMPLES = Path(__file__).resolve().parents[3] / "environments" / "local" / "experiments"


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPCAST_")}
    env.update(COLUMNS="200", TRIPCAST_DATA_DIR=str(tmp_path / "data"))
    command = [TRIPCAST, "experiments", *args]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)


def assert_refused(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert fragment in result.stderr, result.stderr


def test_reading_commands_print_only_json(tmp_path: Path) -> None:
    listed = run(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"experiments": []}
    running = run(tmp_path, "status", "--json")
    assert json.loads(running.stdout) == {"experiments": []}


def test_mistakes_end_in_one_clear_line(tmp_path: Path) -> None:
    assert_refused(run(tmp_path, "status", "nope"), "no experiment 'nope'")
    assert_refused(run(tmp_path, "list", "--state", "paused"), "'paused' is not a state")
    assert_refused(run(tmp_path, "decide", "x", "--verdict", "maybe", "--as", "k"), "'maybe' is not a verdict")
    assert_refused(run(tmp_path, "start", "x"), "give an API key with --as")
    assert_refused(
        run(tmp_path, "create", str(EXAMPLES / "example_ab.yaml"), "--as", "not-a-key"), "unknown or revoked"
    )
    assert_refused(run(tmp_path, "analyze", "nope"), "no experiment 'nope'")
