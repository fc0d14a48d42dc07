"""A tree ensemble compiled to a shared library by tl2cgen, called row by row through ctypes.

tl2cgen's own ``Predictor`` builds a ``DMatrix`` and a thread pool per call, which costs tens of
microseconds; the generated ``predict(union Entry*, int, double*)`` function itself takes about a
microsecond for a few hundred trees. Calling it directly keeps single-row latency near that floor.
See ``performance/optimization/README.md`` for the measurements behind this choice.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Extra compiler flags (they come after tl2cgen's -O3, so they win). -Os gives the fastest single-row
#: predictions: the generated code is megabytes of branches and smaller code means fewer instruction
#: cache misses. -O1 builds ~3x faster for ~1.6x slower calls; tl2cgen's -O3 builds slowest of all
#: (see performance/optimization/README.md).
DEFAULT_COMPILER_OPTIONS = ("-Os",)
#: Flags when build time matters more than the last microseconds: -O1 builds ~2-3x faster than -Os for
#: a ~1.5x slower single-row call (performance/optimization/README.md, "Compiling at registration").
FAST_BUILD_COMPILER_OPTIONS = ("-O1",)
#: Trees per translation unit: smaller functions keep gcc's superlinear passes (jump threading, register
#: allocation) cheap and give ``make -j`` units to share out; ~10 trees per unit measured best.
TREES_PER_UNIT = 10


def feature_rows(matrix: Any, num_feature: int) -> np.ndarray:
    """``matrix`` as a C-contiguous float64 ``(n, num_feature)`` array (one 1-D row becomes ``(1, n)``)."""
    rows = np.ascontiguousarray(matrix, dtype=np.float64)
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    if rows.ndim != 2 or rows.shape[1] != num_feature:
        raise ValueError(f"expected a matrix with {num_feature} columns, got shape {np.shape(matrix)}")
    return rows


def platform_tag() -> str:
    """Where a compiled library can run: OS and CPU architecture."""
    return f"{platform.system().lower()}-{platform.machine().lower()}"


def compile_lightgbm(
    booster: Any,
    out_path: str | Path,
    *,
    options: tuple[str, ...] = DEFAULT_COMPILER_OPTIONS,
    parallel_units: int | None = None,
    jobs: int = 2,
) -> Path:
    """Compile a LightGBM booster (or sklearn-API model) into a shared library at ``out_path``.

    ``parallel_units`` translation units (default: one per :data:`TREES_PER_UNIT` trees, 2..64) are
    compiled ``jobs`` at a time.
    """
    import tl2cgen
    import treelite

    booster = getattr(booster, "booster_", booster)  # LGBMRegressor -> Booster
    if parallel_units is None:
        parallel_units = max(2, min(64, booster.num_trees() // TREES_PER_UNIT))
    model = treelite.frontend.from_lightgbm(booster)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tripcast-tl2cgen-") as scratch:
        built = Path(scratch) / out_path.name
        # tl2cgen's native logger prints progress lines ("Parallel compilation enabled...") on stdout, which
        # is the command's output (`tripcast optimize --json` one day); they go to our log at DEBUG instead.
        # redirect_stdout is process-wide: compiling happens in commands, never in a serving process.
        chatter = io.StringIO()
        with contextlib.redirect_stdout(chatter):
            tl2cgen.export_lib(
                model,
                toolchain="gcc",
                libpath=str(built),
                params={"parallel_comp": parallel_units},
                options=list(options),
                nthread=jobs,
            )
        for line in chatter.getvalue().splitlines():
            log.debug("tl2cgen: %s", line)
        shutil.copyfile(built, out_path)
    return out_path


class CompiledTreeModel:
    """Predictions from a tl2cgen shared library with one float64 target (regression)."""

    form = "tl2cgen-compiled"

    def __init__(self, library: str | Path) -> None:
        self.path = Path(library)
        # PyDLL keeps the GIL during a call. A call is tens of microseconds; CDLL would release and retake
        # the GIL around each one, and with any other thread runnable (the registry poller, a scrape) the
        # event loop then waits up to the interpreter's switch interval (5 ms) per row to get it back.
        lib = ctypes.PyDLL(str(self.path))
        lib.get_num_feature.restype = ctypes.c_int32
        lib.get_num_target.restype = ctypes.c_int32
        lib.get_threshold_type.restype = ctypes.c_char_p
        lib.get_leaf_output_type.restype = ctypes.c_char_p
        self.num_feature = int(lib.get_num_feature())
        targets = int(lib.get_num_target())
        threshold = lib.get_threshold_type().decode()
        leaf = lib.get_leaf_output_type().decode()
        if targets != 1 or threshold != "float64" or leaf != "float64":
            raise ValueError(
                f"{self.path}: expected one float64 target with float64 thresholds, got {targets} target(s), "
                f"thresholds {threshold}, leaves {leaf}"
            )
        self._predict = lib.predict
        self._predict.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        self._predict.restype = None
        self._lib = lib  # keep the library loaded as long as this object lives

    def predict(self, matrix: Any) -> np.ndarray:
        """Predictions for an ``(n, num_feature)`` matrix; NaN means missing, as in LightGBM."""
        rows = feature_rows(matrix, self.num_feature)
        nan = np.isnan(rows)
        if nan.any():
            # union Entry { int missing; double fvalue; }: a missing value has missing == -1 (low word).
            rows = rows.copy()  # never write into the caller's array
            words = rows.view(np.int32).reshape(rows.shape[0], rows.shape[1], 2)
            words[nan, 0 if np.little_endian else 1] = -1
        out = np.zeros(rows.shape[0], dtype=np.float64)  # predict() adds to the result: start at zero
        row_bytes = rows.strides[0]
        base = rows.ctypes.data
        out_base = out.ctypes.data
        predict = self._predict
        for i in range(rows.shape[0]):
            predict(base + i * row_bytes, 0, out_base + i * 8)
        return out
