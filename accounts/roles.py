"""Staff roles: Django groups holding model permissions (docs/decisions/0120-staff-roles.md).

A role is a group a superuser puts a staff account in. The groups are created by a data migration
and completed after every ``migrate`` (``staff_roles_sync``): permissions of models added later
join the roles that ask for them, and the administrator role keeps every permission. Permissions
are only ever added here, never removed, so an operator's own changes to a group survive.

This module imports no model: the migration passes its historical models.
"""

from __future__ import annotations

from typing import Any

SUPPORT = "support"
ECONOMY = "economy"
ADMINISTRATOR = "administrator"

ALL_PERMISSIONS = "*"

# Role → "app_label.codename" permissions (ALL_PERMISSIONS: every permission of the site).
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    # Player support: look players up and ban or unban them, with a reason. No gold.
    SUPPORT: (
        "accounts.view_user",
        "accounts.ban_user",
        "accounts.view_responsibleplay",
        "accounts.extend_block",
        "accounts.view_wallet",
        "accounts.view_ledgerentry",
        "games.view_gameround",
        # the shared crash round: its rounds, bets and chains, never a future outcome
        "games.view_crashround",
        "games.view_crashchain",
        "shop.view_purchase",
        "accounts.view_playernote",
        "accounts.add_playernote",
        "liveops.view_notification",
    ),
    # The economy: gold grants and revokes within the limit, products, discounts, limited packages,
    # promo codes, game configuration, the economy figures.
    ECONOMY: (
        "accounts.view_user",
        "accounts.view_wallet",
        "accounts.view_ledgerentry",
        "accounts.see_economy",
        "accounts.grant_gold",
        "accounts.view_goldgrantrequest",
        "accounts.view_item",
        "accounts.add_item",
        "accounts.change_item",
        "shop.view_product",
        "shop.add_product",
        "shop.change_product",
        "shop.view_limitedpackage",
        "shop.add_limitedpackage",
        "shop.change_limitedpackage",
        "shop.change_stock",
        "shop.view_promocode",
        "shop.add_promocode",
        "shop.change_promocode",
        "shop.view_purchase",
        "games.view_gameconfig",
        "games.add_gameconfig",
        "games.change_gameconfig",
        "games.view_crashround",
        "games.view_crashchain",
        "accounts.view_playernote",
        "accounts.add_playernote",
        # live operations: segments, campaigns (sending them), player metrics
        "liveops.view_segment",
        "liveops.add_segment",
        "liveops.change_segment",
        "liveops.view_campaign",
        "liveops.add_campaign",
        "liveops.change_campaign",
        "liveops.send_campaign",
        "liveops.view_campaignvariant",
        "liveops.add_campaignvariant",
        "liveops.change_campaignvariant",
        "liveops.delete_campaignvariant",
        "liveops.view_playermetrics",
        "liveops.recompute_playermetrics",
        "liveops.view_notification",
        # the analytics dashboards (activity, retention, funnel, revenue, games, progress)
        "analytics.view_analytics",
    ),
    ADMINISTRATOR: (ALL_PERMISSIONS,),
}


def staff_roles_sync(group_model: Any, permission_model: Any) -> None:
    """Create the role groups and add the permissions each role lists that exist. Idempotent.

    Takes the ``Group`` and ``Permission`` models so a migration can pass its historical ones.
    """
    permissions = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in permission_model.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    through = group_model.permissions.through
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        ids = (
            list(permissions.values())
            if ALL_PERMISSIONS in wanted
            else [permissions[name] for name in wanted if name in permissions]
        )
        through.objects.bulk_create(
            [through(group_id=group.pk, permission_id=pk) for pk in ids], ignore_conflicts=True
        )
