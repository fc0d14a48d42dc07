"""Row-at-a-time inference forms for small requests, and a load-time race that keeps the fastest.

Two forms answer a request of a few rows:

- :class:`LightGBMSingleRow`: LightGBM's own ``LGBM_BoosterPredictForMatSingleRowFast`` C API. The
  booster's trees are compact arrays (a few hundred KB for hundreds of trees), so a row costs the tree
  walks and little else: no ``Booster.predict`` argument checks, no numpy conversions, no OpenMP.
- :class:`~tripcast.mlops.serving.optimization.compiled.CompiledTreeModel`: the tl2cgen-compiled library
  (megabytes of branches). Which one is faster depends on the CPU's caches and branch predictor: it was
  the compiled form on one host and LightGBM's arrays, by 2x, on another (performance/optimization).

:func:`fastest_row_model` times the candidates on the version's own rows when it is loaded and keeps
the faster one, so a server follows the hardware it runs on instead of a number measured elsewhere.
"""

from __future__ import annotations

import ctypes
import logging
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from tripcast.mlops.serving.optimization.compiled import feature_rows

log = logging.getLogger(__name__)

#: LightGBM C API constants (c_api.h).
_PREDICT_NORMAL: Final = 0
_DTYPE_FLOAT64: Final = 1


class RowModel(Protocol):
    """A tree ensemble answering a float64 ``(n, num_feature)`` matrix, NaN meaning missing."""

    num_feature: int
    form: str

    def predict(self, matrix: Any) -> np.ndarray:
        """One float64 prediction per row."""
        ...


class LightGBMSingleRow:
    """A LightGBM booster answered one row at a time through its fast single-row C API.

    The fast configuration (parsed parameters, one thread) is built once. Calls go through a
    ``ctypes.PyDLL`` view of LightGBM's library, which keeps the GIL: a call takes microseconds, and
    releasing the GIL around it would let any other runnable thread delay the event loop by the
    interpreter's switch interval. Holding the GIL also serialises calls, which the fast configuration
    needs (it owns one prediction buffer).
    """

    form = "lightgbm-single-row"

    def __init__(self, booster: Any) -> None:
        import lightgbm as lgb

        booster = getattr(booster, "booster_", booster)  # LGBMRegressor -> Booster
        self.num_feature = int(booster.num_feature())
        self._booster = booster  # the fast configuration points into it: keep it alive
        lib = ctypes.PyDLL(lgb.basic._LIB._name)
        handle = ctypes.c_void_p()
        status = lib.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle,
            ctypes.c_int(_PREDICT_NORMAL),
            ctypes.c_int(0),  # start iteration
            ctypes.c_int(-1),  # all iterations (a saved early-stopped model holds only the kept ones)
            ctypes.c_int(_DTYPE_FLOAT64),
            ctypes.c_int32(self.num_feature),
            ctypes.c_char_p(b"num_threads=1"),
            ctypes.byref(handle),
        )
        if status != 0:
            raise RuntimeError(f"LightGBM single-row init failed: {lib.LGBM_GetLastError().decode()}")
        self._handle = handle
        self._predict = lib.LGBM_BoosterPredictForMatSingleRowFast
        self._predict.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self._predict.restype = ctypes.c_int
        self._out_len = ctypes.c_int64()
        self._out_len_address = ctypes.addressof(self._out_len)
        self._finalizer = weakref.finalize(self, lib.LGBM_FastConfigFree, handle)

    def predict(self, matrix: Any) -> np.ndarray:
        """Predictions for an ``(n, num_feature)`` matrix; NaN means missing, as in ``Booster.predict``."""
        rows = feature_rows(matrix, self.num_feature)
        out = np.empty(rows.shape[0], dtype=np.float64)
        row_bytes = rows.strides[0]
        base = rows.ctypes.data
        out_base = out.ctypes.data
        predict, handle, out_len = self._predict, self._handle, self._out_len_address
        for i in range(rows.shape[0]):
            if predict(handle, base + i * row_bytes, out_len, out_base + i * 8) != 0:
                raise RuntimeError("LightGBM single-row prediction failed")
        return out

    def close(self) -> None:
        """Free the fast configuration now (it is freed with the object otherwise)."""
        self._finalizer()


@dataclass(frozen=True, slots=True)
class RaceResult:
    """Microseconds per single-row call of each form on the sample rows; ``winner`` is the fastest."""

    winner: RowModel
    microseconds: dict[str, float]

    def describe(self) -> str:
        """One line for logs: each form's time, the winner first."""
        timings = sorted(self.microseconds.items(), key=lambda item: item[1])
        return ", ".join(f"{form} {us:.1f} us/row" for form, us in timings)


def time_per_row(predict: Callable[[np.ndarray], Any], rows: np.ndarray, *, rounds: int = 3) -> float:
    """Best-of-``rounds`` microseconds per ``predict`` call on one row, cycling through ``rows``."""
    singles = [rows[i : i + 1] for i in range(len(rows))]
    predict(singles[0])  # first call pays page faults and lazy binding
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for row in singles:
            predict(row)
        best = min(best, (time.perf_counter() - started) / len(singles))
    return best * 1e6


def time_form(model: RowModel, rows: np.ndarray) -> float:
    """:func:`time_per_row` of a form's ``predict``: the default timer of :func:`fastest_row_model`."""
    return time_per_row(model.predict, rows)


def fastest_row_model(
    candidates: Sequence[RowModel],
    rows: Any,
    *,
    min_rows: int = 256,
    timer: Callable[[RowModel, np.ndarray], float] = time_form,
) -> RaceResult:
    """Time every candidate on ``rows`` (cycled up to ``min_rows``) with ``timer`` and return the fastest.

    ``rows`` should be real inputs of the model (its stored input example, say): a tree walk's cost
    depends on the paths the rows take. A few hundred calls per form take a few milliseconds.
    """
    if not candidates:
        raise ValueError("no inference form to choose from")
    sample = np.ascontiguousarray(rows, dtype=np.float64)
    if sample.ndim != 2 or len(sample) == 0:
        raise ValueError(f"need a non-empty 2-D sample of rows, got shape {np.shape(rows)}")
    if len(sample) < min_rows:
        sample = np.resize(sample, (min_rows, sample.shape[1]))
    microseconds = {model.form: timer(model, sample) for model in candidates}
    winner = min(candidates, key=lambda model: microseconds[model.form])
    return RaceResult(winner, microseconds)
