"""Alert state in a small SQLite file: pending conditions, alerts, acknowledgements, silences.

The monitoring job and the ``tripcast alerts`` CLI are separate processes; the file is
what they share. Each call opens its own short transaction.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tripcast.core.domain.errors import NotFoundError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    fingerprint TEXT PRIMARY KEY,
    since TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    labels TEXT NOT NULL,
    summary TEXT NOT NULL,
    value REAL NOT NULL,
    status TEXT NOT NULL,              -- firing | resolved
    started_at TEXT NOT NULL,
    last_notified_at TEXT,
    notifications INTEGER NOT NULL DEFAULT 0,
    escalated_at TEXT,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    resolved_at TEXT
);
CREATE INDEX IF NOT EXISTS alerts_active ON alerts (fingerprint, status);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,                -- rule name or * for all
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    reason TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert as stored."""

    id: str
    fingerprint: str
    rule: str
    severity: str
    labels: dict[str, str]
    summary: str
    value: float
    status: str
    started_at: datetime
    last_notified_at: datetime | None
    notifications: int
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class AlertStore:
    """SQLite-backed alert state."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    # ------------------------------------------------------------------ pending
    def pending_since(self, fingerprint: str, now: datetime) -> datetime:
        """When the condition started holding (recording ``now`` if this is the first time)."""
        with self._conn() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pending (fingerprint, since) VALUES (?, ?)", (fingerprint, now.isoformat())
            )
            row = conn.execute("SELECT since FROM pending WHERE fingerprint = ?", (fingerprint,)).fetchone()
        return datetime.fromisoformat(row["since"])

    def clear_pending(self, fingerprint: str) -> None:
        with self._conn() as conn:
            conn.execute("DELETE FROM pending WHERE fingerprint = ?", (fingerprint,))

    def pending_fingerprints(self) -> set[str]:
        with self._conn() as conn:
            return {r["fingerprint"] for r in conn.execute("SELECT fingerprint FROM pending")}

    # ------------------------------------------------------------------ alerts
    def open_alert(
        self,
        fingerprint: str,
        rule: str,
        severity: str,
        labels: dict[str, str],
        summary: str,
        value: float,
        now: datetime,
    ) -> AlertRecord:
        alert_id = uuid.uuid4().hex[:8]
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO alerts (id, fingerprint, rule, severity, labels, summary, value, status, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'firing', ?)",
                (
                    alert_id,
                    fingerprint,
                    rule,
                    severity,
                    json.dumps(labels, sort_keys=True),
                    summary,
                    value,
                    now.isoformat(),
                ),
            )
        return self.get(alert_id)

    def active(self, fingerprint: str) -> AlertRecord | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT * FROM alerts WHERE fingerprint = ? AND status = 'firing'", (fingerprint,)
            ).fetchone()
        return self._record(row) if row else None

    def firing(self) -> list[AlertRecord]:
        return self.list(status="firing")

    def get(self, alert_id: str) -> AlertRecord:
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no alert with id {alert_id!r} (see `tripcast alerts list`)")
        return self._record(row)

    def list(self, status: str | None = None, limit: int = 100) -> list[AlertRecord]:
        query, args = "SELECT * FROM alerts", list[object]()
        if status:
            query += " WHERE status = ?"
            args.append(status)
        query += " ORDER BY started_at DESC LIMIT ?"
        args.append(limit)
        with self._conn() as conn:
            return [self._record(r) for r in conn.execute(query, args)]

    def update_value(self, alert_id: str, value: float, summary: str) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE alerts SET value = ?, summary = ? WHERE id = ?", (value, summary, alert_id))

    def mark_notified(self, alert_id: str, now: datetime) -> None:
        with self._conn() as conn:
            conn.execute(
                "UPDATE alerts SET last_notified_at = ?, notifications = notifications + 1 WHERE id = ?",
                (now.isoformat(), alert_id),
            )

    def mark_escalated(self, alert_id: str, now: datetime) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE alerts SET escalated_at = ? WHERE id = ?", (now.isoformat(), alert_id))

    def resolve(self, alert_id: str, now: datetime) -> None:
        with self._conn() as conn:
            conn.execute(
                "UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE id = ?", (now.isoformat(), alert_id)
            )

    def acknowledge(self, alert_id: str, by: str, now: datetime) -> AlertRecord:
        """Acknowledge an alert (stops re-notification and escalation); NotFoundError for unknown ids."""
        record = self.get(alert_id)
        if record.acknowledged:
            return record
        with self._conn() as conn:
            conn.execute(
                "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
                (now.isoformat(), by, alert_id),
            )
        return self.get(alert_id)

    # ------------------------------------------------------------------ silences
    def add_silence(self, rule: str, starts_at: datetime, ends_at: datetime, reason: str) -> str:
        silence_id = uuid.uuid4().hex[:8]
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO silences (id, rule, starts_at, ends_at, reason) VALUES (?, ?, ?, ?, ?)",
                (silence_id, rule, starts_at.isoformat(), ends_at.isoformat(), reason),
            )
        return silence_id

    def silenced(self, rule: str, now: datetime) -> bool:
        with self._conn() as conn:
            rows = conn.execute("SELECT starts_at, ends_at FROM silences WHERE rule IN (?, '*')", (rule,)).fetchall()
        return any(datetime.fromisoformat(r["starts_at"]) <= now < datetime.fromisoformat(r["ends_at"]) for r in rows)

    @staticmethod
    def _record(row: sqlite3.Row) -> AlertRecord:
        return AlertRecord(
            id=row["id"],
            fingerprint=row["fingerprint"],
            rule=row["rule"],
            severity=row["severity"],
            labels=json.loads(row["labels"]),
            summary=row["summary"],
            value=row["value"],
            status=row["status"],
            started_at=datetime.fromisoformat(row["started_at"]),
            last_notified_at=_dt(row["last_notified_at"]),
            notifications=row["notifications"],
            escalated_at=_dt(row["escalated_at"]),
            acknowledged_at=_dt(row["acknowledged_at"]),
            acknowledged_by=row["acknowledged_by"],
            resolved_at=_dt(row["resolved_at"]),
        )
