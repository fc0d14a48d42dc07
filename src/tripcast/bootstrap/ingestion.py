"""Wiring of the ingestion area: the :class:`Ingestion` service and the source a user picks with ``--from``.

Adapters are imported inside the functions that build them: ``tripcast ingest`` (files) never loads
SQLAlchemy, redis or nats, and ``--from redis`` never loads the database drivers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.ports.ingest import IngestSource
from tripcast.core.services.ingest_sources import Ingestion

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast
    from tripcast.settings import Settings

#: What ``tripcast ingest --from`` accepts; ``file`` is TLC month files (downloaded or local). The pulled
#: sources are the advanced level's integrations.
SOURCE_KINDS: tuple[str, ...] = ("file",)
SOURCE_KINDS += ("postgres", "rest", "nats", "redis")  # level: advanced


@dataclass(frozen=True)
class SourceChoice:
    """A source picked on the command line; None fields fall back to the ``ingest_*`` settings."""

    kind: str = "file"
    url: str | None = None
    table: str | None = None
    query: str | None = None
    timestamp_column: str | None = None
    watermark_column: str | None = None
    key_column: str | None = None
    stream: str | None = None
    subject: str | None = None
    group: str | None = None
    batch_size: int | None = None


class IngestionServices:
    """The ingestion service, and a factory for the ``IngestSource`` behind each ``--from``."""

    def __init__(self, tc: Tripcast) -> None:
        self.tc = tc
        self.settings: Settings = tc.settings

    @cached_property
    def service(self) -> Ingestion:
        """Ingestion over the parquet landing area, the TLC month files, the audit trail and the clock."""
        from tripcast.data_engineering.ingestion.landing import ParquetLandingStore
        from tripcast.data_engineering.ingestion.month_files import TlcMonthFiles

        landing = ParquetLandingStore(
            self.settings.raw_path, self.settings.quarantine_path / "ingest", service=self.settings.service
        )
        files = TlcMonthFiles(self.tc.source, self.settings.raw_path, service=self.settings.service)
        return Ingestion(landing, files, self.tc.audit, self.tc.clock)

    def source(self, choice: SourceChoice) -> IngestSource:
        """The source ``choice`` names, configured from it and the settings (CLI options win)."""
        builders: dict[str, Callable[[SourceChoice], IngestSource]] = {}
        builders.update(postgres=self._postgres, rest=self._rest, nats=self._nats, redis=self._redis)  # level: advanced
        if choice.kind not in builders:
            allowed = ", ".join(k for k in SOURCE_KINDS if k != "file")
            raise InvalidInputError([FieldProblem("from", f"{choice.kind!r} is not a pulled source ({allowed})")])
        return builders[choice.kind](choice)

    def _batch_size(self, choice: SourceChoice) -> int:  # level: advanced
        return choice.batch_size or self.settings.ingest_batch_size

    def _postgres(self, choice: SourceChoice) -> IngestSource:  # level: advanced
        from tripcast.data_engineering.ingestion.database import SqlTripSource, WatermarkStore
        from tripcast.data_engineering.ingestion.sources import PostgresIngestSource
        from tripcast.security.urls import mask_url

        s = self.settings
        url = _required(choice.url or s.ingest_postgres_url, "url", "TRIPCAST_INGEST_POSTGRES_URL")
        table, query = choice.table or s.ingest_postgres_table, choice.query or s.ingest_postgres_query
        if table is None and query is None:
            raise InvalidInputError(
                [FieldProblem("table", "give --table or --query (or TRIPCAST_INGEST_POSTGRES_TABLE/_QUERY)")]
            )
        prefix = "l" if s.service == "green" else "t"
        timestamp = choice.timestamp_column or s.ingest_postgres_timestamp_column or f"{prefix}pep_pickup_datetime"
        sql = SqlTripSource(
            url, table=table, query=None if table else query, service=s.service, timestamp_column=timestamp
        )
        return PostgresIngestSource(
            sql,
            f"{mask_url(url)}#{table or 'query'}",
            watermarks=WatermarkStore(s.data_dir / "ingest_watermarks.json"),
            watermark_column=choice.watermark_column or s.ingest_postgres_watermark_column,
            key_column=choice.key_column or s.ingest_postgres_key_column,
            batch_size=self._batch_size(choice),
        )

    def _rest(self, choice: SourceChoice) -> IngestSource:  # level: advanced
        from tripcast.data_engineering.ingestion.rest import RestTripSource
        from tripcast.data_engineering.ingestion.sources import RestIngestSource
        from tripcast.egress import EgressPolicy, mask_endpoint

        s = self.settings
        url = _required(choice.url or s.ingest_rest_url, "url", "TRIPCAST_INGEST_REST_URL")
        rest = RestTripSource(
            url,
            service=s.service,
            page_size=choice.batch_size or s.ingest_rest_page_size,
            retries=s.ingest_retries,
            requests_per_second=s.ingest_rest_requests_per_second,
            max_retry_after_seconds=s.rest_max_retry_after_seconds,
            egress=EgressPolicy.from_settings(s),
        )
        return RestIngestSource(rest, mask_endpoint(url))

    def _redis(self, choice: SourceChoice) -> IngestSource:  # level: advanced
        from tripcast.data_engineering.ingestion.sources import RedisIngestSource
        from tripcast.data_engineering.streaming.redis_stream import RedisTripStream
        from tripcast.security.urls import mask_url

        s = self.settings
        url, name = choice.url or s.ingest_redis_url, choice.stream or s.ingest_redis_stream
        group = choice.group or s.ingest_redis_group
        stream = RedisTripStream(
            url, name, group=group, consumer=f"{group}-1", service=s.service, batch_size=self._batch_size(choice)
        )
        return RedisIngestSource(stream, f"{mask_url(url)}#{name}")

    def _nats(self, choice: SourceChoice) -> IngestSource:  # level: advanced
        from tripcast.data_engineering.ingestion.sources import NatsIngestSource
        from tripcast.data_engineering.streaming.nats_jetstream import NatsTripStream
        from tripcast.security.urls import mask_url

        s = self.settings
        url, name = choice.url or s.ingest_nats_url, choice.stream or s.ingest_nats_stream
        subject = choice.subject or s.ingest_nats_subject
        stream = NatsTripStream(
            url, name, subject, durable=choice.group or s.ingest_nats_durable, service=s.service,
            batch_size=self._batch_size(choice),
        )  # fmt: skip
        return NatsIngestSource(stream, f"{mask_url(url)}#{name}/{subject}")


def _required(value: str | None, field: str, variable: str) -> str:  # level: advanced
    if not value:
        raise InvalidInputError([FieldProblem(field, f"no source URL: give --url or set {variable}")])
    return value
