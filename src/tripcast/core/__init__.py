"""The hexagon: domain model, ports and use cases.

Nothing in here imports a framework (MLflow, FastAPI, pandas, LightGBM...) or an
outer ``tripcast`` package; import-linter enforces it (see ``.importlinter``).
"""
