from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_delete, post_migrate


def _staff_roles_complete(sender: AppConfig, **kwargs: Any) -> None:
    """After ``migrate`` (and a test flush): give the roles permissions of models added since.

    post_migrate is sent once per app, in INSTALLED_APPS order, each time after that app's
    permissions are created; the roles are completed once, after the last app's.
    """
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender.label != last.label:
        return
    from django.contrib.auth.models import Group, Permission

    from .roles import staff_roles_sync

    staff_roles_sync(Group, Permission)


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A deleted user's cached authentication state goes with it, however the row was deleted
    (an admin delete, a cascade, a script): its tokens then find no user."""
    from .auth_state import auth_state_changed

    auth_state_changed(instance.pk)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import schema  # noqa: F401  # registers the OpenAPI auth extension

        post_migrate.connect(_staff_roles_complete, dispatch_uid="accounts_staff_roles")
        post_delete.connect(
            _user_deleted, sender=self.get_model("User"), dispatch_uid="accounts_auth_state"
        )
        from casinoclub.projections import projection_register

        from .projections import PROJECTIONS

        for projection in PROJECTIONS:
            projection_register(projection)

        from .exports import export_section_register
        from .selectors import ledger_for_export, profile_for_export, refills_for_export

        export_section_register("profile", profile_for_export)
        export_section_register("ledger", ledger_for_export)
        export_section_register("refills", refills_for_export)
        # liveops registers "notifications" (liveops.selectors.notifications_for_export)
