"""Failed logins throttled per account and per client address, with the `limits` library (a moving
window in this replica's memory; settings `ASSESS_LOGIN_FAILURES_PER_ACCOUNT`, `..._PER_ADDRESS`).

Only failures count. Once an account or an address has used up its failures in the window, every login
for it gets 429 with `Retry-After` until the oldest failure leaves the window, whether or not the password
is right: a guesser learns nothing more, and the check comes before the password is hashed; an address
with no failures left is refused before the request is even parsed (serve_app/login_gate.py). A burst
cannot slip past the count while its first failures are still being hashed: a replica checks logins a few
at a time (`LoginGate`), each against the failures recorded before it.

The per-account limit stops guessing one password from many addresses; the per-address limit stops trying
many accounts from one. Each replica counts its own requests. The limiter is `limits`' synchronous one: a
check in memory costs microseconds, where its asynchronous memory storage hops to a thread for every key it
expires on every call (measured: a storm of logins from 200 addresses spent the event loop there).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import AsyncIterator

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from config.settings import Settings
from domain.errors import AuthenticationFailed, Throttled


class LoginThrottle:
    def __init__(self, per_account: str, per_address: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_account = parse(per_account)
        self._per_address = parse(per_address)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(settings.login_failures_per_account, settings.login_failures_per_address)

    def check_address(self, address: str) -> None:
        """Refuse with `Throttled` when the address has no failure left (what a request's headers tell,
        before its body is read: serve_app/login_gate.py)."""
        self._check(self._per_address, ("login-address", address))

    @contextlib.asynccontextmanager
    async def attempt(self, account: str, address: str) -> AsyncIterator[None]:
        """One login: refused with `Throttled` when the account or the address has no failure left, and
        counted as a failure if the body raises `AuthenticationFailed`."""
        counted = self._limits(account, address)
        for limit, key in counted:
            self._check(limit, key)
        try:
            yield
        except AuthenticationFailed:
            for limit, key in counted:
                self._limiter.hit(limit, *key)
            raise

    def _check(self, limit: RateLimitItem, key: tuple[str, str]) -> None:
        if not self._limiter.test(limit, *key):
            window = self._limiter.get_window_stats(limit, *key)
            retry_after_s = max(1, math.ceil(window.reset_time - time.time()))
            raise Throttled(f"too many failed logins; try again in {retry_after_s} s", retry_after_s)

    def _limits(self, account: str, address: str) -> list[tuple[RateLimitItem, tuple[str, str]]]:
        return [(self._per_account, ("login-account", account)), (self._per_address, ("login-address", address))]
