"""OpenLineage run events for every pipeline step (START / COMPLETE / FAIL with datasets and schemas)."""

from tripcast.data_engineering.lineage.openlineage import DatasetRef, LineageEmitter, lineage_emitter

__all__ = ["DatasetRef", "LineageEmitter", "lineage_emitter"]
