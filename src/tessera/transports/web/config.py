"""The HTTP edge's settings checked (``trusted_proxies``, ``cors_origins``, the
connection limits, ``http_tls_cert`` and ``http_tls_key``): the fields themselves are in
``tessera.settings``."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit


def check_http_edge(
    *,
    trusted_proxies: Sequence[str],
    cors_origins: Sequence[str],
    header_timeout_s: float,
    keep_alive_s: int,
    max_connections: int | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    requests_per_second: float,
    request_burst: int,
) -> None:
    """Raise ValueError naming what is wrong with the HTTP edge's settings."""
    if requests_per_second <= 0 or request_burst < 1:
        raise ValueError("requests_per_second and request_burst must be positive")
    for proxy in trusted_proxies:
        try:
            ipaddress.ip_network(proxy)
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {exc}") from None
    if "*" in cors_origins and len(cors_origins) > 1:
        raise ValueError('cors_origins: "*" (any origin) stands alone')
    for origin in cors_origins:
        problem = None if origin == "*" else origin_problem(origin)
        if problem is not None:
            raise ValueError(f"cors_origins: {origin!r} {problem}")
    if header_timeout_s <= 0 or keep_alive_s < 0:
        raise ValueError(
            "http_header_timeout_s must be positive and http_keep_alive_s not negative"
        )
    if max_connections is not None and max_connections < 1:
        raise ValueError("http_max_connections must be positive (or null for no limit)")
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("http_tls_cert and http_tls_key go together")


def origin_problem(origin: str) -> str | None:
    """What keeps ``origin`` from matching a browser's Origin header, or None: a browser
    sends scheme://host[:port] exactly, lowercase, without the scheme's own port."""
    form = "scheme://host[:port] (no path, no trailing slash)"
    if origin != origin.lower():
        return "must be lowercase, as browsers send it"
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError as exc:
        return f"is not an origin: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"is not an origin: {form} with http or https"
    if origin != f"{parts.scheme}://{parts.netloc}" or "@" in parts.netloc:
        return f"is not an origin: {form}"
    if port == {"http": 80, "https": 443}[parts.scheme]:
        return f"must leave out the default port {port}, as browsers do"
    return None
