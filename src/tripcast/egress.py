"""Outbound HTTP that cannot be pointed at the inside: the guard for webhooks and REST ingestion (SSRF).

A URL someone else controls (an alerting webhook, a REST API's ``next`` link) must not make Tripcast call
the cloud metadata service, the database or an admin port on localhost. :class:`EgressPolicy` refuses any
host that resolves to a private, loopback, link-local, shared, reserved, multicast or unspecified address,
unless the settings allow it (``TRIPCAST_EGRESS_ALLOWED_HOSTS`` names hosts, addresses or networks;
``TRIPCAST_EGRESS_ALLOW_PRIVATE=true`` allows them all, for a laptop). Every address a name resolves to is
checked, not just the first.

The check runs where the connection is opened (:func:`guarded_client`): the name is resolved once, each
address checked, and the socket connected to a checked address. A DNS answer that changes between a check
and the connect (rebinding) therefore cannot reach an address that was never checked. Guarded clients
ignore the ``HTTP(S)_PROXY`` environment: a proxy would connect on our behalf, past the check.

This module sits beside :mod:`tripcast.settings`, below the adapter packages, so that data engineering
and observability (which may not import each other) share one guard.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from tripcast.core.domain.errors import TripcastError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]


class EgressRefusedError(TripcastError):
    """An outbound request was refused: its target is not a public address, or its URL is unusable."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _address(text: str) -> Address:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: Address) -> bool:
    """Whether an address is one a request from this service may reach without an explicit allowance."""
    return address.is_global and not (address.is_multicast or address.is_unspecified or address.is_reserved)


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Which non-public targets outbound HTTP may reach: none by default."""

    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any | None = None) -> EgressPolicy:
        """The policy the settings (``TRIPCAST_EGRESS_*``) describe; read from the environment when not given."""
        if settings is None:
            from tripcast.settings import load_settings

            settings = load_settings()
        hosts = tuple(part.strip() for part in str(settings.egress_allowed_hosts).split(",") if part.strip())
        return cls(bool(settings.egress_allow_private), hosts)

    def _allowed_networks(self) -> list[Network]:
        networks = []
        for entry in self.allowed_hosts:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                continue  # a host name, matched by name
        return networks

    def _host_allowed(self, host: str) -> bool:
        names = {entry.strip().lower().rstrip(".") for entry in self.allowed_hosts}
        return host.lower().rstrip(".") in names

    def check_url(self, url: str) -> None:
        """Refuse a URL that is not ``http(s)://host...`` (no DNS look-up: that happens on connect)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EgressRefusedError(f"{mask_endpoint(url)}: only http:// and https:// URLs with a host are allowed")

    def addresses(self, host: str, port: int, resolve: Resolver = system_resolver) -> list[str]:
        """The addresses of ``host`` a connection may use; refused if any of them is not allowed.

        Checking every address (not only the first) keeps a name that resolves to one public and one
        private address from being used to reach the private one on a later connect.
        """
        host = host.strip("[]")
        resolved = list(resolve(host, port))
        if not resolved:
            raise EgressRefusedError(f"{host} resolves to no address")
        if self.allow_private or self._host_allowed(host):
            return resolved
        networks = self._allowed_networks()
        for text in resolved:
            address = _address(text)
            if not is_public(address) and not any(address in network for network in networks):
                target = host if host == str(address) else f"{host} ({address})"
                raise EgressRefusedError(
                    f"{target} is a private, loopback or link-local address; outbound requests there are "
                    "refused unless TRIPCAST_EGRESS_ALLOWED_HOSTS lists it"
                )
        return resolved


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks every address, and connects only to a checked one."""

    def __init__(self, policy: EgressPolicy, resolve: Resolver) -> None:
        self.policy = policy
        self.resolve = resolve

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self.policy.addresses(host, port, self.resolve)
        except OSError as exc:  # the name does not resolve: a network error, retried like one
            raise httpcore.ConnectError(f"{host}: {exc}") from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error


def guarded_client(
    policy: EgressPolicy,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    resolve: Resolver = system_resolver,
) -> httpx.Client:
    """An ``httpx.Client`` whose every connection goes through ``policy`` (redirects are not followed)."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx has no public knob for the network backend (encode/httpx#3180); its pool is the documented seam.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=_GuardedBackend(policy, resolve)
    )
    return httpx.Client(transport=transport, timeout=timeout, headers=headers or {}, trust_env=False)


def mask_endpoint(url: str) -> str:
    """An endpoint URL safe to log: no password, query or fragment, and path segments after the first cut to one
    character, since webhook URLs carry their token in the path (``https://hooks.slack.com/services/T***``).
    Connection URLs, whose path is no secret, go through :func:`tripcast.security.urls.mask_url` instead."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    user = f"{parts.username}:***@" if parts.password is not None else (f"{parts.username}@" if parts.username else "")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) > 1:
        path = f"/{segments[0]}/{segments[1][:1]}***"
    elif segments:
        path = f"/{segments[0]}"
    else:
        path = ""
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, f"{user}{host}{port}", path, query, ""))
