"""The domain exceptions. Raised anywhere; only the ingress maps them to HTTP statuses and protocol errors.

Each carries a `code` and a human-readable reason; `Refused` carries one of the WebSocket protocol's
error codes (DESIGN.md section 4).
"""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidRequest(DomainError):
    code = "invalid_request"


class AuthenticationFailed(DomainError):
    code = "unauthorized"


class PermissionDenied(DomainError):
    code = "forbidden"


class Refused(DomainError):
    """A live-path request refused with a protocol error code (`not_started`, `already_answered`, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class AccessRefused(Refused):
    """A candidate may not take a test now (`not_eligible`, `window_closed`, `attempts_exhausted`, ...)."""


class Throttled(DomainError):
    """Too many attempts (failed logins): try again after `retry_after_s` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
