"""Approval requests in a SQL database (the registry's: SQLite locally, PostgreSQL by configuration).

A state change is one conditional ``UPDATE ... WHERE state = <expected>``: of two approvers deciding the
same request at once, exactly one changes it; the other sees no row changed and is refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.engine import Engine, RowMapping

from tripcast.core.domain.approval import ApprovalRequest, ApprovalState, GateSnapshot
from tripcast.core.ports.approval import ApprovalStore
from tripcast.sql_schema import LazySchema

_metadata = MetaData()
approval_requests = Table(
    "tripcast_approval_requests",
    _metadata,
    Column("request_id", String(32), primary_key=True),
    Column("model", String(256), nullable=False),
    Column("version", String(32), nullable=False),
    Column("requested_by", String(256), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("environment", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("gate", Text, nullable=False),
    Column("decided_by", String(256), nullable=False, default=""),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decision_note", Text, nullable=False, default=""),
    Index("ix_tripcast_approval_requests_model_created", "model", "created_at"),
)


class SqlApprovalStore(ApprovalStore):
    """Approval requests in one table of the database at ``url`` (created on first use)."""

    def __init__(self, url: str) -> None:
        self.schema = LazySchema(url, _metadata)
        self.engine: Engine = self.schema.engine

    def _ready(self) -> Engine:
        return self.schema.ready()

    def add(self, request: ApprovalRequest) -> None:
        row = {
            "request_id": request.request_id,
            "model": request.model,
            "version": request.version,
            "requested_by": request.requested_by,
            "reason": request.reason,
            "created_at": request.created_at,
            "environment": request.environment,
            "state": request.state.value,
            "gate": json.dumps(_gate_to_json(request.gate)),
            "decided_by": request.decided_by,
            "decided_at": request.decided_at,
            "decision_note": request.decision_note,
        }
        with self._ready().begin() as conn:
            conn.execute(insert(approval_requests).values(**row))

    def get(self, request_id: str) -> ApprovalRequest | None:
        with self._ready().connect() as conn:
            row = conn.execute(select(approval_requests).where(approval_requests.c.request_id == request_id)).first()
        return _from_row(row._mapping) if row is not None else None

    def transition(
        self,
        request_id: str,
        *,
        expected: ApprovalState,
        new: ApprovalState,
        decided_by: str,
        decided_at: datetime,
        note: str,
    ) -> ApprovalRequest | None:
        table = approval_requests
        change = (
            update(table)
            .where(table.c.request_id == request_id, table.c.state == expected.value)
            .values(state=new.value, decided_by=decided_by, decided_at=decided_at, decision_note=note)
        )
        with self._ready().begin() as conn:
            if conn.execute(change).rowcount != 1:
                return None
            row = conn.execute(select(table).where(table.c.request_id == request_id)).one()
        return _from_row(row._mapping)

    def list_requests(
        self, *, model: str | None = None, state: ApprovalState | None = None, limit: int = 100
    ) -> list[ApprovalRequest]:
        table = approval_requests
        query = select(table).order_by(table.c.created_at.desc(), table.c.request_id).limit(limit)
        if model is not None:
            query = query.where(table.c.model == model)
        if state is not None:
            query = query.where(table.c.state == state.value)
        with self._ready().connect() as conn:
            return [_from_row(row._mapping) for row in conn.execute(query)]

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()


def _gate_to_json(gate: GateSnapshot | None) -> dict[str, Any] | None:
    if gate is None:
        return None
    return {
        "passed": gate.passed,
        "reason": gate.reason,
        "validation_month": gate.validation_month,
        "candidate_metrics": gate.candidate_metrics,
        "champion_version": gate.champion_version,
        "champion_metrics": gate.champion_metrics,
    }


def _aware(value: datetime | None) -> datetime | None:
    # SQLite gives naive datetimes back: they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _from_row(row: RowMapping) -> ApprovalRequest:
    gate = json.loads(row["gate"]) if row["gate"] else None
    created_at = _aware(row["created_at"])
    assert created_at is not None
    return ApprovalRequest(
        request_id=row["request_id"],
        model=row["model"],
        version=row["version"],
        requested_by=row["requested_by"],
        reason=row["reason"],
        created_at=created_at,
        environment=row["environment"],
        state=ApprovalState(row["state"]),
        gate=GateSnapshot(**gate) if gate else None,
        decided_by=row["decided_by"] or "",
        decided_at=_aware(row["decided_at"]),
        decision_note=row["decision_note"] or "",
    )
