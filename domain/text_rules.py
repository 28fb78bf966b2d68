"""Text the store cannot hold: PostgreSQL refuses NUL characters in text, so they are refused at the edge
(a 422 on REST, `invalid_message` on the WebSocket) rather than failing deep in a query."""

from __future__ import annotations

from typing import Any

NUL = "\x00"


def holds_nul(value: Any) -> bool:
    """True if a NUL character appears in any string inside `value` (keys included)."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    return False


def refuse_nul(value: Any) -> Any:
    """A `mode="before"` model validator: raise ValueError on a NUL anywhere in the input."""
    if holds_nul(value):
        raise ValueError("text must not contain NUL characters")
    return value
