"""Trip-duration features, built the same way for training rows and for served requests.

Two paths produce the same numbers:

* :meth:`TripFeatureBuilder.training_set` / :meth:`features_for_requests` return a pandas
  DataFrame in ``TRIP_DURATION_SPEC`` column order, for training, evaluation and logging.
* :meth:`TripFeatureBuilder.feature_matrix` returns a float64 numpy matrix without touching
  pandas, for the serving hot path.
* :meth:`TripFeatureBuilder.features_for_columns` returns the same matrix from columns of valid
  trips (numpy or Arrow arrays), with no per-row Python object, for batch scoring.

Every feature is a plain int64 or float64 column, never a pandas ``category``: MLflow's
signature records categoricals as ``long`` and would then reject every served request
whose columns are categoricals (and LightGBM would remap category codes on its own).
Zone attributes come from precomputed per-zone code arrays indexed by zone id, so both
paths look them up with the same ``numpy.take``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.model_spec import ModelSpec
from tripcast.core.domain.trip import MAX_ZONE_ID, MIN_ZONE_ID, TripRequest
from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC
from tripcast.core.ports.learning import FeatureBuilder, TrainingSet
from tripcast.data_engineering.tlc.schema import DURATION_COLUMN
from tripcast.data_engineering.tlc.zones import ZoneLookup

#: zone_pair = pickup_zone * ZONE_PAIR_BASE + dropoff_zone (zone ids stay below 1000).
ZONE_PAIR_BASE: Final = 1000
#: Columns of a processed trips table that the features are computed from.
SOURCE_COLUMNS: Final[tuple[str, ...]] = ("pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance")
#: Length of the hex digest that names a training set's content.
DIGEST_LENGTH: Final = 16
#: Code used for a zone absent from the lookup (cannot happen for ids 1-265 with the bundled lookup).
UNKNOWN_CODE: Final = -1

_INT = np.int64
_FLOAT = np.float64
_MICROS_PER_HOUR: Final = 3_600_000_000
_MICROS_PER_DAY: Final = 24 * _MICROS_PER_HOUR
#: 1970-01-01, day 0 of the epoch, was a Thursday (Monday = 0, as ``datetime.weekday``).
_EPOCH_WEEKDAY: Final = 3


class TripFeatureBuilder(FeatureBuilder):
    """Features of TRIP_DURATION_SPEC from processed trips or from trip requests."""

    spec: ModelSpec = TRIP_DURATION_SPEC
    performs_io = False  # request features are computed from the request and the bundled zone lookup

    def __init__(self, zones: ZoneLookup | None = None) -> None:
        lookup = zones if zones is not None else ZoneLookup.bundled()
        codes = lookup.zone_attribute_codes()
        # Arrays indexed directly by zone id (0..MAX_ZONE_ID) so a lookup is one numpy.take.
        self._borough = np.full(MAX_ZONE_ID + 1, UNKNOWN_CODE, dtype=_INT)
        self._service_zone = np.full(MAX_ZONE_ID + 1, UNKNOWN_CODE, dtype=_INT)
        ids = codes.index.to_numpy(dtype=_INT)
        in_range = (ids >= MIN_ZONE_ID) & (ids <= MAX_ZONE_ID)
        self._borough[ids[in_range]] = codes["borough_code"].to_numpy(dtype=_INT)[in_range]
        self._service_zone[ids[in_range]] = codes["service_zone_code"].to_numpy(dtype=_INT)[in_range]
        self._columns = self.spec.feature_names

    # ----------------------------------------------------------------- training path
    def training_set(self, trips: pd.DataFrame, name: str) -> TrainingSet:
        """Features and ``duration_minutes`` target for processed (valid) trips, vectorised."""
        missing = [c for c in (*SOURCE_COLUMNS, DURATION_COLUMN) if c not in trips.columns]
        if missing:
            raise InvalidInputError(
                [FieldProblem(c, f"column missing from trips table {name!r} (need processed trips)") for c in missing]
            )
        pickup = pd.to_datetime(trips["pickup_datetime"])
        if getattr(pickup.dt, "tz", None) is not None:
            # Wall-clock time is what matters for traffic; drop the zone like the request path does.
            pickup = pickup.dt.tz_localize(None)
        if pickup.isna().any():
            raise InvalidInputError([FieldProblem("pickup_datetime", f"{int(pickup.isna().sum())} missing values")])
        features = self._assemble(
            pickup_zone=_int_column(trips, "pickup_zone"),
            dropoff_zone=_int_column(trips, "dropoff_zone"),
            trip_distance=_float_column(trips, "trip_distance"),
            pickup_hour=pickup.dt.hour.to_numpy(dtype=_INT),
            pickup_weekday=pickup.dt.weekday.to_numpy(dtype=_INT),
        )
        frame = pd.DataFrame(features, columns=self._columns)
        target = _float_column(trips, DURATION_COLUMN)
        return TrainingSet(features=frame, target=target, name=name, digest=table_digest(frame, target))

    # ----------------------------------------------------------------- request paths
    def features_for_requests(self, requests: Sequence[TripRequest]) -> pd.DataFrame:
        """Features for trip requests as a DataFrame, in spec column order and dtypes."""
        return pd.DataFrame(self._request_columns(requests), columns=self._columns)

    def feature_matrix(self, requests: Sequence[TripRequest]) -> np.ndarray:
        """Features for trip requests as a float64 ``(n, n_features)`` matrix, without pandas.

        This is the serving hot path; its values equal :meth:`features_for_requests`.
        """
        columns = self._request_columns(requests)
        matrix = np.empty((len(requests), len(self._columns)), dtype=_FLOAT)
        for j, name in enumerate(self._columns):
            matrix[:, j] = columns[name]
        return matrix

    def features_for_columns(self, trips: Any) -> np.ndarray:
        """Features of valid trips given as columns, as a float64 ``(n, n_features)`` matrix in spec order.

        ``trips[name]`` must give an array-like (numpy, Arrow array or chunked array) for each of
        ``SOURCE_COLUMNS``; ``pickup_datetime`` is naive wall-clock time (any ``datetime64`` unit).
        The values equal :meth:`feature_matrix` for the same trips as requests; no row object is made.
        """
        pickup = np.asarray(trips["pickup_datetime"]).astype("datetime64[us]").astype(_INT)
        columns = self._assemble(
            pickup_zone=np.asarray(trips["pickup_zone"], dtype=_INT),
            dropoff_zone=np.asarray(trips["dropoff_zone"], dtype=_INT),
            trip_distance=np.asarray(trips["trip_distance"], dtype=_FLOAT),
            pickup_hour=(pickup // _MICROS_PER_HOUR) % 24,
            pickup_weekday=(pickup // _MICROS_PER_DAY + _EPOCH_WEEKDAY) % 7,
        )
        matrix = np.empty((len(pickup), len(self._columns)), dtype=_FLOAT)
        for j, name in enumerate(self._columns):
            matrix[:, j] = columns[name]
        return matrix

    def _request_columns(self, requests: Sequence[TripRequest]) -> dict[str, np.ndarray]:
        n = len(requests)
        pickup_zone = np.fromiter((r.pickup_zone for r in requests), dtype=_INT, count=n)
        dropoff_zone = np.fromiter((r.dropoff_zone for r in requests), dtype=_INT, count=n)
        distance = np.fromiter((r.trip_distance for r in requests), dtype=_FLOAT, count=n)
        hour = np.fromiter((r.pickup_datetime.hour for r in requests), dtype=_INT, count=n)
        weekday = np.fromiter((r.pickup_datetime.weekday() for r in requests), dtype=_INT, count=n)
        return self._assemble(pickup_zone, dropoff_zone, distance, hour, weekday)

    # ----------------------------------------------------------------- shared core
    def _assemble(
        self,
        pickup_zone: np.ndarray,
        dropoff_zone: np.ndarray,
        trip_distance: np.ndarray,
        pickup_hour: np.ndarray,
        pickup_weekday: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The one place feature values are computed, whatever path called it."""
        _check_zones("pickup_zone", pickup_zone)
        _check_zones("dropoff_zone", dropoff_zone)
        return {
            "pickup_zone": pickup_zone,
            "dropoff_zone": dropoff_zone,
            "zone_pair": pickup_zone * ZONE_PAIR_BASE + dropoff_zone,
            "pickup_borough": self._borough.take(pickup_zone),
            "dropoff_borough": self._borough.take(dropoff_zone),
            "pickup_service_zone": self._service_zone.take(pickup_zone),
            "dropoff_service_zone": self._service_zone.take(dropoff_zone),
            "trip_distance": trip_distance,
            "pickup_hour": pickup_hour,
            "pickup_weekday": pickup_weekday,
            "same_zone": (pickup_zone == dropoff_zone).astype(_INT),
        }


