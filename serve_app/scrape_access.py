"""Who may read `/metrics`: a scraper presenting `ASSESS_METRICS_TOKEN` as a bearer token, or, where no
token is set, anyone who can reach a server that listens on loopback only.

A client address cannot decide it: behind Ray's HAProxy every request reaches the replica from 127.0.0.1,
so "loopback clients only" on a public listener would let everyone in. A server listening beyond loopback
without a token serves no metrics at all, and says which setting is missing.
"""

from __future__ import annotations

import hmac

from config.settings import Settings
from domain.errors import AuthenticationFailed, PermissionDenied

BEARER = "bearer"


def check_scrape(authorization: str | None, settings: Settings) -> None:
    """Raise unless this request may read the metrics."""
    if settings.metrics_token is None:
        if not settings.listens_on_loopback_only:
            raise PermissionDenied("metrics are served beyond loopback only with ASSESS_METRICS_TOKEN set")
        return
    scheme, _, presented = (authorization or "").partition(" ")
    expected = settings.metrics_token.get_secret_value()
    if scheme.lower() != BEARER or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise AuthenticationFailed("metrics need the scrape token: Authorization: Bearer <ASSESS_METRICS_TOKEN>")
