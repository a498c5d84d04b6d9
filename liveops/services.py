"""Live operations writes: metrics recompute, campaign sending and dispatch, the inbox.

Invariants:
- a campaign reaches each targeted player at most once: the ``(campaign, user)`` delivery row is
  inserted with ``ON CONFLICT DO NOTHING`` and only the rows this dispatcher inserted get a
  notification, so any number of dispatchers may run at once (docs/decisions/0217);
- no campaign reaches a player in a cool-off or a self-exclusion;
- A/B assignment is a pure function of (campaign, player): a hash, never a random draw;
- a notification's reward is paid at most once: its row is locked, ``claimed_at`` set in the same
  transaction as the ledger entry, whose idempotency key is derived from the notification;
- socket messages are stored with the change and sent after commit; e-mails are sent after
  commit, only to verified addresses of players who opted in to the category.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import LedgerReason, User
from accounts.services.audit import audit_log_record
from accounts.services.email import user_language_remember
from accounts.services.inventory import inventory_add
from accounts.services.staff import staff_grant_limit
from accounts.services.wallet import wallet_credit
from casinoclub.projections import projections_run
from casinoclub.queueing import task_enqueue_after_commit
from casinoclub.realtime.messages import StoredMessageType, iso_utc
from casinoclub.realtime.services import realtime_publish_many
from liveops import exceptions, selectors
from liveops.metrics import PLAYER_TOTALS, player_metrics_compute
from liveops.models import (
    Campaign,
    CampaignStatus,
    CampaignVariant,
    Notification,
    NotificationPreference,
)

logger = logging.getLogger(__name__)

HASH_POINTS = 10_000  # holdout resolution: 0.01 %


# ---------------------------------------------------------------- metrics


def player_metrics_recompute(*, actor: User | None = None) -> int:
    """Recompute every player's metrics (one statement); with ``actor`` (staff pressing "recompute
    now") an audit row is written in the same transaction. Returns the rows written. Idempotent.

    First the log-totals projection applies what is pending (its own batches, usually nothing:
    the projection workers keep it current), so the figures include every committed event; if it
    fails, the metrics are computed from the totals as far as they go (the failure is logged)."""
    try:
        projections_run(names=[PLAYER_TOTALS])
    except Exception:
        logger.exception("player metrics: the log totals could not catch up")
    with transaction.atomic():
        rows = player_metrics_compute()
        if actor is not None:
            audit_log_record(
                actor=actor,
                action="player_metrics_recompute",
                target="player metrics",
                after={"rows": rows},
            )
    return rows


# ---------------------------------------------------------------- campaigns


def campaign_send(campaign_id: int, *, actor: User) -> Campaign:
    """Staff send a campaign: a one-off goes to ``scheduled`` (due now when it has no time, else at
    its time), a rule becomes ``active``. Audited; the dispatcher is asked to run after commit when
    the campaign is due. Sending a campaign that is not a draft or a stopped rule changes nothing.
    A gold reward per player above ``STAFF_GRANT_LIMIT`` needs ``accounts.approve_grant`` (the
    same bar as a single large grant): raises ``CampaignRewardAboveLimit`` otherwise.
    """
    from liveops.tasks import campaign_dispatch_task

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if (campaign.reward_gold or 0) > staff_grant_limit() and not actor.has_perm(
            "accounts.approve_grant"
        ):
            raise exceptions.CampaignRewardAboveLimit()
        before = campaign.status
        now = timezone.now()
        if campaign.trigger:
            if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.STOPPED):
                return campaign
            campaign.status = CampaignStatus.ACTIVE
            campaign.activated_at = campaign.activated_at or now
        else:
            if campaign.status != CampaignStatus.DRAFT:
                return campaign
            campaign.status = CampaignStatus.SCHEDULED
            campaign.scheduled_at = campaign.scheduled_at or now
        campaign.save(update_fields=["status", "activated_at", "scheduled_at"])
        audit_log_record(
            actor=actor,
            action="campaign_send",
            target=f"campaign {campaign.pk}: {campaign.name}",
            before={"status": before},
            after={
                "status": campaign.status,
                "scheduled_at": campaign.scheduled_at.isoformat()
                if campaign.scheduled_at
                else None,
                "target": campaign.target,
                "trigger": campaign.trigger,
            },
        )
        if campaign.scheduled_at is None or campaign.scheduled_at <= now:
            task_enqueue_after_commit(campaign_dispatch_task, campaign.pk)
    return campaign


def campaign_stop(campaign_id: int, *, actor: User) -> Campaign:
    """Staff stop an active rule (no new deliveries; past ones stay). Audited."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != CampaignStatus.ACTIVE:
            return campaign
        campaign.status = CampaignStatus.STOPPED
        campaign.save(update_fields=["status"])
        audit_log_record(
            actor=actor,
            action="campaign_stop",
            target=f"campaign {campaign.pk}: {campaign.name}",
            before={"status": CampaignStatus.ACTIVE},
            after={"status": CampaignStatus.STOPPED},
        )
    return campaign


