"""Governance adapters: the approval requests' SQL store and the per-environment approval policies."""
