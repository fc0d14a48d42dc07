"""Compile a registered LightGBM model to native code (treelite + tl2cgen) and serve it when present.

``optimize_model_version`` compiles a version, checks it against the native model and stores the shared
library with the version's MLflow run; ``OptimizedPredictorLoader`` loads it for serving and falls back to
the native model whenever the compiled form is absent, built for another platform, or fails to load.
"""

from tripcast.mlops.serving.optimization.artifact import OptimizationResult, optimize_model_version
from tripcast.mlops.serving.optimization.compiled import CompiledTreeModel, compile_lightgbm
from tripcast.mlops.serving.optimization.hook import CompileOnRegistrationHook
from tripcast.mlops.serving.optimization.loader import OptimizedPredictor, OptimizedPredictorLoader

__all__ = [
    "CompileOnRegistrationHook",
    "CompiledTreeModel",
    "OptimizationResult",
    "OptimizedPredictor",
    "OptimizedPredictorLoader",
    "compile_lightgbm",
    "optimize_model_version",
]
