from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CasinoClubConfig(AppConfig):
    name = "casinoclub"
    verbose_name = "Casino Club"


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the staff sign-in site (lockout, rate limit, audit, second factor)."""

    default = False  # named in INSTALLED_APPS; CasinoClubConfig stays this module's default
    default_site = "casinoclub.admin_site.CasinoClubAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin module
        from django.contrib import admin
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from casinoclub import admin_operations  # noqa: F401  # maintenance, announcements, mail

        # Authenticator secrets and recovery codes are never shown in the admin: staff enrol with
        # ``manage.py staff_totp_enrol`` (docs/decisions/0125-staff-sign-in.md).
        for model in (TOTPDevice, StaticDevice):
            if admin.site.is_registered(model):
                admin.site.unregister(model)
