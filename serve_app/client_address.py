"""The address of the client behind a request: the peer, or, where the peer is a proxy the settings trust
(`ASSESS_TRUSTED_PROXIES`), the nearest address its `X-Forwarded-For` names that is not itself trusted.

A client can write any `X-Forwarded-For` it likes, so the header counts only when a trusted proxy
delivered the request, and only its entries appended by trusted proxies are believed (read from the right).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

UNKNOWN = "unknown"


def client_address(connection: HTTPConnection, trusted_proxies: tuple[str, ...]) -> str:
    peer = connection.client.host if connection.client else UNKNOWN
    if peer not in trusted_proxies:
        return peer
    forwarded = [part.strip() for part in connection.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if address not in trusted_proxies:
            return address[:64]
    return peer
