"""The ingestion use cases: pull trips from a source into the raw landing area, or fetch TLC month files.

Every run ends in the audit trail as ``dataset.ingested`` (one event per landed file), with the source and
the row counts; every record read is accounted for: landed, or rejected with a reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.ingest import IngestSource, LandedFile, LandingStore, MonthFiles, RejectedRecord

INGESTED = "dataset.ingested"


class IngestRowsUnaccountedError(RuntimeError):
    """The landing store lost or invented rows; this is a bug, never a data problem."""


@dataclass(frozen=True, slots=True)
class IngestReport:
    """Where every record of one ingestion run went."""

    source: str
    rows_read: int
    rows_landed: int
    rows_rejected: int
    files: tuple[LandedFile, ...] = ()
    reasons: dict[str, int] = field(default_factory=dict)
    rejected_path: str = ""


class Ingestion:
    """Ingestion use cases over the ports the composition root hands in."""

    def __init__(
        self,
        landing: LandingStore,
        files: MonthFiles,
        audit: AuditLog,
        clock: Clock,
        actor: str = "tripcast",
    ) -> None:
        self.landing = landing
        self.files = files
        self.audit = audit
        self.clock = clock
        self.actor = actor

    def pull(self, source: IngestSource, month: Month | None = None, max_batches: int | None = None) -> IngestReport:
        """Land ``source``'s trips (of ``month``, or every month a stream holds), then acknowledge the source.

        Nothing is published unless every batch landed: on any error the temporary files are dropped and the
        source is not acknowledged (a stream redelivers, a watermark stays), so a rerun starts over cleanly.
        """
        rows_read = 0
        rejected: list[RejectedRecord] = []
        try:
            for number, batch in enumerate(source.batches(month), start=1):
                rows_read += batch.rows + len(batch.rejected)
                rejected += batch.rejected
                rejected += self.landing.write(month, batch.table)
                if max_batches is not None and number >= max_batches:
                    break
            files = self.landing.commit()
        except BaseException:
            self.landing.abort()
            raise
        # Audited as soon as the files are in place; acknowledged after, so a failed ack means redelivery
        # (at least once), never a landed file without its audit event.
        report = self._report(source.describe(), rows_read, files, rejected)
        source.acknowledge()
        return report

    def _report(
        self, source: str, rows_read: int, files: list[LandedFile], rejected: list[RejectedRecord]
    ) -> IngestReport:
        landed = sum(f.rows for f in files)
        if landed + len(rejected) != rows_read:
            raise IngestRowsUnaccountedError(
                f"{source}: {rows_read} records read but {landed} landed + {len(rejected)} rejected"
            )
        rejected_path = self.landing.save_rejected(source, rejected) if rejected else ""
        reasons = Counter(_reason_kind(r.reason) for r in rejected)
        for landed_file in files:
            self._audit(
                landed_file.path,
                {
                    "source": source,
                    "month": str(landed_file.month),
                    "rows": str(landed_file.rows),
                    "rows_in_file": str(landed_file.total_rows),
                    "rows_read": str(rows_read),
                    "rows_rejected": str(len(rejected)),
                    "rejected": rejected_path,
                },
            )
        return IngestReport(
            source=source,
            rows_read=rows_read,
            rows_landed=landed,
            rows_rejected=len(rejected),
            files=tuple(files),
            reasons=dict(reasons.most_common()),
            rejected_path=rejected_path,
        )

    def fetch_month(self, month: Month) -> str:
        """Make a TLC month file available in the raw folder (found locally or downloaded); return its path."""
        path = self.files.fetch(month)
        self._audit(path, {"source": "file", "month": str(month)})
        return path

    def synthetic_month(self, month: Month, rows: int) -> str:
        """Write a month of generated trips into the raw folder; return its path."""
        path = self.files.write_synthetic(month, rows)
        self._audit(path, {"source": "synthetic", "month": str(month), "rows": str(rows)})
        return path

    def _audit(self, path: str, details: dict[str, str]) -> None:
        self.audit.record(
            AuditEvent(
                at=self.clock.now(), actor=self.actor, action=INGESTED, subject=f"dataset:{path}", details=details
            )
        )


def _reason_kind(reason: str) -> str:
    """The reason's kind (``JSONDecodeError``, ``wrong_type_trip_distance``...) without the record's detail."""
    return reason.split(":", 1)[0].strip()
