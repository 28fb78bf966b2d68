"""Failed logins throttled per account and per client address, with the `limits` library (a moving
window; settings `ASSESS_LOGIN_FAILURES_PER_ACCOUNT`, `..._PER_ADDRESS`, `ASSESS_LOGIN_THROTTLE_STORAGE`).

Only failures count. Once an account or an address has used up its failures in the window, every login
for it gets 429 with `Retry-After` until the oldest failure leaves the window, whether or not the password
is right: a guesser learns nothing more, and the check comes before the password is hashed, so a flood of
throttled logins costs the server almost nothing. A burst cannot slip past the count while its first
failures are still being hashed: a replica checks logins a few at a time (serve_app/middleware.py,
`LoginAdmission`), each against the failures recorded before it.

The per-account limit stops guessing one password from many addresses; the per-address limit stops trying
many accounts from one. With the default in-memory storage each replica counts its own requests; a shared
storage URL makes one count for all replicas.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import limits.strategies
from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from config.settings import Settings
from domain.errors import AuthenticationFailed, Throttled


class LoginThrottle:
    def __init__(self, per_account: str, per_address: str, storage_uri: str = "memory://") -> None:
        # In memory, the synchronous limiter: a check costs microseconds, where the asynchronous memory
        # storage hops to a thread for every key it expires on every call (measured: a storm of logins from
        # 200 addresses spent its event loop there). Storages over the network use the asynchronous one.
        self._limiter: MovingWindowRateLimiter | limits.strategies.MovingWindowRateLimiter = (
            limits.strategies.MovingWindowRateLimiter(storage_from_string(storage_uri))
            if storage_uri.startswith("memory://")
            else MovingWindowRateLimiter(storage_from_string(f"async+{storage_uri}"))
        )
        self._per_account = parse(per_account)
        self._per_address = parse(per_address)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            settings.login_failures_per_account, settings.login_failures_per_address, settings.login_throttle_storage
        )

    @contextlib.asynccontextmanager
    async def attempt(self, account: str, address: str) -> AsyncIterator[None]:
        """One login: refused with `Throttled` when the account or the address has no failure left, and
        counted as a failure if the body raises `AuthenticationFailed`."""
        await self.check(account, address)
        try:
            yield
        except AuthenticationFailed:
            await self.failed(account, address)
            raise

    async def check(self, account: str, address: str) -> None:
        """Raise `Throttled` if the account or the address has no failure left in the window."""
        for limit, key in self._limits(account, address):
            if not await self._call("test", limit, *key):
                window = await self._call("get_window_stats", limit, *key)
                retry_after_s = max(1, math.ceil(window.reset_time - time.time()))
                raise Throttled(f"too many failed logins; try again in {retry_after_s} s", retry_after_s)

    async def failed(self, account: str, address: str) -> None:
        for limit, key in self._limits(account, address):
            await self._call("hit", limit, *key)

    async def _call(self, method: str, *arguments: Any) -> Any:
        result = getattr(self._limiter, method)(*arguments)
        return await result if inspect.isawaitable(result) else result

    def _limits(self, account: str, address: str) -> list[tuple[RateLimitItem, tuple[str, str]]]:
        return [(self._per_account, ("login-account", account)), (self._per_address, ("login-address", address))]
