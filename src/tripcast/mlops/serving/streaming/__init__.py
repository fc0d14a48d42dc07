"""Streaming scoring on Redis Streams: consumer groups, dead letters, and reclaiming a crashed consumer's work."""

from tripcast.mlops.serving.streaming.events import parse_trip_event
from tripcast.mlops.serving.streaming.redis_scorer import BatchOutcome, StreamNames, StreamScorer

__all__ = ["BatchOutcome", "StreamNames", "StreamScorer", "parse_trip_event"]
