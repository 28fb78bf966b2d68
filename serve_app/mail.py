"""Mail to people: invitations and password reset links, through the SMTP server the settings name.

Sent with aiosmtplib (STARTTLS, implicit TLS or plain, as `ASSESS_SMTP_SECURITY` says; a login when
`ASSESS_SMTP_USERNAME` is set). Without `ASSESS_SMTP_HOST` nothing is sent and callers show the link to
the staff instead. A failure to send is reported to the caller, never raised past it: the account and its
link exist either way, and staff can copy the link.
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage

import aiosmtplib

from config.settings import Settings

logger = logging.getLogger(__name__)
SEND_TIMEOUT_S = 20.0
SENDING_AT_ONCE = 8  # connections to the SMTP server at a time, for a batch of invitations


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._sending = asyncio.Semaphore(SENDING_AT_ONCE)

    @property
    def configured(self) -> bool:
        return self._settings.smtp_host is not None

    async def send(self, to: str, subject: str, body: str) -> str | None:
        """Send one plain-text message; None once the server accepted it, else why not."""
        settings = self._settings
        if settings.smtp_host is None:
            return "no SMTP server is configured (ASSESS_SMTP_HOST)"
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            async with self._sending:
                await aiosmtplib.send(
                    message,
                    hostname=settings.smtp_host,
                    port=settings.smtp_port,
                    username=settings.smtp_username,
                    password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                    start_tls=settings.smtp_security == "starttls",
                    use_tls=settings.smtp_security == "tls",
                    timeout=SEND_TIMEOUT_S,
                )
        except (aiosmtplib.SMTPException, OSError) as error:
            logger.warning("mail to a user was not sent: %s", error)
            return f"the SMTP server did not take the message: {error}"
        return None
