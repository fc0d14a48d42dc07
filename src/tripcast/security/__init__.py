"""Security adapters: the audit trail and API authentication helpers."""
