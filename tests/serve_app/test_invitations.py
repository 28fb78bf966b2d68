"""Invitations and password links over real HTTP on both databases, with the mail read from a real SMTP
server on loopback (aiosmtpd).

Staff invite people by name and email: new candidates' accounts are made without a password, the test is
theirs to take, and each gets a single-use, expiring link (returned to the staff, and mailed) to choose a
password, after which they sign in as anyone else. A reset is asked for by address, with the same answer
whether or not the address has an account. Links are refused once used, once replaced by a newer one,
once expired, and when two requests race for one; malformed and hostile bodies get 422.
"""

from __future__ import annotations

import asyncio
import email
import re
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from builders import valid_test_body
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server, execute_sql, free_port
from sqlalchemy import select, update

from persistence.models import AuditEvent, PasswordLink, utcnow

PUBLIC_URL = "https://assess.example.com/hiring"
MAIL_WAIT_S = 30.0


class Inbox:
    """What the SMTP server on loopback received, message by message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str, count: int = 1) -> list[Message]:
        """The messages to `address`, once there are `count` of them."""
        deadline = time.monotonic() + MAIL_WAIT_S
        while time.monotonic() < deadline:
            found = [message for message in self.messages if message["To"] == address]
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no {count} messages to {address}: {[m['To'] for m in self.messages]}")


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    received = Inbox(free_port())
    controller = Controller(received, hostname="127.0.0.1", port=received.port)
    controller.start()
    yield received
    controller.stop()


@pytest.fixture(scope="module")
def mailing(isolated_server, inbox: Inbox) -> Server:  # type: ignore[no-untyped-def]
    return isolated_server(  # type: ignore[no-any-return]
        ASSESS_SMTP_HOST="127.0.0.1",
        ASSESS_SMTP_PORT=str(inbox.port),
        ASSESS_SMTP_SECURITY="none",
        ASSESS_SMTP_FROM="hiring@assess.example.com",
        ASSESS_PUBLIC_URL=PUBLIC_URL,
    )


@pytest.fixture(scope="module")
def staff_token(mailing: Server) -> str:
    return mailing.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def test_id(mailing: Server, staff_token: str) -> int:
    with mailing.client(staff_token) as client:
        created = client.post("/api/tests", json=valid_test_body(title="Backend engineer screen"))
        assert created.status_code == 201, created.text
        published = client.patch(f"/api/tests/{created.json()['id']}", json={"status": "published"})
        assert published.status_code == 200, published.text
    return int(created.json()["id"])


def token_of(link: str) -> str:
    match = re.fullmatch(re.escape(PUBLIC_URL) + r"/#password-link=([A-Za-z0-9_-]{43})", link)
    assert match, link
    return match.group(1)


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def new_email() -> str:
    return f"invited-{secrets.token_hex(4)}@example.com"


def account_with_a_password(server: Server, staff_token: str, role: str, password: str) -> tuple[str, int]:
    address = new_email()
    with server.client(staff_token) as staff:
        made = staff.post(
            "/api/users", json={"email": address, "password": password, "full_name": "Has one", "role": role}
        )
    assert made.status_code == 201, made.text
    return address, int(made.json()["id"])


def login_status(server: Server, address: str, password: str) -> int:
    with server.client() as client:
        return client.post("/auth/token", data={"username": address, "password": password}).status_code


def test_invited_people_choose_a_password_from_the_mailed_link(
    mailing: Server, staff_token: str, test_id: int, inbox: Inbox
) -> None:
    first, second = new_email(), new_email()
    with mailing.client(staff_token) as staff:
        invited = staff.post(
            f"/api/tests/{test_id}/invitations",
            json={
                "candidates": [
                    {"email": first.upper(), "full_name": " Ada Lovelace "},
                    {"email": second, "full_name": "Alan Turing"},
                ]
            },
        )
    assert invited.status_code == 201, invited.text
    ada, alan = invited.json()
    assert ada["email"] == first and ada["full_name"] == "Ada Lovelace" and ada["new_account"] is True
    assert ada["mail"] == "queued" and ada["link_expires_at"]
    token = token_of(ada["link"])
    assert token != token_of(alan["link"])

    assert login_status(mailing, first, "any-password-at-all") == 401  # no password until the link is used
    message = inbox.to(first)[0]
    assert message["From"] == "hiring@assess.example.com"
    assert "Backend engineer screen" in message["Subject"]
    assert ada["link"] in body_of(message) and "Ada Lovelace" in body_of(message)

    with mailing.client() as anonymous:
        about = anonymous.post("/auth/password-link", json={"token": token})
        assert about.status_code == 200, about.text
        assert about.json()["purpose"] == "invitation" and about.json()["email"] == first
        chosen = anonymous.post("/auth/password", json={"token": token, "password": "ada-chooses-this"})
        assert chosen.status_code == 200, chosen.text
        again = anonymous.post("/auth/password", json={"token": token, "password": "someone-else-now"})
        assert again.status_code == 404 and "already used" in again.json()["detail"]
    with mailing.client(chosen.json()["access_token"]) as candidate:
        mine = candidate.get("/api/me/tests")
    assert mine.status_code == 200 and [test["test_id"] for test in mine.json()] == [test_id]
    assert login_status(mailing, first, "ada-chooses-this") == 200

    events = asyncio.run(
        execute_sql(
            mailing.settings.database_url,
            select(AuditEvent.details).where(
                AuditEvent.target_id == ada["user_id"], AuditEvent.action == "user.created"
            ),
        )
    )
    assert events == {"email": first, "by": "invitation"}


def test_an_account_with_a_password_is_invited_without_a_link(
    mailing: Server, staff_token: str, test_id: int, inbox: Inbox
) -> None:
    address, user_id = account_with_a_password(mailing, staff_token, "candidate", "has-one-already")
    with mailing.client(staff_token) as staff:
        invited = staff.post(
            f"/api/tests/{test_id}/invitations", json={"candidates": [{"email": address, "full_name": "Grace"}]}
        )
    assert invited.status_code == 201, invited.text
    assert invited.json()[0] == {
        "user_id": user_id,
        "email": address,
        "full_name": "Has one",
        "new_account": False,
        "link": None,
        "link_expires_at": None,
        "mail": "queued",
    }
    assert "#password-link=" not in body_of(inbox.to(address)[0])
    assert PUBLIC_URL in body_of(inbox.to(address)[0])


def test_a_reset_is_mailed_only_to_an_account_and_answered_alike(
    mailing: Server, staff_token: str, inbox: Inbox
) -> None:
    address, _ = account_with_a_password(mailing, staff_token, "recruiter", "forgot-this-one")
    old_token = mailing.login(address, "forgot-this-one")
    nobody = new_email()
    with mailing.client() as anonymous:
        unknown = anonymous.post("/auth/password-reset", json={"email": nobody})
        known = anonymous.post("/auth/password-reset", json={"email": address.upper()})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    token = token_of(re.search(r"https://\S+", body_of(inbox.to(address)[0])).group(0))  # type: ignore[union-attr]
    assert not [message for message in inbox.messages if message["To"] == nobody]

    with mailing.client() as anonymous:
        about = anonymous.post("/auth/password-link", json={"token": token})
        assert about.json()["purpose"] == "reset"
        assert anonymous.post("/auth/password", json={"token": token, "password": "remembered-now"}).status_code == 200
    with mailing.client(old_token) as old:
        assert old.get("/api/users/me").status_code == 401  # a new password revokes the tokens before it
    assert login_status(mailing, address, "remembered-now") == 200


def test_only_the_newest_link_works_and_none_after_it_expires(mailing: Server, staff_token: str, test_id: int) -> None:
    address = new_email()
    with mailing.client(staff_token) as staff:
        invited = staff.post(
            f"/api/tests/{test_id}/invitations", json={"candidates": [{"email": address, "full_name": "Kay"}]}
        )
        user_id = invited.json()[0]["user_id"]
        newer = staff.post(f"/api/users/{user_id}/password-link")
    assert newer.status_code == 200, newer.text
    assert newer.json()["mail"] == "queued"
    with mailing.client() as anonymous:
        replaced = anonymous.post("/auth/password-link", json={"token": token_of(invited.json()[0]["link"])})
        assert replaced.status_code == 404 and "newer one replaced it" in replaced.json()["detail"]
        asyncio.run(
            execute_sql(
                mailing.settings.database_url,
                update(PasswordLink)
                .where(PasswordLink.user_id == user_id)
                .values(expires_at=utcnow() - timedelta(seconds=1)),
            )
        )
        expired = anonymous.post(
            "/auth/password", json={"token": token_of(newer.json()["link"]), "password": "too-late-now"}
        )
        assert expired.status_code == 404 and "expired" in expired.json()["detail"]


def test_two_requests_racing_for_one_link_use_it_once(mailing: Server, staff_token: str, test_id: int) -> None:
    with mailing.client(staff_token) as staff:
        invited = staff.post(
            f"/api/tests/{test_id}/invitations", json={"candidates": [{"email": new_email(), "full_name": "Raced"}]}
        )
    token = token_of(invited.json()[0]["link"])

    async def race() -> list[int]:
        async with httpx.AsyncClient(base_url=mailing.base_url, timeout=30) as client:
            replies = await asyncio.gather(
                *(client.post("/auth/password", json={"token": token, "password": f"password-{n}"}) for n in range(4))
            )
        return sorted(reply.status_code for reply in replies)

    assert asyncio.run(race()) == [200, 404, 404, 404]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "candidates"),
        ({"candidates": []}, "candidates"),
        ({"candidates": [{"email": "not-an-email", "full_name": "X"}]}, "email"),
        ({"candidates": [{"email": "a@example.com"}]}, "full_name"),
        ({"candidates": [{"email": "a@example.com", "full_name": "A", "role": "admin"}]}, "role"),
        (
            {
                "candidates": [
                    {"email": "twice@example.com", "full_name": "A"},
                    {"email": "TWICE@example.com", "full_name": "B"},
                ]
            },
            "more than once",
        ),
        ({"candidates": [{"email": f"{n}@example.com", "full_name": "N"} for n in range(1001)]}, "candidates"),
        ({"candidates": [{"email": "nul@example.com", "full_name": "A\x00B"}]}, "NUL"),
        ({"candidates": [{"email": ADMIN_EMAIL, "full_name": "The admin"}]}, "not candidates"),
    ],
)
def test_malformed_invitations_are_refused_and_make_nothing(
    mailing: Server, staff_token: str, test_id: int, body: Any, words: str
) -> None:
    with mailing.client(staff_token) as staff:
        before = len(staff.get("/api/users").json())
        refused = staff.post(f"/api/tests/{test_id}/invitations", json=body)
        assert refused.status_code == 422, refused.text
        assert words.lower() in refused.text.lower()
        assert len(staff.get("/api/users").json()) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/password-link", {}),
        ("/auth/password-link", {"token": ""}),
        ("/auth/password-link", {"token": "x" * 201}),
        ("/auth/password-link", {"token": "a\x00b"}),
        ("/auth/password", {"token": "a-token"}),
        ("/auth/password", {"token": "a-token", "password": "short"}),
        ("/auth/password", {"token": "a-token", "password": "p" * 129}),
        ("/auth/password-reset", {"email": "not-an-email"}),
        ("/auth/password-reset", {"email": "a@example.com", "extra": 1}),
    ],
)
def test_malformed_password_bodies_get_422(mailing: Server, path: str, body: Any) -> None:
    with mailing.client() as anonymous:
        assert anonymous.post(path, json=body).status_code == 422


def test_a_guessed_token_names_nothing(mailing: Server) -> None:
    with mailing.client() as anonymous:
        for guess in (secrets.token_urlsafe(32), "' OR 1=1 --", "../../etc/passwd", "\u202e" * 10):
            reply = anonymous.post("/auth/password-link", json={"token": guess})
            assert reply.status_code == 404 and reply.json()["detail"] == "this link is not valid: ask for a new one"


def test_without_mail_settings_the_links_are_for_staff_to_copy(server: Server, admin: httpx.Client) -> None:
    test = admin.post("/api/tests", json=valid_test_body()).json()
    invited = admin.post(
        f"/api/tests/{test['id']}/invitations", json={"candidates": [{"email": new_email(), "full_name": "Copy"}]}
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()[0]["mail"] == "not_configured"
    assert re.fullmatch(re.escape(server.base_url) + r"/#password-link=[A-Za-z0-9_-]{43}", invited.json()[0]["link"])


def invite_csv(server: Server, token: str, test_id: int, content: bytes, **params: Any) -> httpx.Response:
    with server.client(token) as staff:
        return staff.post(
            f"/api/tests/{test_id}/invitations.csv",
            content=content,
            params=params,
            headers={"Content-Type": "text/csv; charset=utf-8"},
        )


def test_a_spreadsheets_csv_invites_its_people(mailing: Server, staff_token: str, test_id: int, inbox: Inbox) -> None:
    """As a spreadsheet saves it: a byte-order mark, CRLF, columns in its own order, a quoted name with a
    comma, a blank line, a column we do not read."""
    first, second = new_email(), new_email()
    content = f'\ufeffTeam,Name,Email\r\nPlatform,"Hopper, Grace",{first}\r\n,,\r\nData,Edsger Dijkstra,{second}\r\n'
    invited = invite_csv(mailing, staff_token, test_id, content.encode(), extra_time_minutes=15)
    assert invited.status_code == 201, invited.text
    assert [(person["email"], person["full_name"]) for person in invited.json()] == [
        (first, "Hopper, Grace"),
        (second, "Edsger Dijkstra"),
    ]
    assert inbox.to(second)
    with mailing.client(staff_token) as staff:
        enrolled = {row["email"]: row for row in staff.get(f"/api/tests/{test_id}/candidates").json()}
    assert enrolled[first]["extra_time_minutes"] == 15


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "first line must name the columns"),
        (b"email,full_name\n", "lists nobody"),
        (b"mail,name\na@example.com,A\n", "first line must name the columns"),
        (b"email,full_name\n\xff\xfe\xfa,A\n", "not UTF-8"),
        (b"email,full_name\na@example.com,A\x00\n", "NUL"),
        (b"email,full_name\nok@example.com,Ok\nnot-an-email,B\n,C\n", "line 3: email missing or not valid; line 4"),
        (b"email,full_name\nsame@example.com,A\nSAME@example.com,B\n", "more than once"),
        (b"email,full_name\n" + b"".join(b"p%d@example.com,P\n" % n for n in range(1001)), "more than 1000"),
        (b'email,full_name\n"a@example.com,A\n', "unexpected end of data"),
        (b"email,full_name\na@example.com," + b"x" * 200_000 + b"\n", "field larger than field limit"),
    ],
)
def test_a_bad_csv_is_refused_by_line_and_makes_nothing(
    mailing: Server, staff_token: str, test_id: int, content: bytes, words: str
) -> None:
    with mailing.client(staff_token) as staff:
        before = len(staff.get("/api/users").json())
    refused = invite_csv(mailing, staff_token, test_id, content)
    assert refused.status_code == 422, refused.text
    assert words in refused.json()["detail"], refused.json()
    with mailing.client(staff_token) as staff:
        assert len(staff.get("/api/users").json()) == before


def test_an_oversized_csv_is_refused_before_it_is_read(mailing: Server, staff_token: str, test_id: int) -> None:
    refused = invite_csv(mailing, staff_token, test_id, b"email,full_name\n" + b"a" * (1024 * 1024 + 1))
    assert refused.status_code == 413