def _hash_points(campaign_id: int, user_id: int) -> tuple[int, int]:
    digest = hashlib.sha256(f"campaign:{campaign_id}:user:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:16], "big")


def campaign_assignment(
    campaign: Campaign, variants: Sequence[CampaignVariant], user_id: int
) -> tuple[int | None, bool]:
    """(variant id or None for a campaign without variants, is_holdout) of a player: the same
    answer every time for the same (campaign, player)."""
    holdout_point, variant_point = _hash_points(campaign.pk, user_id)
    if holdout_point % HASH_POINTS < campaign.holdout_percent * (HASH_POINTS // 100):
        return None, True
    total = sum(variant.weight for variant in variants)
    if total <= 0:
        return None, False
    point = variant_point % total
    for variant in variants:
        if point < variant.weight:
            return variant.pk, False
        point -= variant.weight
    return variants[-1].pk, False  # unreachable: the weights sum to total


def _texts(campaign: Campaign, variant: CampaignVariant | None, language: str) -> tuple[str, str]:
    """The title and body in ``language``: the variant's, else the campaign's; English when the
    text has no translation."""
    sources = [source for source in (variant, campaign) if source is not None]

    def pick(field: str) -> str:
        for wanted in dict.fromkeys((language, "en")):
            for source in sources:
                text = getattr(source, f"{field}_{wanted}", "")
                if text:
                    return str(text)
        return ""

    return pick("title"), pick("body")


def _rendered(text: str, player: Mapping[str, Any]) -> str:
    return Template(text).safe_substitute(nickname=player["nickname"], level=player["level"])


@dataclass
class DispatchResult:
    delivered: int = 0
    held_out: int = 0


_DELIVERIES_INSERT = """
INSERT INTO liveops_campaigndelivery (campaign_id, user_id, variant_id, is_holdout, delivered_at)
SELECT %s, t.user_id, t.variant_id, t.is_holdout, %s
FROM unnest(%s::bigint[], %s::bigint[], %s::boolean[]) AS t(user_id, variant_id, is_holdout)
ON CONFLICT (campaign_id, user_id) DO NOTHING
RETURNING id, user_id, variant_id, is_holdout
"""


def _deliver_batch(
    campaign: Campaign, variants: Sequence[CampaignVariant], user_ids: list[int]
) -> DispatchResult:
    """Insert the batch's delivery rows; the players this call inserted get their notification
    and socket message (one statement each), e-mail after commit. Runs in the caller's
    transaction."""
    now = timezone.now()
    assigned = [campaign_assignment(campaign, variants, user_id) for user_id in user_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            _DELIVERIES_INSERT,
            [
                campaign.pk,
                now,
                user_ids,
                [variant_id for variant_id, _ in assigned],
                [is_holdout for _, is_holdout in assigned],
            ],
        )
        inserted = cursor.fetchall()
    result = DispatchResult(held_out=sum(1 for row in inserted if row[3]))
    reached = [(row[0], row[1], row[2]) for row in inserted if not row[3]]
    if not reached:
        return result
    variant_by_id = {variant.pk: variant for variant in variants}
    players = {
        row["pk"]: row
        for row in User.objects.filter(pk__in=[user_id for _, user_id, _ in reached]).values(
            "pk", "nickname", "level", "language"
        )
    }
    notifications = []
    for _, user_id, variant_id in reached:
        player = players[user_id]
        language = player["language"] or settings.LANGUAGE_CODE
        title, body = _texts(campaign, variant_by_id.get(variant_id), language)
        notifications.append(
            Notification(
                user_id=user_id,
                category=campaign.category,
                title=_rendered(title, player)[:200],
                body=_rendered(body, player),
                reward_gold=campaign.reward_gold or None,
                reward_item_code=campaign.reward_item_code,
                reward_item_quantity=campaign.reward_item_quantity
                if campaign.reward_item_code
                else 0,
                campaign=campaign,
                created_at=now,
            )
        )
    Notification.objects.bulk_create(notifications)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE liveops_campaigndelivery d SET notification_id = t.notification_id"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS t(id, notification_id)"
            " WHERE d.id = t.id",
            [[delivery_id for delivery_id, _, _ in reached], [n.pk for n in notifications]],
        )
    _announce(notifications)
    if campaign.send_email:
        from liveops.tasks import notification_emails_send_task

        task_enqueue_after_commit(notification_emails_send_task, [n.pk for n in notifications])
    result.delivered = len(notifications)
    return result


def _announce(notifications: Sequence[Notification]) -> None:
    """Store one ``notification`` socket message per notification (one statement)."""
    user_ids = sorted({n.user_id for n in notifications})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, count(*) FROM liveops_notification"
            " WHERE user_id = ANY(%s) AND read_at IS NULL GROUP BY user_id",
            [user_ids],
        )
        unread = dict(cursor.fetchall())
    message_type: StoredMessageType = "notification"
    realtime_publish_many(
        [
            (
                n.user_id,
                message_type,
                {
                    "id": n.pk,
                    "category": n.category,
                    "title": n.title,
                    "body": n.body,
                    "reward_gold": n.reward_gold,
                    "reward_item_code": n.reward_item_code,
                    "reward_item_quantity": n.reward_item_quantity,
                    "created_at": iso_utc(n.created_at),
                    "unread_count": int(unread.get(n.user_id, 0)),
                },
            )
            for n in notifications
        ]
    )


