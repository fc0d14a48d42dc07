"""Discover which TLC trip-record months exist by scraping the TLC trip-record page's links.

The page (https://www.nyc.gov/site/tlc/about/tlc-trip-record-data.page) lists one link per
service and month, e.g. ``https://d37ci6vzurychx.cloudfront.net/trip-data/green_tripdata_2021-01.parquet``.
Only those links are trusted; the surrounding markup changes often, so nothing else is parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
from bs4 import BeautifulSoup

from tripcast.core.domain.month import Month

TLC_PAGE_URL = "https://www.nyc.gov/site/tlc/about/tlc-trip-record-data.page"
_FILE = re.compile(
    r"(?P<service>yellow|green|fhv|fhvhv)_tripdata_(?P<year>\d{4})-(?P<month>\d{2})\.(?:parquet|csv(?:\.gz)?)$"
)


@dataclass(frozen=True, order=True)
class TlcFileLink:
    """One downloadable month file."""

    service: str
    month: Month
    url: str


def parse_tlc_links(
    html: str, base_url: str = TLC_PAGE_URL, services: tuple[str, ...] | None = None
) -> list[TlcFileLink]:
    """Every trip-data link in the page, deduplicated and sorted by service then month."""
    soup = BeautifulSoup(html, "html.parser")
    found: dict[tuple[str, Month], TlcFileLink] = {}
    for anchor in soup.find_all("a", href=True):
        url = urljoin(base_url, str(anchor["href"]).strip())
        match = _FILE.search(url.split("?")[0])
        if match is None:
            continue
        service = match["service"]
        if services is not None and service not in services:
            continue
        month = Month(int(match["year"]), int(match["month"]))
        found.setdefault((service, month), TlcFileLink(service, month, url))
    return sorted(found.values())


def available_months(html: str, service: str = "green") -> list[Month]:
    """Months published for ``service``, oldest first."""
    return [link.month for link in parse_tlc_links(html, services=(service,))]


def fetch_tlc_page(url: str = TLC_PAGE_URL, timeout: float = 30.0) -> str:
    """The trip-record page's HTML (a browser-like user agent: the site rejects bare clients)."""
    headers = {"User-Agent": "Mozilla/5.0 (compatible; tripcast/0.1; +https://github.com/tripcast)"}
    response = httpx.get(url, timeout=timeout, headers=headers, follow_redirects=True)
    response.raise_for_status()
    return response.text
