"""Revoking tokens and throttling logins, attacked over real HTTP and WebSocket on both databases.

A logout, a password change, a role change and a disable revoke every token the user holds: REST refuses
them from the commit on, open sockets close with 4401, and a new socket with an old token is refused at
the handshake. Failed logins are throttled per account and per client address with 429 and Retry-After,
a burst included; the addresses come from X-Forwarded-For through a proxy the settings trust. Refusals
are answered no sooner than the failure delay after they arrived, and leave the gate evenly spaced.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server
from live_client import LiveClient, ws_url
from prometheus_scrape import scrape, value
from starlette.requests import Request

from config.settings import Settings
from serve_app.client_address import client_address
from serve_app.login_gate import REFUSALS_PER_S

pytestmark = pytest.mark.websocket
CLOSE_WAIT_S = 30.0


async def open_socket(server: Server, token: str, test_id: int | None = None, subprotocol: bool = False) -> LiveClient:
    query: dict[str, object] = {} if subprotocol else {"token": token}
    if test_id is not None:
        query["test_id"] = test_id
    path = "/ws/assessment" if test_id is not None else "/ws/chat"
    options = {"subprotocols": ["bearer", token]} if subprotocol else {}
    client = await LiveClient.connect(ws_url(server.base_url, path, **query), **options)
    await client.expect("auth_success")
    return client


async def close_code(client: LiveClient) -> int | None:
    """The code the server closes with, waiting for it (frames before it are read and dropped)."""
    try:
        while True:
            await asyncio.wait_for(client.socket.recv(), CLOSE_WAIT_S)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def refused_at_handshake(server: Server, token: str) -> int | None:
    client = await LiveClient.connect(ws_url(server.base_url, "/ws/chat", token=token))
    return await close_code(client)


def me(server: Server, token: str) -> int:
    with server.client(token) as client:
        return client.get("/api/users/me").status_code


def test_a_logout_revokes_every_session_of_the_user(server: Server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    candidate = live.candidate
    second_device = server.login(candidate.email, candidate.password)

    async def scenario() -> dict[str, Any]:
        taking = await open_socket(server, candidate.token, live.test_id, subprotocol=True)
        await taking.start()
        chatting = await open_socket(server, second_device)
        with server.client(second_device) as client:
            logged_out = client.post("/auth/logout")
        codes = await asyncio.gather(close_code(taking), close_code(chatting))
        return {"logged_out": logged_out, "codes": codes, "refused": await refused_at_handshake(server, second_device)}

    seen = asyncio.run(scenario())
    assert seen["logged_out"].status_code == 204, seen["logged_out"].text
    assert seen["codes"] == [4401, 4401]  # both devices, both sockets
    assert seen["refused"] == 4401
    assert me(server, candidate.token) == me(server, second_device) == 401
    with server.client(second_device) as client:
        assert client.post("/auth/logout").status_code == 401  # an old token cannot log out again
    with server.client() as client:
        assert client.post("/auth/logout").status_code == 401
    # Signing in again gives a working token, and the attempt resumes where it was.
    fresh = server.login(candidate.email, candidate.password)
    assert me(server, fresh) == 200

    async def resume() -> dict[str, Any]:
        client = await open_socket(server, fresh, live.test_id)
        started, _ = await client.start()
        await client.close()
        return started

    assert asyncio.run(resume())["resumed"] is True


@pytest.mark.parametrize(
    "change",
    [{"password": "a-brand-new-password"}, {"is_active": False}, {"role": "recruiter"}],
    ids=["password", "disable", "role"],
)
def test_an_admin_change_revokes_the_users_tokens(server: Server, admin: httpx.Client, make_user, change) -> None:  # type: ignore[no-untyped-def]
    user = make_user("candidate")
    unchanged = make_user("candidate")

    async def scenario() -> list[int | None]:
        socket = await open_socket(server, user.token)
        bystander = await open_socket(server, unchanged.token)
        patched = admin.patch(f"/api/users/{user.id}", json=change)
        assert patched.status_code == 200, patched.text
        code = await close_code(socket)
        await bystander.send("heartbeat")
        ack = await bystander.expect("heartbeat_ack")  # another user's socket is untouched
        await bystander.close()
        return [code, 1 if ack else None]

    assert asyncio.run(scenario()) == [4401, 1]
    assert me(server, user.token) == 401 and me(server, unchanged.token) == 200
    if "password" in change:
        assert me(server, server.login(user.email, change["password"])) == 200
    # A rename changes nothing about sessions.
    assert admin.patch(f"/api/users/{unchanged.id}", json={"full_name": "Renamed"}).status_code == 200
    assert me(server, unchanged.token) == 200


def test_a_token_with_a_forged_generation_is_refused(server: Server, make_user) -> None:  # type: ignore[no-untyped-def]
    from jose import jwt

    user = make_user("candidate")
    claims = jwt.get_unverified_claims(user.token)
    secret = server.settings.secret_key.get_secret_value()
    for generation in (1, -1, "0", None, 2**70, True):
        forged = jwt.encode({**claims, "gen": generation}, secret, algorithm="HS256")
        assert me(server, forged) == 401, generation
    assert me(server, user.token) == 200


# -- login throttling, on a server of its own: three failures per account, six per address, a minute ------


@pytest.fixture(scope="module")
def throttled(isolated_server) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    yield isolated_server(
        ASSESS_LOGIN_FAILURES_PER_ACCOUNT="3/minute",
        ASSESS_LOGIN_FAILURES_PER_ADDRESS="6/minute",
        ASSESS_TRUSTED_PROXIES="127.0.0.1",  # the test client plays a proxy: X-Forwarded-For names the client
    )


def login(server: Server, email: str, password: str, address: str) -> httpx.Response:
    with server.client() as client:
        return client.post(
            "/auth/token", data={"username": email, "password": password}, headers={"X-Forwarded-For": address}
        )


def new_user(server: Server) -> tuple[str, str]:
    email, password = f"throttle-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    with server.client(server.login(ADMIN_EMAIL, ADMIN_PASSWORD)) as admin:
        created = admin.post(
            "/api/users", json={"email": email, "password": password, "full_name": "T", "role": "candidate"}
        )
    assert created.status_code == 201, created.text
    return email, password


async def wrong_logins_at_once(server: Server, address: str, count: int) -> list[httpx.Response]:
    """`count` wrong logins sent together from `address`, each for an account of its own."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        return await asyncio.gather(
            *(
                client.post(
                    "/auth/token",
                    data={"username": f"burst-{secrets.token_hex(4)}@example.com", "password": "wrong"},
                    headers={"X-Forwarded-For": address},
                )
                for _ in range(count)
            )
        )


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.json()["code"] == "rate_limited" and "try again in" in response.json()["detail"]


