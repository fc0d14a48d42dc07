"""NYC TLC trip records: canonical schema, loader, download, validation, synthetic data."""
