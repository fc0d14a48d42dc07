"""Compact, mergeable summaries of one column: the unit every drift test works on.

A numeric column becomes *atoms*: sorted support points with weights. When the column
has few distinct values (hours, flags, distances rounded to 0.01 mile) the atoms are the
exact value counts, so every test computed from them equals the test on the raw column.
When it has more than ``max_exact`` distinct values, the atoms are ``max_exact`` equally
weighted mid-quantiles: a quantile sketch whose Wasserstein distance to the raw column is
at most a small fraction of the column's spread.

A categorical column becomes category -> count. Category keys are normalised (integers
stay integers, whole floats become integers, anything else becomes a string) so that a
column read as ``int64`` from parquet and the same column arriving as ``float64`` in a
NumPy window compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Above this many distinct values a numeric column is summarised by a quantile sketch.
DEFAULT_MAX_EXACT = 10_000

CategoryKey = int | str


@dataclass(frozen=True, slots=True)
class NumericAtoms:
    """A weighted point set standing for a numeric column's non-null values."""

    values: np.ndarray
    weights: np.ndarray
    n: int
    exact: bool

    @property
    def n_distinct(self) -> int:
        """Distinct values (a lower bound when the atoms are a sketch)."""
        return len(self.values)

    def expand(self) -> np.ndarray:
        """The raw values back (exact atoms only): used by tests that need samples, such as KS."""
        if not self.exact:
            raise ValueError("a quantile sketch cannot be expanded back to its raw values")
        return np.repeat(self.values, self.weights.astype(np.int64))

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": self.values.tolist(),
            "weights": self.weights.tolist(),
            "n": self.n,
            "exact": self.exact,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericAtoms:
        return cls(
            values=np.asarray(data["values"], dtype=np.float64),
            weights=np.asarray(data["weights"], dtype=np.float64),
            n=int(data["n"]),
            exact=bool(data["exact"]),
        )


@dataclass(frozen=True, slots=True)
class CategoryCounts:
    """Counts of each category among a column's non-null values."""

    counts: dict[CategoryKey, int]
    n: int

    def to_dict(self) -> dict[str, Any]:
        # JSON object keys must be strings, so categories travel as [key, count] pairs.
        return {"counts": [[k, c] for k, c in self.counts.items()], "n": self.n}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoryCounts:
        return cls(counts={normalise_key(k): int(c) for k, c in data["counts"]}, n=int(data["n"]))


def normalise_key(value: Any) -> CategoryKey:
    """One spelling per category: ints stay ints, whole floats become ints, the rest strings."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return str(value)


def finite_values(column: Any) -> tuple[np.ndarray, int]:
    """Finite values of a numeric column as float64 and the count of null/inf values dropped."""
    if isinstance(column, pd.Series):
        arr = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = np.asarray(column, dtype=np.float64)
    mask = np.isfinite(arr)
    if mask.all():
        return arr, 0
    return arr[mask], int(arr.size - mask.sum())


def summarise_numeric(values: np.ndarray, max_exact: int = DEFAULT_MAX_EXACT) -> NumericAtoms:
    """Atoms for finite float values: exact counts, or a mid-quantile sketch past ``max_exact`` values."""
    n = int(values.size)
    if n == 0:
        return NumericAtoms(np.empty(0), np.empty(0), 0, True)
    support, counts = _unique_counts(values)
    if support.size <= max_exact:
        return NumericAtoms(support, counts.astype(np.float64), n, True)
    # Weighted mid-quantiles: atom i sits at the value where the cumulative share passes (i + 0.5) / q.
    cumulative = np.cumsum(counts)
    targets = (np.arange(max_exact) + 0.5) / max_exact * n
    idx = np.searchsorted(cumulative, targets, side="right")
    points = support[np.minimum(idx, support.size - 1)]
    return NumericAtoms(points, np.full(max_exact, n / max_exact), n, False)


def _unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique with counts, with an O(n) bincount path for whole numbers in a small range."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1_000_000 and np.all(values == np.floor(values)):
        offsets = (values - lo).astype(np.int64)
        counts = np.bincount(offsets)
        present = np.flatnonzero(counts)
        return present.astype(np.float64) + lo, counts[present]
    return np.unique(values, return_counts=True)


def summarise_categorical(column: Any) -> tuple[CategoryCounts, int]:
    """Category counts of a column and how many nulls it had."""
    series = column if isinstance(column, pd.Series) else pd.Series(np.asarray(column))
    counts_series = series.value_counts(dropna=True, sort=False)
    counts: dict[CategoryKey, int] = {}
    for key, count in zip(counts_series.index.tolist(), counts_series.to_numpy().tolist(), strict=True):
        if isinstance(key, float) and not np.isfinite(key):
            continue
        norm = normalise_key(key)
        counts[norm] = counts.get(norm, 0) + int(count)
    n = sum(counts.values())
    return CategoryCounts(counts, n), int(len(series) - n)


def union_frequencies(
    reference: dict[CategoryKey, int] | NumericAtoms, current: dict[CategoryKey, int] | NumericAtoms
) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current counts aligned over the union of their categories (or support points)."""
    if isinstance(reference, NumericAtoms) and isinstance(current, NumericAtoms):
        keys = np.union1d(reference.values, current.values)
        ref = np.zeros(keys.size)
        cur = np.zeros(keys.size)
        ref[np.searchsorted(keys, reference.values)] = reference.weights
        cur[np.searchsorted(keys, current.values)] = current.weights
        return ref, cur
    assert isinstance(reference, dict) and isinstance(current, dict)
    all_keys = list(reference.keys() | current.keys())
    return (
        np.array([reference.get(k, 0) for k in all_keys], dtype=np.float64),
        np.array([current.get(k, 0) for k in all_keys], dtype=np.float64),
    )


def numeric_shares(
    reference: NumericAtoms, current: NumericAtoms, bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(edges, reference shares, current shares) in ``bins`` equal bins over the reference's central 99 %.

    Values beyond the edges count in the end bins (a few outliers do not flatten the histogram); a side
    with no values has all-zero shares. Used by the HTML drift report and the web console.
    """
    both = np.concatenate([reference.values, current.values])
    if both.size == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    lo, hi = np.quantile(reference.values, [0.005, 0.995]) if reference.values.size else (both.min(), both.max())
    if hi <= lo:
        lo, hi = both.min(), both.max() + 1
    edges = np.linspace(lo, hi, bins + 1)
    shares = []
    for atoms in (reference, current):
        counts = np.histogram(np.clip(atoms.values, lo, hi), edges, weights=atoms.weights)[0]
        shares.append(counts / counts.sum() if counts.sum() else counts)
    return edges, shares[0], shares[1]
