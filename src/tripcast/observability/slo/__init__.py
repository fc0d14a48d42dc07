"""Service level objectives: sloth's spec, multi-window multi-burn-rate rules, Prometheus as the source of truth."""
