"""Use cases: each function orchestrates ports and domain rules for one job."""