def table_digest(features: pd.DataFrame, target: np.ndarray | None = None) -> str:
    """A short, stable sha256 of a feature table's names, dtypes and values (and the target's)."""
    digest = hashlib.sha256()
    for name in features.columns:
        values = np.ascontiguousarray(features[name].to_numpy())
        digest.update(f"{name}:{values.dtype.str}:".encode())
        digest.update(values.tobytes())
    if target is not None:
        values = np.ascontiguousarray(np.asarray(target, dtype=_FLOAT))
        digest.update(b"target:")
        digest.update(values.tobytes())
    return digest.hexdigest()[:DIGEST_LENGTH]


def _int_column(trips: pd.DataFrame, name: str) -> np.ndarray:
    column = trips[name]
    if column.isna().any():
        raise InvalidInputError([FieldProblem(name, f"{int(column.isna().sum())} missing values in processed trips")])
    return column.to_numpy(dtype=_INT)


def _float_column(trips: pd.DataFrame, name: str) -> np.ndarray:
    values = pd.to_numeric(trips[name], errors="coerce").to_numpy(dtype=_FLOAT, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InvalidInputError([FieldProblem(name, f"{int(bad.sum())} missing or non-finite values")])
    return values


def _check_zones(field: str, zones: np.ndarray) -> None:
    bad = (zones < MIN_ZONE_ID) | (zones > MAX_ZONE_ID)
    if bad.any():
        examples = sorted({int(z) for z in zones[bad][:5]})
        raise InvalidInputError(
            [FieldProblem(field, f"{int(bad.sum())} zone ids outside {MIN_ZONE_ID}-{MAX_ZONE_ID}, e.g. {examples}")]
        )
