"""Reads of accounts data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Lower
from django.utils import timezone

from casinoclub.i18n import localized

from .items import ITEM_KINDS, item_display_name, item_public
from .models import Item, LedgerEntry, LoginName, Rank, ResponsiblePlay, User
from .validators import login_skeleton


def user_get_by_login(identifier: str) -> User | None:
    """The user whose site_id or nickname (case-insensitive) is ``identifier``."""
    value = identifier.strip().lower()
    user = User.objects.filter(site_id=value).first()
    if user is None:
        user = (
            User.objects.alias(nickname_lower=Lower("nickname"))
            .filter(nickname_lower=value)
            .first()
        )
    return user


def login_name_is_taken(name: str, *, exclude_user_id: int | None = None) -> bool:
    """Whether another player's site_id or nickname looks like ``name`` (the same skeleton,
    ``validators.login_skeleton``). ``exclude_user_id``: the player renaming themselves."""
    names = LoginName.objects.filter(skeleton=login_skeleton(name))
    if exclude_user_id is not None:
        names = names.exclude(user_id=exclude_user_id)
    return names.exists()


def login_names_taken(skeletons: set[str]) -> set[str]:
    """Which of ``skeletons`` are registered to some player."""
    return set(LoginName.objects.filter(skeleton__in=skeletons).values_list("skeleton", flat=True))


def user_get_public(user_id: int) -> User | None:
    """An active player as anyone may see them."""
    return User.objects.filter(pk=user_id, is_active=True).first()


def experience_for_next_level(level: int) -> int:
    """XP needed to go from ``level`` to ``level + 1``: 100 × level^1.5, rounded."""
    return round(100 * level**1.5)


def wallet_balance(user_id: int) -> int:
    """The player's gold (0 before their wallet exists)."""
    from django.db import connection

    with connection.cursor() as cursor:  # read after every gold-moving request: plain SQL
        cursor.execute("SELECT balance FROM accounts_wallet WHERE user_id = %s", [user_id])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def ledger_violations() -> list[dict[str, int]]:
    """Wallets whose balance is negative or differs from the sum of their ledger deltas."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT w.user_id, w.balance, COALESCE(l.total, 0) AS ledger_total
            FROM accounts_wallet w
            LEFT JOIN (
                SELECT wallet_id, SUM(delta) AS total FROM accounts_ledgerentry GROUP BY wallet_id
            ) l ON l.wallet_id = w.user_id
            WHERE w.balance < 0 OR w.balance <> COALESCE(l.total, 0)
            ORDER BY w.user_id
            """
        )
        return [
            {"user_id": user_id, "balance": balance, "ledger_total": int(total)}
            for user_id, balance, total in cursor.fetchall()
        ]


def inventory_list(user_id: int) -> list[dict[str, Any]]:
    """The player's items with their display names, kinds and whether each is equipped."""
    from .models import EquippedItem, InventoryItem

    equipped = EquippedItem.objects.filter(
        user_id=OuterRef("user_id"), item_code=OuterRef("item_code")
    )
    items = (
        InventoryItem.objects.filter(user_id=user_id, quantity__gt=0)
        .annotate(is_equipped=Exists(equipped))
        .order_by("item_code")
    )  # one query, however many items
    names = item_names([item.item_code for item in items])
    return [
        {
            **item_public(item.item_code, names[item.item_code]),
            "quantity": item.quantity,
            "updated_at": item.updated_at,
            "is_equipped": item.is_equipped,
        }
        for item in items
    ]


def item_names(codes: list[str]) -> dict[str, str]:
    """What each item code is called in the active language (``Item`` rows, edited by staff).

    A code without a row shows as ``items.item_display_name`` gives it (a readable name, "Battle
    pass premium" for a season's pass). One query.
    """
    rows = {item.code: item for item in Item.objects.filter(code__in=set(codes))}
    names = {}
    for code in codes:
        if code in rows:
            names[code] = localized(rows[code], "name")
        else:
            names[code] = item_display_name(code)
    return names


def rank_label(rank: str) -> str:
    """A rank's name in the active language ("STANDARD" → "Standard" / "스탠다드")."""
    try:
        return str(Rank(rank).label)
    except ValueError:
        return rank


