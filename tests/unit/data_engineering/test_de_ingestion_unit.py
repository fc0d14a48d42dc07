"""Pure ingestion helpers: rate limiting, stream event decoding, Retry-After, egress policy."""

from __future__ import annotations

from tripcast.data_engineering.ingestion.rest import RateLimiter
from tripcast.data_engineering.streaming import decode_batch, encode_event


def test_rate_limiter_spaces_requests():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    waits = [limiter.wait() for _ in range(3)]
    assert waits == [0.0, 0.25, 0.25]
    now[0] += 10  # an idle period does not bank a burst beyond one request
    assert limiter.wait() == 0.0
    assert limiter.wait() == 0.25


def test_events_round_trip_and_bad_events_are_rejected_not_dropped():
    from datetime import datetime

    event = encode_event(
        {
            "PULocationID": 74,
            "DOLocationID": 75,
            "lpep_pickup_datetime": datetime(2021, 1, 5, 8, 0),
            "lpep_dropoff_datetime": datetime(2021, 1, 5, 8, 12),
            "trip_distance": 1.4,
        }
    )
    batch = decode_batch([("1-0", event), ("2-0", b"{not json"), ("3-0", b"[1, 2]")], "green")
    assert batch.ids == ["1-0"]
    assert [eid for eid, _ in batch.rejected] == ["2-0", "3-0"]
    row = batch.trips.iloc[0]
    assert (row.pickup_zone, row.dropoff_zone, row.service) == (74, 75, "green")
    assert row.dropoff_datetime.minute == 12


def test_retry_after_is_capped_and_understands_http_dates():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    import httpx

    from tripcast.data_engineering.ingestion.retry import retry_after_seconds as _retry_after

    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert _retry_after(answer("3600"), 60.0) == 60.0  # a server cannot park the ingestion for an hour
    assert _retry_after(answer("2.5"), 60.0) == 2.5
    assert _retry_after(answer("-5"), 60.0) == 0.0
    assert _retry_after(answer("nan"), 60.0) is None and _retry_after(answer("soon"), 60.0) is None
    assert _retry_after(answer("1e999"), 60.0) == 60.0
    in_a_day = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
    assert _retry_after(answer(in_a_day), 60.0) == 60.0
    assert _retry_after(httpx.Response(503), 60.0) is None


def test_masked_urls_keep_no_token_or_password():
    from tripcast.egress import mask_endpoint

    assert (
        mask_endpoint("https://hooks.slack.com/services/T0001/B0002/XXXXsecret")
        == "https://hooks.slack.com/services/T***"
    )
    masked = mask_endpoint("http://bot:hunter2@127.0.0.1:9093/hooks/alerts?token=abc")
    assert masked == "http://bot:***@127.0.0.1:9093/hooks/a***?***"
    assert "hunter2" not in masked and "abc" not in masked


def test_egress_policy_refuses_every_non_public_address_unless_allowed():
    import pytest

    from tripcast.egress import EgressPolicy, EgressRefusedError

    inside = [
        "127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "::",
    ]  # fmt: skip
    for address in inside:
        with pytest.raises(EgressRefusedError, match="private, loopback or link-local"):
            EgressPolicy().addresses("target.example", 443, resolve=lambda h, p, a=address: [a])
    public = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    assert EgressPolicy().addresses("public.example", 443, resolve=lambda h, p: public) == public
    # one private address among public ones is enough to refuse the name
    with pytest.raises(EgressRefusedError):
        EgressPolicy().addresses("mixed.example", 443, resolve=lambda h, p: [*public, "10.0.0.5"])
    allowed = EgressPolicy(allowed_hosts=("10.0.0.0/8", "hooks.internal"))
    assert allowed.addresses("a.example", 80, resolve=lambda h, p: ["10.9.9.9"]) == ["10.9.9.9"]
    assert allowed.addresses("HOOKS.internal.", 80, resolve=lambda h, p: ["192.168.0.2"]) == ["192.168.0.2"]
    with pytest.raises(EgressRefusedError):
        allowed.addresses("b.example", 80, resolve=lambda h, p: ["192.168.0.2"])
    assert EgressPolicy(allow_private=True).addresses("x", 80, resolve=lambda h, p: ["127.0.0.1"]) == ["127.0.0.1"]