def campaign_dispatch(campaign_id: int, *, batch_size: int | None = None) -> DispatchResult:
    """Deliver a due campaign (scheduled and due, or an active rule) to the players it targets
    and has not reached yet, in batches of ``batch_size`` players, one transaction per batch.

    Safe to run in any number of workers at once: each player is reached exactly once. A one-off
    campaign is marked ``sent`` when a run finds no one left. Returns what this run delivered.
    """
    size = batch_size or settings.LIVEOPS_DISPATCH_BATCH
    campaign = Campaign.objects.select_related("segment").get(pk=campaign_id)
    now = timezone.now()
    is_due_one_off = (
        campaign.status == CampaignStatus.SCHEDULED
        and not campaign.trigger
        and campaign.scheduled_at is not None
        and campaign.scheduled_at <= now
    )
    is_active_rule = campaign.status == CampaignStatus.ACTIVE and bool(campaign.trigger)
    result = DispatchResult()
    if not (is_due_one_off or is_active_rule):
        return result
    variants = list(CampaignVariant.objects.filter(campaign=campaign).order_by("pk"))
    audience = selectors.campaign_audience(campaign).exclude(
        pk__in=campaign.deliveries.values("user_id")
    )
    after = 0
    while True:
        with transaction.atomic():
            user_ids = list(
                audience.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size]
            )
            if not user_ids:
                break
            after = user_ids[-1]
            batch = _deliver_batch(campaign, variants, user_ids)
        result.delivered += batch.delivered
        result.held_out += batch.held_out
    if is_due_one_off:
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
            status=CampaignStatus.SENT, sent_at=timezone.now()
        )
    return result


