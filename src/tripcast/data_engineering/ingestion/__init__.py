"""Ingestion sources beyond TLC files: SQL databases (``database``), paginated REST APIs (``rest``), the shared
retry policy (``retry``) and the landing area they write to (``landing``). Import the module you need: this
package imports nothing itself, so the TLC downloader can use the retry policy without loading SQLAlchemy.

Stream sources (Redis Streams, NATS JetStream) live in :mod:`tripcast.data_engineering.streaming`.
"""
