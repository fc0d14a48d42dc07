"""Experiments on models (the guide's mlops/ab_testing): definitions, assignment, exposures, analysis."""
