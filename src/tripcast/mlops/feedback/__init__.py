"""Ground-truth feedback adapters: the SQL prediction log, its buffered writer, outcome files, month replay, gauges."""
