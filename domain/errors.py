"""The domain exceptions. Raised anywhere; only the ingress maps them to HTTP statuses and protocol errors.

Each carries a protocol-style `code` (DESIGN.md section 4 for the live path) and a human-readable reason.
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


class AccessRefused(DomainError):
    """A candidate may not take a test now; `code` is one of the protocol's access codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
