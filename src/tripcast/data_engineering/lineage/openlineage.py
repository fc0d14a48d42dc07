"""Emit OpenLineage run events with openlineage-python, to a JSONL file (default) or an HTTP endpoint.

Each pipeline step is one OpenLineage *job* (``tripcast.pipeline.<step>``) and each
execution one *run*: a START event, then COMPLETE with its input and output datasets
(with schema facets read from the parquet footers), or FAIL with the error message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import error_message_run, schema_dataset
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport

PRODUCER = "https://github.com/tripcast/tripcast/data_engineering"
NAMESPACE = "tripcast"


@dataclass(frozen=True)
class DatasetRef:
    """A dataset a step reads or writes: a namespace (``file``, ``postgres://host``...) and a name (a path)."""

    namespace: str
    name: str
    columns: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_path(cls, path: str | Path) -> DatasetRef:
        """A local file or parquet folder; the schema is read from parquet footers when present."""
        path = Path(path)
        return cls("file", str(path.resolve()), parquet_columns(path))


def parquet_columns(path: Path) -> tuple[tuple[str, str], ...]:
    """``(name, arrow type)`` pairs of a parquet file or of the first part file of a folder; empty otherwise."""
    candidates = [path] if path.is_file() else sorted(path.rglob("*.parquet")) if path.is_dir() else []
    for candidate in candidates:
        if candidate.suffix == ".parquet" and not candidate.name.startswith((".", "_")):
            schema = pq.read_schema(candidate)
            return tuple((f.name, str(f.type)) for f in schema)
    return ()


def _facets(ref: DatasetRef) -> dict:
    if not ref.columns:
        return {}
    fields = [schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in ref.columns]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}


class LineageEmitter:
    """Sends run events for pipeline steps through an :class:`OpenLineageClient`."""

    def __init__(self, client: OpenLineageClient, namespace: str = NAMESPACE) -> None:
        self.client = client
        self.namespace = namespace

    def start(self, job: str, inputs: list[DatasetRef] | None = None) -> str:
        """Emit START for ``job``; return the new run id."""
        run_id = str(uuid.uuid4())
        self._emit(RunState.START, job, run_id, inputs or [], [])
        return run_id

    def complete(self, job: str, run_id: str, inputs: list[DatasetRef], outputs: list[DatasetRef]) -> None:
        """Emit COMPLETE with the datasets read and written."""
        self._emit(RunState.COMPLETE, job, run_id, inputs, outputs)

    def fail(self, job: str, run_id: str, inputs: list[DatasetRef], error: BaseException) -> None:
        """Emit FAIL with the error message as a run facet."""
        facet = error_message_run.ErrorMessageRunFacet(message=str(error), programmingLanguage="python")
        self._emit(RunState.FAIL, job, run_id, inputs, [], {"errorMessage": facet})

    def _emit(
        self,
        state: RunState,
        job: str,
        run_id: str,
        inputs: list[DatasetRef],
        outputs: list[DatasetRef],
        run_facets: dict | None = None,
    ) -> None:
        event = RunEvent(
            eventType=state,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=run_id, facets=run_facets or {}),
            job=Job(namespace=self.namespace, name=job),
            producer=PRODUCER,
            inputs=[InputDataset(namespace=r.namespace, name=r.name, facets=_facets(r)) for r in inputs],
            outputs=[OutputDataset(namespace=r.namespace, name=r.name, facets=_facets(r)) for r in outputs],
        )
        self.client.emit(event)


def lineage_emitter(lineage_dir: Path, url: str | None = None, namespace: str = NAMESPACE) -> LineageEmitter:
    """Events appended to ``<lineage_dir>/events.jsonl``, or POSTed to ``url`` (an OpenLineage/Marquez API)."""
    transport: HttpTransport | FileTransport
    if url:
        transport = HttpTransport(HttpConfig(url=url, timeout=5.0, retry={"total": 2, "backoff_factor": 0.2}))
    else:
        lineage_dir.mkdir(parents=True, exist_ok=True)
        transport = FileTransport(FileConfig(log_file_path=str(lineage_dir / "events.jsonl"), append=True))
    return LineageEmitter(OpenLineageClient(transport=transport), namespace)
