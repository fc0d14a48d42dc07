"""Data-engineering unit tests share their trip-frame fixtures with the integration tier."""

from support.trip_frames import build_trips, january_canonical, raw_trip  # noqa: F401 - fixtures