def campaign_rule_deliver(campaign: Campaign, user_ids: list[int]) -> DispatchResult:
    """Deliver an active rule to those of ``user_ids`` it may reach (active players, not staff,
    not blocked, not reached before) in the caller's transaction (a projection batch). Once per
    player per rule, like ``campaign_dispatch``."""
    eligible = list(
        selectors.players_base()
        .filter(pk__in=user_ids)
        .exclude(selectors.blocked_players_q())
        .exclude(pk__in=campaign.deliveries.values("user_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not eligible:
        return DispatchResult()
    variants = list(CampaignVariant.objects.filter(campaign=campaign).order_by("pk"))
    return _deliver_batch(campaign, variants, eligible)


def campaigns_dispatch_due() -> int:
    """Beat: run every due one-off campaign and every active rule. Returns the players reached."""
    now = timezone.now()
    due = list(
        Campaign.objects.filter(
            status=CampaignStatus.SCHEDULED, scheduled_at__lte=now, trigger=""
        ).values_list("pk", flat=True)
    ) + list(
        Campaign.objects.filter(status=CampaignStatus.ACTIVE)
        .exclude(trigger="")
        .values_list("pk", flat=True)
    )
    return sum(campaign_dispatch(campaign_id).delivered for campaign_id in due)


# ---------------------------------------------------------------- the inbox


def notification_read(user_id: int, notification_id: int) -> Notification:
    """Mark one of the player's notifications read (reading it again changes nothing).
    Raises ``NotificationNotFound`` for someone else's or a missing one."""
    Notification.objects.filter(pk=notification_id, user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    notification = Notification.objects.filter(pk=notification_id, user_id=user_id).first()
    if notification is None:
        raise exceptions.NotificationNotFound()
    return notification


def notifications_read_all(user_id: int) -> int:
    """Mark every unread notification of the player read; returns how many changed."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_claim_key(notification_id: int) -> str:
    """The ledger idempotency key of a notification's reward: one payment per notification."""
    return f"notification:{notification_id}:reward"


@dataclass(frozen=True)
class ClaimResult:
    notification: Notification
    balance: int | None


def notification_claim(user_id: int, notification_id: int) -> ClaimResult:
    """Pay a notification's reward (gold through the ledger, an item into the inventory) once.

    Runs in the caller's transaction (the request's idempotent one) or opens one. Locks the
    notification row, so two claims serialise: the second raises ``NotificationAlreadyClaimed``.
    Raises ``NotificationNotFound`` (someone else's or missing) and ``NotificationHasNoReward``.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, user_id=user_id)
            .first()
        )
        if notification is None:
            raise exceptions.NotificationNotFound()
        if not notification.has_reward:
            raise exceptions.NotificationHasNoReward()
        if notification.claimed_at is not None:
            raise exceptions.NotificationAlreadyClaimed()
        balance: int | None = None
        if notification.reward_gold:
            entry = wallet_credit(
                user_id,
                int(notification.reward_gold),
                reason=LedgerReason.CAMPAIGN_REWARD,
                reference=f"notification:{notification.pk}",
                idempotency_key=notification_claim_key(notification.pk),
            )
            balance = entry.balance_after
        if notification.reward_item_code and notification.reward_item_quantity > 0:
            inventory_add(user_id, notification.reward_item_code, notification.reward_item_quantity)
        now = timezone.now()
        notification.claimed_at = now
        notification.read_at = notification.read_at or now
        notification.save(update_fields=["claimed_at", "read_at"])
    return ClaimResult(notification=notification, balance=balance)


def notification_preferences_update(user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Set some of the player's e-mail choices (``email_rewards``, ``email_events``,
    ``email_marketing``) and language. Idempotent."""
    changes = dict(changes)
    language = changes.pop("language", None)
    if language is not None:
        user_language_remember(user_id, language)
    if changes:
        defaults = selectors.notification_preferences_get(user_id)
        defaults.pop("language")
        preference, _ = NotificationPreference.objects.get_or_create(
            user_id=user_id, defaults=defaults
        )
        for name, value in changes.items():
            setattr(preference, name, value)
        preference.save()
    return selectors.notification_preferences_get(user_id)
