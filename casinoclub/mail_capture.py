"""The development SMTP server: an aiosmtpd handler that keeps every message it receives.

``make run`` starts it (``manage.py smtp_capture``) and points the web and worker processes'
``EMAIL_URL`` at it, so password resets and address verification work on one machine without
any mail leaving it; staff read the messages in the admin (``CapturedEmail``). Tests start the
same handler on a free port with a store of their own.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    recipients: list[str]
    subject: str
    body_text: str
    raw: str


def message_parse(mail_from: str, recipients: list[str], data: bytes) -> ReceivedMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    text_part = parsed.get_body(preferencelist=("plain",))
    body_text = text_part.get_content() if text_part is not None else ""
    return ReceivedMessage(
        mail_from=mail_from,
        recipients=list(recipients),
        subject=str(parsed.get("Subject", "")),
        body_text=body_text,
        raw=data.decode("utf-8", errors="replace"),
    )


class CapturingHandler:
    """aiosmtpd handler: every message accepted (250) and handed to ``store``."""

    def __init__(self, store: Callable[[ReceivedMessage], None]) -> None:
        self.store = store

    # aiosmtpd calls the hook by this name
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from asgiref.sync import sync_to_async

        message = message_parse(envelope.mail_from, envelope.rcpt_tos, envelope.content)
        await sync_to_async(self.store, thread_sensitive=False)(message)
        return "250 Message accepted for delivery"


def captured_email_store(message: ReceivedMessage) -> None:
    """Store a received message as a ``CapturedEmail`` row (the admin shows them)."""
    from django.db import close_old_connections

    from .models import CapturedEmail

    close_old_connections()
    CapturedEmail.objects.create(
        mail_from=message.mail_from,
        recipients=", ".join(message.recipients),
        subject=message.subject[:500],
        body_text=message.body_text,
        raw=message.raw,
    )
