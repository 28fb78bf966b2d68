"""The way into `POST /auth/token` on a replica: what a flood of logins may cost the candidates beside it.

Three rules, in the order a login meets them:

- **Spent addresses are refused at the gate.** A login from a client address with no failures left
  (serve_app/login_throttle.py) is answered 429 from its headers alone, before the application routes or
  parses it.
- **Logins are admitted `LOGINS_IN_FLIGHT` at a time.** The rest wait here, costing nothing, rather than
  running through routing, form parsing and the throttle all at once, which held the event loop for a
  third of a second per burst of 200 while the candidates' answers waited behind it. Checked one after
  another, a burst also cannot slip past the failure count while its first failures are being hashed.
- **Refusals are answered slowly, and one at a time.** A refused login (401 or 429) is answered no sooner
  than `login_failure_delay_s` (1 s by default) after it arrived, as PAM's `pam_faildelay` does, and
  refusals leave a replica evenly spaced, at most `REFUSALS_PER_S` a second whatever the number of
  connections asking. Without a delay, 200 connections flooding a replica got 1,500 throttled answers a
  second, which spent a whole core and multiplied the candidates' answer p99 on that replica by 19
  (bench/login_storm.py); with the delay alone, the 200 refusals went out together each second and came
  back together, a burst the candidates' answers queued behind (p99 1.9 times). Spaced out, the flood
  arrives as a steady trickle. A waiting refusal holds no admission turn and no database connection, only a
  timer. Successful logins and malformed requests (422) are answered at once.
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import Throttled
from serve_app.client_address import client_address
from serve_app.errors import domain_error_response
from serve_app.login_throttle import LoginThrottle

LOGINS_IN_FLIGHT = 2
REFUSED = (401, 429)
REFUSALS_PER_S = 50


def is_login(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/auth/token")


class HeldRefusal:
    """The application's `send` for one login: a refusal's messages are kept, to go out once the delay is
    over; anything else goes out at once."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        if self.messages or (message["type"] == "http.response.start" and message["status"] in REFUSED):
            self.messages.append(message)
        else:
            await self._send(message)


class LoginGate:
    def __init__(
        self,
        app: ASGIApp,
        throttle: LoginThrottle,
        trusted_proxies: tuple[str, ...],
        failure_delay_s: float,
        login_route: BaseRoute,
    ) -> None:
        self.app = app
        self._throttle = throttle
        self._trusted_proxies = trusted_proxies
        self._failure_delay_s = failure_delay_s
        self._login_route = login_route  # named on the gate's own answers, for the request metrics
        self._turns = asyncio.Semaphore(LOGINS_IN_FLIGHT)
        self._next_refusal = 0.0  # the earliest time the next refusal may leave

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_login(scope):
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        try:
            self._throttle.check_address(client_address(HTTPConnection(scope), self._trusted_proxies))
        except Throttled as refusal:
            scope["route"] = self._login_route
            await self._after_delay(arrived)
            await domain_error_response(refusal)(scope, receive, send)
            return
        held = HeldRefusal(send)
        async with self._turns:
            await self.app(scope, receive, held)
        if held.messages:
            await self._after_delay(arrived)
            for message in held.messages:
                await send(message)

    async def _after_delay(self, arrived: float) -> None:
        """Wait for this refusal's slot: the delay after its arrival, and after the previous refusal's slot."""
        slot = max(arrived + self._failure_delay_s, self._next_refusal)
        self._next_refusal = slot + 1 / REFUSALS_PER_S
        await asyncio.sleep(max(0.0, slot - time.monotonic()))
