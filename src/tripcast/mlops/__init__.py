"""Generic ML operations: training, metrics, experiment tracking, the model registry and what builds on them.

Nothing here imports taxi specifics: adapters take a ``ModelSpec`` and, where they need
features, a ``FeatureBuilder`` by injection.
"""