def equipped_for_users(user_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each player's equipped items (slot order), only those they still own; one query."""
    from .models import EquippedItem, InventoryItem

    if not user_ids:
        return {}
    owned = InventoryItem.objects.filter(
        user_id=OuterRef("user_id"), item_code=OuterRef("item_code"), quantity__gt=0
    )
    rows = list(
        EquippedItem.objects.filter(user_id__in=user_ids)
        .filter(Exists(owned))
        .values_list("user_id", "kind", "item_code")
    )
    names = item_names([row[2] for row in rows])
    slot_order = {kind: index for index, kind in enumerate(ITEM_KINDS)}
    result: dict[int, list[dict[str, Any]]] = {}
    for user_id, _kind, item_code in sorted(rows, key=lambda row: (row[0], slot_order[row[1]])):
        result.setdefault(user_id, []).append(item_public(item_code, names[item_code]))
    return result


def inventory_has(user_id: int, item_code: str) -> bool:
    """Whether the player owns at least one ``item_code``."""
    from .models import InventoryItem

    return InventoryItem.objects.filter(
        user_id=user_id, item_code=item_code, quantity__gt=0
    ).exists()


def play_block_get(user_id: int) -> dict[str, Any] | None:
    """The player's running cool-off or self-exclusion (``kind``, ``until``), or None."""
    state = (
        ResponsiblePlay.objects.filter(user_id=user_id, blocked_until__gt=timezone.now())
        .values("block_kind", "blocked_until")
        .first()
    )
    if state is None or state["blocked_until"] is None:
        return None
    return {"kind": state["block_kind"], "until": state["blocked_until"].isoformat()}


def account_deletion_due_at(user: User) -> datetime | None:
    """When a player's account will be anonymised (None: no deletion asked for)."""
    from datetime import timedelta

    from django.conf import settings

    if user.deletion_requested_at is None or user.anonymised_at is not None:
        return None
    return user.deletion_requested_at + timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)


def profile_for_export(user: User) -> dict[str, Any]:
    """The player's own profile fields for ``Export my data``."""
    stored = User.objects.get(pk=user.pk)
    return {
        "id": stored.pk,
        "site_id": stored.site_id,
        "nickname": stored.nickname,
        "phone_number": stored.phone_number,
        "email": stored.email,
        "email_verified_at": stored.email_verified_at,
        "birth_date": stored.birth_date,
        "language": stored.language,
        "rank": stored.rank,
        "vip_points": stored.vip_points,
        "level": stored.level,
        "experience": stored.experience,
        "date_joined": stored.date_joined,
        "last_login": stored.last_login,
        "gold": wallet_balance(stored.pk),
    }


def ledger_for_export(user: User) -> list[dict[str, Any]]:
    """Every ledger entry of the player's wallet, oldest first."""
    return [
        dict(row)
        for row in LedgerEntry.objects.filter(wallet_id=user.pk)
        .order_by("pk")
        .values("id", "delta", "balance_after", "reason", "reference", "created_at")
    ]


def refills_for_export(user: User) -> list[dict[str, Any]]:
    from .models import RefillClaim

    return [
        dict(row)
        for row in RefillClaim.objects.filter(user_id=user.pk)
        .order_by("pk")
        .values("amount", "balance_before", "ledger_entry_id", "created_at")
    ]


def ledger_flow_by_reason(since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Gold minted and burned in [since, until) by ledger reason: ``{"reason", "minted", "burned",
    "entries"}`` (burned as a positive number). One aggregate over the ledger's ``created_at``
    covering index; for periodic rollups, not for page views."""
    rows = (
        LedgerEntry.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("reason")
        .annotate(
            minted=Sum("delta", filter=Q(delta__gt=0), default=0),
            burned=Sum("delta", filter=Q(delta__lt=0), default=0),
            entries=Count("id"),
        )
        .order_by("reason")
    )
    return [
        {"reason": row["reason"], "minted": int(row["minted"]), "burned": -int(row["burned"]),
         "entries": int(row["entries"])}
        for row in rows
    ]  # fmt: skip


def staff_user_ids() -> QuerySet[Any]:
    """The staff accounts' ids, as a subquery (few rows): what a count of players leaves out."""
    return User.objects.filter(is_staff=True).values("pk")


def user_ids_joined(since: datetime, until: datetime) -> list[int]:
    """The players who signed up in [since, until) (staff accounts excluded)."""
    return list(
        User.objects.filter(date_joined__gte=since, date_joined__lt=until, is_staff=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
