"""The MLflow model registry (aliases, never stages) and the predictor it loads."""
