"""DRF permission for staff API routes: a staff account holding the route's model permissions.

Being staff (``is_staff``) only opens the admin; what a staff member may do is what their role
(docs/decisions/0120-staff-roles.md) grants. Every ``/api/admin/`` route uses ``staff_permission``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import IsAdminUser


class StaffPermission(IsAdminUser):
    """An active staff account with every permission in ``required`` (superusers have all)."""

    required: tuple[str, ...] = ()

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(
            self.required
            and user
            and user.is_authenticated
            and user.is_staff
            and user.has_perms(self.required)
        )


def staff_permission(*required: str) -> type[StaffPermission]:
    """A ``StaffPermission`` class requiring ``required`` ("app_label.codename", at least one)."""
    if not required:
        raise ValueError("a staff route names the permissions it requires")
    name = "StaffPermission[" + ", ".join(required) + "]"
    return type(name, (StaffPermission,), {"required": tuple(required)})
