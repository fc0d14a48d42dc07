"""The worked domain's learning problem: minutes from pickup to dropoff."""

from __future__ import annotations

from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec

C = FeatureKind.CATEGORICAL
N = FeatureKind.NUMERIC

#: Every feature is known at pickup time: no fare, tip or total (known after the trip).
TRIP_DURATION_SPEC = ModelSpec(
    name="trip-duration",
    features=(
        FeatureSpec("pickup_zone", C, "TLC pickup zone id (1-265)"),
        FeatureSpec("dropoff_zone", C, "TLC dropoff zone id (1-265)"),
        FeatureSpec("zone_pair", C, "pickup*1000 + dropoff, one id per ordered zone pair"),
        FeatureSpec("pickup_borough", C, "borough of the pickup zone, as an integer code"),
        FeatureSpec("dropoff_borough", C, "borough of the dropoff zone, as an integer code"),
        FeatureSpec("pickup_service_zone", C, "service zone of the pickup zone, as an integer code"),
        FeatureSpec("dropoff_service_zone", C, "service zone of the dropoff zone, as an integer code"),
        FeatureSpec("trip_distance", N, "trip distance, miles"),
        FeatureSpec("pickup_hour", N, "hour of day at pickup, 0-23"),
        FeatureSpec("pickup_weekday", N, "day of week at pickup, Monday=0"),
        FeatureSpec("same_zone", N, "1 when pickup and dropoff zones are the same"),
    ),
    target="duration_minutes",
    target_unit="minutes",
    tags={"domain": "nyc-taxi"},
)

#: TRIP_DURATION_SPEC plus the zone-level aggregates of the feature store (numeric, NaN when the store
#: has no fresh row for the zone or pair). Each is computed only from trips that had ended before pickup.
TRIP_DURATION_WITH_STORE_SPEC = ModelSpec(
    name="trip-duration-store",
    features=(
        *TRIP_DURATION_SPEC.features,
        FeatureSpec("zone_trips_1h", N, "trips from the pickup zone that ended in the previous hour"),
        FeatureSpec("zone_median_duration_1h", N, "median minutes of those trips"),
        FeatureSpec("zone_mean_speed_1h", N, "mean speed (mph) of those trips"),
        FeatureSpec("pair_trips_7d", N, "trips between the zone pair that ended in the previous 7 days"),
        FeatureSpec("pair_median_duration_7d", N, "median minutes of those trips"),
    ),
    target="duration_minutes",
    target_unit="minutes",
    tags={"domain": "nyc-taxi", "feature_store": "zone-aggregates"},
)
