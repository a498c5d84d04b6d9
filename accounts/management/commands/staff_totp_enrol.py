"""Enrol a staff member's authenticator app for the admin sign-in, with ten recovery codes.

manage.py staff_totp_enrol <site_id>                     first enrolment
manage.py staff_totp_enrol <site_id> --replace           lost phone: new secret and codes
manage.py staff_totp_enrol <site_id> --recovery-codes    new recovery codes only

Prints the otpauth:// URL (with a QR code to scan) and the recovery codes once: hand them to the
staff member over a trusted channel; they are not shown anywhere again.
"""

import io
from typing import Any

import qrcode
from django.core.management.base import BaseCommand, CommandError

from accounts import exceptions, services
from accounts.selectors import user_get_by_login


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("site_id", help="The staff member's site ID (or nickname).")
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--replace",
            action="store_true",
            help="Replace an existing authenticator (the old one and its codes stop working).",
        )
        group.add_argument(
            "--recovery-codes",
            action="store_true",
            help="Issue new recovery codes only (the old codes stop working).",
        )
        parser.add_argument("--no-qr", action="store_true", help="Do not draw the QR code.")

    def handle(
        self,
        *args: Any,
        site_id: str,
        replace: bool,
        recovery_codes: bool,
        no_qr: bool,
        **options: Any,
    ) -> None:
        user = user_get_by_login(site_id)
        if user is None:
            raise CommandError(f"No account {site_id!r}.")
        try:
            if recovery_codes:
                self._print_codes(services.staff_recovery_codes_renew(user))
                return
            enrolment = services.staff_totp_enrol(user, replace=replace)
        except exceptions.NotStaff as error:
            raise CommandError(f"{user.site_id} is not staff: {error.message}") from error
        except exceptions.SecondFactorAlreadyEnrolled as error:
            raise CommandError(
                f"{user.site_id} already has an authenticator. Run again with --replace to "
                "replace it (the old one and its recovery codes stop working)."
            ) from error
        self.stdout.write(f"Authenticator for {user.site_id}: scan the QR code or open this URL")
        self.stdout.write(enrolment.config_url)
        self.stdout.write(f"Secret (to type in by hand): {enrolment.secret}")
        if not no_qr:
            drawing = io.StringIO()
            code = qrcode.QRCode(border=1)
            code.add_data(enrolment.config_url)
            code.print_ascii(out=drawing, invert=True)
            self.stdout.write(drawing.getvalue())
        self._print_codes(enrolment.recovery_codes)

    def _print_codes(self, codes: list[str]) -> None:
        self.stdout.write("Recovery codes (each works once; keep them offline):")
        for code in codes:
            self.stdout.write(f"  {code}")
