"""No train/serve skew: on real trips the serving paths compute exactly the training features."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from tripcast.core.domain.trip import TripRequest
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder


def test_serving_paths_equal_training_features_on_real_rows(
    processed_month: Callable[[str], pd.DataFrame], feature_builder: TripFeatureBuilder
) -> None:
    trips = processed_month("2021-02").sample(3000, random_state=7).reset_index(drop=True)
    training = feature_builder.training_set(trips, "2021-02 sample").features
    requests = [
        TripRequest.create(
            pickup_datetime=row.pickup_datetime.to_pydatetime(),
            pickup_zone=int(row.pickup_zone),
            dropoff_zone=int(row.dropoff_zone),
            trip_distance=float(row.trip_distance),
        )
        for row in trips.itertuples()
    ]
    frame = feature_builder.features_for_requests(requests)
    matrix = feature_builder.feature_matrix(requests)
    pd.testing.assert_frame_equal(frame, training)
    np.testing.assert_array_equal(matrix, training.to_numpy(dtype=np.float64))
    # the sample is varied enough for the comparison to mean something
    assert training["pickup_hour"].nunique() == 24 and training["pickup_weekday"].nunique() == 7
    assert training["same_zone"].sum() > 0 and training["pickup_borough"].nunique() >= 4
