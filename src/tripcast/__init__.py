"""Tripcast."""
