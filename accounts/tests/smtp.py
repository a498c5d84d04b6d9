"""A real SMTP server for tests: aiosmtpd on a free local port with the capture handler the
development server uses, keeping what it receives in a list."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from casinoclub.mail_capture import CapturingHandler, ReceivedMessage


@dataclass
class SmtpServer:
    port: int
    messages: list[ReceivedMessage] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(port=free_port())
    controller = Controller(
        CapturingHandler(server.messages.append), hostname="127.0.0.1", port=server.port
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def use_smtp(settings, server: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    """Point Django's SMTP backend at ``server`` (pytest-django's ``settings`` fixture)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
