"""Feature store (Feast) for zone-level aggregates: definitions, offline tables, online reads."""
