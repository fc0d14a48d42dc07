"""Wiring of the data area: validation, the monthly pipeline and the data catalog, built from the root's adapters.

Each service is built on first use, so ``tripcast validate`` never imports the pipeline's
engines (Ibis, DuckDB) and ``tripcast pipeline catalog`` never opens the audit log.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from tripcast.core.ports.pipeline import DataCatalog, DataRunHistory, MonthlyPipeline  # level: advanced
from tripcast.core.services.validation import Validation

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast


class DataServices:
    """What driving adapters (``tripcast validate``, ``tripcast pipeline``, Airflow tasks, Spark entry) call."""

    def __init__(self, root: Tripcast) -> None:
        self._root = root

    @cached_property
    def validation(self) -> Validation:
        """Batch-wise validation of a month, audited as ``dataset.validated``."""
        tc = self._root
        return Validation(
            tc.source, tc.validator, tc.store, tc.audit, tc.clock, batch_rows=tc.settings.validation_batch_rows
        )

    @cached_property  # level: advanced
    def pipeline(self) -> MonthlyPipeline:
        """ingest -> validate -> transform -> quality -> export; its validate step is :attr:`validation`."""
        from tripcast.bootstrap import tracer_of
        from tripcast.data_engineering.pipeline.runner import PipelineRunner

        tc = self._root
        return PipelineRunner(
            tc.settings, tc.source, tc.store, self.validation, tc.locks, tracer=tracer_of(tc.settings)
        )

    @cached_property  # level: advanced
    def runs(self) -> DataRunHistory:
        """What the pipeline and validation wrote under ``data/``, per month (the console's Data page)."""
        from tripcast.data_engineering.pipeline.history import RunHistoryFiles

        settings = self._root.settings
        return RunHistoryFiles(settings.data_dir, settings.processed_path, settings.quarantine_path, settings.service)

    @cached_property  # level: advanced
    def catalog(self) -> DataCatalog:
        """The JSON Schemas and data dictionary, written to ``catalog_dir`` unless told otherwise."""
        from tripcast.data_engineering.catalog.generate import CatalogWriter

        return CatalogWriter(self._root.settings.catalog_dir)
