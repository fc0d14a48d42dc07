"""Fast inference forms of a registered LightGBM model, and the loader that serves the fastest.

``optimize_model_version`` compiles a version to native code (treelite + tl2cgen), checks it against the
native model and stores the shared library with the version's MLflow run. ``LightGBMSingleRow`` answers
rows through LightGBM's single-row C API. ``OptimizedPredictorLoader`` builds every usable form of a
version, times them on its input example and serves small requests with the fastest; the native model
answers large batches and is the answer whenever no other form is usable.
"""

from tripcast.mlops.serving.optimization.artifact import OptimizationResult, optimize_model_version
from tripcast.mlops.serving.optimization.compiled import CompiledTreeModel, compile_lightgbm
from tripcast.mlops.serving.optimization.hook import TreeliteModelCompiler
from tripcast.mlops.serving.optimization.loader import OptimizedPredictor, OptimizedPredictorLoader
from tripcast.mlops.serving.optimization.single_row import LightGBMSingleRow, fastest_row_model

__all__ = [
    "CompiledTreeModel",
    "LightGBMSingleRow",
    "OptimizationResult",
    "OptimizedPredictor",
    "OptimizedPredictorLoader",
    "TreeliteModelCompiler",
    "compile_lightgbm",
    "fastest_row_model",
    "optimize_model_version",
]
