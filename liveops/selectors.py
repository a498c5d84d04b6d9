"""Reads of live operations: segment members, audiences, the inbox and campaign figures."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from liveops.models import (
    Campaign,
    CampaignVariant,
    Category,
    Notification,
    NotificationPreference,
    PlayStateFilter,
    Purpose,
    RiskFilter,
    Segment,
    Target,
    Trigger,
)

EMAIL_DEFAULTS: dict[str, bool] = {
    Category.REWARDS: True,
    Category.EVENTS: False,
    Category.MARKETING: False,  # opt-in only, as the law on advertising messages requires
}


def blocked_players_q() -> Q:
    """Players in a cool-off or a self-exclusion now (``accounts.ResponsiblePlay``)."""
    return Q(responsibleplay__blocked_until__gt=timezone.now())


def players_base() -> QuerySet[User]:
    """Every player a segment or campaign may count: active accounts, not staff."""
    return User.objects.filter(is_active=True, is_staff=False)


def segment_members(segment: Segment) -> QuerySet[User]:
    """The players ``segment`` selects now. A marketing segment never includes a blocked player.

    Filters over metrics match only players whose metrics were computed.
    """
    players = players_base()
    if segment.rank:
        players = players.filter(rank=segment.rank)
    if segment.level_min is not None:
        players = players.filter(level__gte=segment.level_min)
    if segment.level_max is not None:
        players = players.filter(level__lte=segment.level_max)
    if segment.language:
        language = Q(language=segment.language)
        if segment.language == settings.LANGUAGE_CODE:
            language |= Q(language="")
        players = players.filter(language)
    if segment.joined_after is not None:
        players = players.filter(date_joined__gte=segment.joined_after)
    if segment.joined_before is not None:
        players = players.filter(date_joined__lt=segment.joined_before)
    metrics: dict[str, Any] = {}
    for field, lookup in (
        ("spend_min_cents", "lifetime_value_cents__gte"),
        ("spend_max_cents", "lifetime_value_cents__lte"),
        ("last_seen_after", "last_active_at__gte"),
        ("last_seen_before", "last_active_at__lt"),
        ("recency_min", "recency_bucket__gte"),
        ("recency_max", "recency_bucket__lte"),
        ("frequency_min", "frequency_bucket__gte"),
        ("frequency_max", "frequency_bucket__lte"),
        ("monetary_min", "monetary_bucket__gte"),
        ("monetary_max", "monetary_bucket__lte"),
    ):
        value = getattr(segment, field)
        if value is not None:
            metrics[f"liveops_metrics__{lookup}"] = value
    if metrics:
        players = players.filter(**metrics)
    if segment.risk == RiskFilter.NONE:
        players = players.filter(
            liveops_metrics__is_rapid_spend=False, liveops_metrics__is_chasing_losses=False
        )
    elif segment.risk == RiskFilter.ANY_SIGNAL:
        players = players.filter(
            Q(liveops_metrics__is_rapid_spend=True) | Q(liveops_metrics__is_chasing_losses=True)
        )
    elif segment.risk == RiskFilter.RAPID_SPEND:
        players = players.filter(liveops_metrics__is_rapid_spend=True)
    elif segment.risk == RiskFilter.CHASING_LOSSES:
        players = players.filter(liveops_metrics__is_chasing_losses=True)
    if segment.purpose == Purpose.MARKETING or segment.play_state == PlayStateFilter.ALLOWED:
        players = players.exclude(blocked_players_q())
    elif segment.play_state == PlayStateFilter.BLOCKED:
        players = players.filter(blocked_players_q())
    return players


def segment_preview(segment: Segment, limit: int = 20) -> tuple[int, list[User]]:
    """The live member count and the first members (by id)."""
    members = segment_members(segment)
    return members.count(), list(members.order_by("pk")[:limit])


SITE_ID_SEPARATORS = re.compile(r"[\s,]+")


def listed_site_ids(text: str) -> list[str]:
    return [site_id for site_id in SITE_ID_SEPARATORS.split(text) if site_id]


def campaign_audience(campaign: Campaign) -> QuerySet[User]:
    """The players ``campaign`` targets now. No campaign ever reaches a blocked player (cool-off
    or self-exclusion), whatever its category or target (docs/decisions/0217)."""
    if campaign.trigger == Trigger.FIRST_PURCHASE:
        players = players_base().filter(
            liveops_metrics__purchase_count__gte=1,
            liveops_metrics__first_purchase_at__gte=campaign.activated_at or timezone.now(),
        )
    elif campaign.trigger == Trigger.LEVEL_REACHED:
        players = players_base().filter(level__gte=campaign.trigger_value or 1)
    elif campaign.trigger == Trigger.INACTIVE_DAYS:
        since = timezone.now() - timedelta(days=campaign.trigger_value or 1)
        players = players_base().filter(liveops_metrics__last_active_at__lt=since)
    elif campaign.target == Target.SEGMENT and campaign.segment is not None:
        players = segment_members(campaign.segment)
    elif campaign.target == Target.LISTED:
        players = players_base().filter(site_id__in=listed_site_ids(campaign.listed_site_ids))
    elif campaign.target == Target.EVERYONE:
        players = players_base()
    else:
        players = User.objects.none()
    return players.exclude(blocked_players_q())


# ---------------------------------------------------------------- the inbox


def notification_list(user_id: int) -> QuerySet[Notification]:
    """A player's inbox, newest first."""
    return Notification.objects.filter(user_id=user_id).order_by("-id")


