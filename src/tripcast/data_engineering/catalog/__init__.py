"""The data catalog: JSON Schemas and a data dictionary generated from the Pandera trip schema."""

from tripcast.data_engineering.catalog.generate import (
    CatalogWriter,
    pandera_to_json_schema,
    render_catalog,
    stale_catalog_files,
    write_catalog,
)

__all__ = ["CatalogWriter", "pandera_to_json_schema", "render_catalog", "stale_catalog_files", "write_catalog"]