def test_failed_logins_are_throttled_per_account(throttled: Server) -> None:
    email, password = new_user(throttled)
    addresses = [f"203.0.113.{number}" for number in range(1, 6)]  # a guesser on several addresses
    assert [login(throttled, email, "wrong", address).status_code for address in addresses[:3]] == [401] * 3
    assert_throttled(login(throttled, email, password, addresses[3]))  # even the right password, now
    assert_throttled(login(throttled, email.upper(), "wrong", addresses[4]))  # the account, however spelt
    other_email, other_password = new_user(throttled)
    assert login(throttled, other_email, other_password, addresses[0]).status_code == 200  # others unaffected


def test_failed_logins_are_throttled_per_address(throttled: Server) -> None:
    address = "192.0.2.77"
    strangers = [f"nobody-{number}@example.com" for number in range(6)]  # one try each: no account limit hit
    assert [login(throttled, email, "wrong", address).status_code for email in strangers] == [401] * 6
    email, password = new_user(throttled)
    assert_throttled(login(throttled, email, password, address))
    assert login(throttled, email, password, "192.0.2.78").status_code == 200  # from elsewhere: fine


def test_a_burst_of_wrong_logins_cannot_slip_past_the_count(throttled: Server) -> None:
    """Forty at once from one address: the address's six failures are spent, the rest refused unhashed."""
    address = "192.0.2.99"

    codes = [reply.status_code for reply in asyncio.run(wrong_logins_at_once(throttled, address, 40))]
    assert set(codes) == {401, 429}, codes
    assert 6 <= codes.count(401) <= 7, codes  # at most one in flight beyond the count (two checked at once)


FAILURE_DELAY_S = Settings.model_fields["login_failure_delay_s"].default  # the throttled server keeps it


def test_a_refusal_is_answered_only_after_the_failure_delay(throttled: Server) -> None:
    """Lower bounds only: whatever the machine, no refusal can come sooner (a slow one makes them later)."""
    assert FAILURE_DELAY_S == 1.0
    email, password = new_user(throttled)
    started = time.monotonic()
    assert login(throttled, email, "wrong", "198.51.100.60").status_code == 401
    assert time.monotonic() - started >= FAILURE_DELAY_S
    assert login(throttled, email, password, "198.51.100.60").status_code == 200  # a right one: no delay rule


def test_a_spent_address_is_refused_at_the_gate_evenly_spaced(throttled: Server) -> None:
    """Once an address's failures are spent, a burst of 25 from it is refused 429 by the gate, without the
    application, each no sooner than the delay and one at most every 1/REFUSALS_PER_S seconds: the last
    leaves no sooner than the delay plus 24 spacings after the first was sent. Counted under the login's
    route in /metrics like any other answer."""
    address = "192.0.2.120"
    assert [login(throttled, f"spent-{number}@example.com", "w", address).status_code for number in range(6)] == [
        401
    ] * 6
    before = value(scrape(throttled), "assess_http_requests_total", method="POST", route="/auth/token", status="429")

    started = time.monotonic()
    replies = asyncio.run(wrong_logins_at_once(throttled, address, 25))
    seconds = time.monotonic() - started
    for reply in replies:
        assert_throttled(reply)
    assert seconds >= FAILURE_DELAY_S + 24 / REFUSALS_PER_S
    after = value(scrape(throttled), "assess_http_requests_total", method="POST", route="/auth/token", status="429")
    assert after - before == 25


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    def request(peer: str, forwarded: str | None) -> Request:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return Request({"type": "http", "client": (peer, 5000), "headers": headers})

    trusted = ("10.0.0.1", "10.0.0.2")
    assert client_address(request("203.0.113.5", "198.51.100.1"), trusted) == "203.0.113.5"  # not a proxy
    assert client_address(request("10.0.0.1", "198.51.100.1"), trusted) == "198.51.100.1"
    # A client's own X-Forwarded-For entries come first; only what the trusted proxies appended counts.
    assert client_address(request("10.0.0.1", "1.2.3.4, 198.51.100.1, 10.0.0.2"), trusted) == "198.51.100.1"
    assert client_address(request("10.0.0.1", None), trusted) == "10.0.0.1"
    assert client_address(request("10.0.0.1", " , ,"), trusted) == "10.0.0.1"
