"""Run the development SMTP server that keeps every message in the database (``make run``)."""

from __future__ import annotations

import time
from typing import Any

from aiosmtpd.controller import Controller
from django.core.management.base import BaseCommand

from casinoclub.mail_capture import CapturingHandler, captured_email_store


class Command(BaseCommand):
    help = "Receive mail on a local port and keep it (shown to staff in the admin); never relays."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        controller = Controller(CapturingHandler(captured_email_store), hostname=host, port=port)
        controller.start()
        self.stdout.write(f"smtp capture listening on {host}:{port}", ending="\n")
        self.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
