"""The links that set a password, and the mail that carries them to people.

A link is the candidate page's address with the token in its fragment (`/#password-link=<token>`): a
browser never sends a fragment to a server, so the token stays out of request lines, proxies' logs and
`Referer` headers. The page sends it back in a request body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

from config.settings import Settings
from serve_app.mail import Mailer


@dataclass(frozen=True)
class Letter:
    to: str
    subject: str
    body: str


def page_url(settings: Settings, request: Request) -> str:
    """Where people reach the candidate page: `ASSESS_PUBLIC_URL`, else where this request came."""
    return (settings.public_url or str(request.base_url)).rstrip("/") + "/"


def link_url(settings: Settings, request: Request, token: str) -> str:
    return f"{page_url(settings, request)}#password-link={token}"


def _until(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def invitation(to: str, name: str, test_title: str, link: str, expires_at: datetime) -> Letter:
    return Letter(
        to,
        f"You are invited to take {test_title}",
        f'Hello {name},\n\nYou are invited to take the assessment "{test_title}".\n\n'
        f"Choose your password here (the link works once, until {_until(expires_at)}):\n\n{link}\n\n"
        "Then sign in with this email address and your password, and start the assessment when you are ready.\n",
    )


def invitation_to_an_account(to: str, name: str, test_title: str, page: str) -> Letter:
    return Letter(
        to,
        f"You are invited to take {test_title}",
        f'Hello {name},\n\nYou are invited to take the assessment "{test_title}".\n\n'
        f"Sign in at {page} with this email address and your password, and start it when you are ready.\n",
    )


def reset(to: str, name: str, link: str, expires_at: datetime) -> Letter:
    return Letter(
        to,
        "Set a new password",
        f"Hello {name},\n\nChoose a new password here (the link works once, until {_until(expires_at)}):\n\n"
        f"{link}\n\nIf you did not ask for this, ignore this mail: your password stays as it is.\n",
    )


async def post(mailer: Mailer, letters: Sequence[Letter]) -> None:
    """Send the letters, a few at a time (after the request's commit: the links exist by then); failures
    are logged."""
    await asyncio.gather(*(mailer.send(letter.to, letter.subject, letter.body) for letter in letters))