def notification_unread_count(user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def notification_public(notification: Notification) -> dict[str, Any]:
    """A notification as its player sees it (API, socket, export)."""
    return {
        "id": notification.pk,
        "category": notification.category,
        "title": notification.title,
        "body": notification.body,
        "reward_gold": notification.reward_gold,
        "reward_item_code": notification.reward_item_code,
        "reward_item_quantity": notification.reward_item_quantity,
        "read_at": notification.read_at,
        "claimed_at": notification.claimed_at,
        "created_at": notification.created_at,
    }


def notifications_for_export(user: User) -> list[dict[str, Any]]:
    """Every notification of ``user``, oldest first, JSON-serialisable (the account export)."""
    return [
        {
            **notification_public(notification),
            "read_at": _iso(notification.read_at),
            "claimed_at": _iso(notification.claimed_at),
            "created_at": _iso(notification.created_at),
        }
        for notification in Notification.objects.filter(user_id=user.pk).order_by("id")
    ]


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def notification_preferences_get(user_id: int) -> dict[str, Any]:
    """The player's e-mail choices and language (``User.language``; "" reads as the default)."""
    language = User.objects.filter(pk=user_id).values_list("language", flat=True).first()
    preference = NotificationPreference.objects.filter(user_id=user_id).first()
    choices = (
        {
            "email_rewards": EMAIL_DEFAULTS[Category.REWARDS],
            "email_events": EMAIL_DEFAULTS[Category.EVENTS],
            "email_marketing": EMAIL_DEFAULTS[Category.MARKETING],
        }
        if preference is None
        else {
            "email_rewards": preference.email_rewards,
            "email_events": preference.email_events,
            "email_marketing": preference.email_marketing,
        }
    )
    return {**choices, "language": language or settings.LANGUAGE_CODE}


# ---------------------------------------------------------------- campaign figures

# "Returned": any logged event of the player in the 7 days after the delivery. The log is read
# once, only inside the campaign's delivery window, and joined to the deliveries on the player.
_VARIANT_STATS = """
WITH deliveries AS (
    SELECT id, user_id, variant_id, is_holdout, notification_id, delivered_at
    FROM liveops_campaigndelivery WHERE campaign_id = %(campaign)s
),
window_ AS (
    SELECT min(delivered_at) AS start, max(delivered_at) + interval '7 days' AS stop
    FROM deliveries
),
returned AS (
    SELECT DISTINCT d.id
    FROM deliveries d
    JOIN casinoclub_domainevent e ON e.user_id = d.user_id
    CROSS JOIN window_
    WHERE e.created_at > window_.start AND e.created_at <= window_.stop
      AND e.created_at > d.delivered_at AND e.created_at <= d.delivered_at + interval '7 days'
)
SELECT d.variant_id, d.is_holdout,
       count(*) AS players,
       count(n.id) AS delivered,
       count(n.read_at) AS opened,
       count(n.claimed_at) AS claimed,
       count(r.id) AS returned
FROM deliveries d
LEFT JOIN liveops_notification n ON n.id = d.notification_id
LEFT JOIN returned r ON r.id = d.id
GROUP BY d.variant_id, d.is_holdout
ORDER BY d.is_holdout, d.variant_id NULLS FIRST
"""


def campaign_variant_stats(campaign: Campaign) -> list[dict[str, Any]]:
    """Per variant (and the holdout): players, delivered, opened (read), claimed and returned
    within 7 days (any logged activity in the 7 days after the delivery)."""
    names = {
        variant.pk: variant.name for variant in CampaignVariant.objects.filter(campaign=campaign)
    }
    with connection.cursor() as cursor:
        cursor.execute(_VARIANT_STATS, {"campaign": campaign.pk})
        rows = cursor.fetchall()
    return [
        {
            "variant": "holdout" if is_holdout else names.get(variant_id, "default"),
            "players": players,
            "delivered": delivered,
            "opened": opened,
            "claimed": claimed,
            "returned_7d": returned,
        }
        for variant_id, is_holdout, players, delivered, opened, claimed, returned in rows
    ]
