"""Printing a connection URL without its secrets."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

#: Query parameters that carry credentials in database and service URLs.
_SECRET_PARAMETERS = frozenset({"password", "passwd", "pwd", "token", "access_token", "secret", "api_key", "apikey"})
MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with its password (and credential query parameters) replaced by ``***``.

    ``postgresql+psycopg://user:pw@host/db`` -> ``postgresql+psycopg://user:***@host/db``; URLs without
    credentials and plain paths come back unchanged. Never raises: a string that does not parse as a
    URL is shown only up to its scheme.
    """
    try:
        parts = urlsplit(url)
        masked = url
        if "@" in parts.netloc:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            user, has_password, _ = userinfo.partition(":")
            if has_password:
                masked = masked.replace(parts.netloc, f"{user}:{MASK}@{hostport}", 1)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if any(key.lower() in _SECRET_PARAMETERS for key, _ in pairs):
            query = urlencode([(k, MASK if k.lower() in _SECRET_PARAMETERS else v) for k, v in pairs], safe="*")
            masked = masked.replace(f"?{parts.query}", f"?{query}", 1)
        return masked
    except ValueError:
        scheme = url.partition("://")[0]
        return f"{scheme}://{MASK}" if "://" in url else MASK
