"""The run manifest: a small JSON state file per (service, month) that makes the pipeline resumable.

A step is *complete* when the manifest says so **for the same input fingerprint** and
every output it recorded still exists. A rerun skips complete steps, redoes a failed or
interrupted one and everything after it, and redoes all steps when the input changed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StepRecord:
    """What a step did the last time it ran."""

    status: str  # "running" | "complete" | "failed"
    fingerprint: str
    outputs: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    finished_at: str = ""
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    """Step name -> record, persisted atomically after every change."""

    path: Path
    steps: dict[str, StepRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """The manifest at ``path``, or an empty one; an unreadable file is treated as empty (steps rerun)."""
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
            steps = {name: StepRecord(**record) for name, record in raw.get("steps", {}).items()}
        except (OSError, ValueError, TypeError):
            steps = {}
        return cls(path, steps)

    def is_complete(self, step: str, fingerprint: str) -> bool:
        """Whether ``step`` finished for this fingerprint and its outputs are all still there."""
        record = self.steps.get(step)
        if record is None or record.status != "complete" or record.fingerprint != fingerprint:
            return False
        return all(Path(p).exists() for p in record.outputs.values())

    def record(self, step: str, record: StepRecord) -> None:
        """Store a step's record and write the file."""
        self.steps[step] = record
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        payload = {"steps": {name: asdict(rec) for name, rec in self.steps.items()}}
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
        os.replace(tmp, self.path)
