"""Streaming ingestion: trip events from Redis Streams and NATS JetStream into micro-batches of canonical trips."""

from tripcast.data_engineering.streaming.events import MicroBatch, decode_batch, encode_event
from tripcast.data_engineering.streaming.nats_jetstream import NatsTripStream
from tripcast.data_engineering.streaming.redis_stream import RedisTripStream

__all__ = ["MicroBatch", "NatsTripStream", "RedisTripStream", "decode_batch", "encode_event"]
