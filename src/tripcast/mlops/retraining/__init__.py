"""Adapters of automated retraining (issue #13 item 5): the policy file, the run-state store, the triggers."""
