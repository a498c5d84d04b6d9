"""Every state change of events and missions.

Invariants:
- progress comes only from domain events (rounds, purchases, streak claims) through the
  ``event_progress`` projection (``events.projections``), never from the client; only joined
  events progress, and only inside their window; missions progress for every player, one row
  per (player, mission, period), created by the first progress of the period;
- progress is capped at the target and stops at completion; every change increments
  ``progress_version`` in the same ``UPDATE`` (``progress_version = progress_version + 1``), so it
  only grows;
- a reward (gold and XP) is paid once: the claim sets ``claimed_at`` under the row's lock, and the
  gold's ledger key (``event:<id>`` / ``mission:<id>:<period start>``) is unique per wallet;
- lock order: the player's wallet, then their progress rows in primary-key order, then the user
  row (XP). Rounds and purchases lock the wallet before they announce themselves, and claims lock
  it first, so a player's rounds, purchases and claims serialise on it and cannot deadlock;
- a mission's period is a calendar day or a Monday-based week in ``TIME_ZONE``; claims and progress
  use the period containing "now", so a reset task that runs late changes nothing but the socket
  notice and the ``closed_at`` marker.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import LedgerReason, User
from accounts.services import user_experience_add, wallet_credit, wallets_lock
from casinoclub import domain_events
from casinoclub.realtime.messages import EventProgressData, EventProgressItem
from casinoclub.realtime.services import realtime_publish

from . import exceptions, selectors
from .models import (
    Event,
    EventParticipation,
    Mission,
    MissionPeriod,
    MissionProgress,
)
from .periods import current_period_starts, period_start


@dataclass(frozen=True)
class Contribution:
    """What one domain event adds to each requirement type (``streak_days`` is a level reached,
    not an amount: progress takes the maximum). ``game`` is empty when not a round."""

    user_id: int
    game: str = ""
    plays: int = 0
    wins: int = 0
    gold_spent: int = 0
    gold_won: int = 0
    purchases: int = 0
    streak_days: int = 0

    def is_empty(self) -> bool:
        return not any(
            (
                self.plays,
                self.wins,
                self.gold_spent,
                self.gold_won,
                self.purchases,
                self.streak_days,
            )
        )


def contribution_of_round(event: domain_events.RoundSettled) -> Contribution:
    """A round counts as one play; a win when it paid more than the bet; ``gold_won`` is the net
    win of a winning round (a refunded draw wins nothing)."""
    net = event.payout - event.bet
    return Contribution(
        user_id=event.user_id,
        game=event.game,
        plays=1,
        wins=int(net > 0),
        gold_spent=event.bet,
        gold_won=max(net, 0),
    )


def contribution_of_purchase(event: domain_events.PurchaseSucceeded) -> Contribution:
    """A successful purchase; gold-priced items also count as gold spent."""
    return Contribution(user_id=event.user_id, purchases=1, gold_spent=event.price_gold)


def contribution_of_reversed_purchase(event: domain_events.PurchaseReversed) -> Contribution:
    """What the purchase had contributed (``contribution_of_purchase``), to be taken back."""
    return Contribution(user_id=event.user_id, purchases=1, gold_spent=event.price_gold)


def contribution_of_reward(event: domain_events.RewardClaimed) -> Contribution:
    """Only the daily streak claim counts (its streak length)."""
    if event.source != "streak":
        return Contribution(user_id=event.user_id)
    return Contribution(user_id=event.user_id, streak_days=event.streak_days)


# ---------------------------------------------------------------- progress
# Progress from rounds, purchases, claims and reversals is the ``event_progress`` projection of
# the event log (``events.projections``), applied set-based in batches.


def _item(
    scope: Literal["event", "mission"],
    item_id: int,
    period: str | None,
    start: str | None,
    progress: int,
    target: int,
    progress_version: int,
    completed: bool,
) -> EventProgressItem:
    return {
        "scope": scope,
        "id": item_id,
        "period": period,
        "period_start": start,
        "progress": progress,
        "target": target,
        "progress_version": progress_version,
        "completed": completed,
        "claimed": False,  # progress stops at completion, long before a claim
        "expired": False,
    }


ProgressKind = Literal["progress", "joined", "claimed", "reset"]


def _publish(user_id: int, kind: ProgressKind, items: list[EventProgressItem]) -> None:
    data: EventProgressData = {"kind": kind, "items": items}
    realtime_publish(user_id, "event_progress", data)


# ---------------------------------------------------------------- joining and claiming


def event_join(user: User, event_id: int) -> EventParticipation:
    """Join an active event inside its window. Runs in the caller's transaction
    (``run_idempotent``) or opens one.

    Idempotent: joining again returns the existing participation and publishes nothing. Progress
    counts from the moment of joining. Raises ``EventNotFound``, ``EventNotOpen``.
    """
    with transaction.atomic():
        event = Event.objects.filter(pk=event_id, is_active=True).first()
        if event is None:
            raise exceptions.EventNotFound()
        now = timezone.now()
        if not event.starts_at <= now < event.ends_at:
            raise exceptions.EventNotOpen(
                details={"starts_at": event.starts_at, "ends_at": event.ends_at}
            )
        participation, created = EventParticipation.objects.get_or_create(
            user_id=user.pk, event=event, defaults={"joined_at": now}
        )
        if created:
            _publish(user.pk, "joined", [selectors.event_progress_item(event, participation)])
        participation.event = event
        return participation


def _reward(
    user_id: int, gold: int, xp: int, *, reason: LedgerReason, source: str, key: str
) -> None:
    """Pay a claim's gold (ledger key ``key``) and XP. Must run inside the claim's transaction."""
    if gold > 0:
        wallet_credit(user_id, gold, reason=reason, reference=key, idempotency_key=key)
    if xp > 0:
        user_experience_add(user_id, xp, source=source)
    domain_events.domain_event_record(
        domain_events.RewardClaimed(user_id=user_id, source=source, gold=gold, xp=max(xp, 0))
    )


def event_claim(user: User, event_id: int) -> EventParticipation:
    """Pay a completed event's reward (gold and XP) once, also after the event has ended.

    Runs in the caller's transaction (``run_idempotent``) or opens one. Raises ``EventNotFound``,
    ``NotJoined``, ``NotCompleted``, ``AlreadyClaimed``; a refused claim changes nothing.
    """
    with transaction.atomic():
        event = Event.objects.filter(pk=event_id, is_active=True).first()
        if event is None:
            raise exceptions.EventNotFound()
        wallets_lock([user.pk])
        participation = (
            EventParticipation.objects.select_for_update().filter(user_id=user.pk, event=event)
        ).first()
        if participation is None:
            raise exceptions.NotJoined()
        if participation.claimed_at is not None:
            raise exceptions.AlreadyClaimed()
        item = selectors.event_progress_item(event, participation)
        if not item["completed"]:
            raise exceptions.NotCompleted(
                details={"progress": participation.progress, "target": event.target}
            )
        now = timezone.now()
        participation.completed_at = participation.completed_at or now
        participation.claimed_at = now
        participation.save(update_fields=["completed_at", "claimed_at"])
        _reward(
            user.pk,
            event.reward_gold,
            event.reward_xp,
            reason=LedgerReason.EVENT_REWARD,
            source="event",
            key=f"event:{event.pk}",
        )
        _publish(user.pk, "claimed", [selectors.event_progress_item(event, participation)])
        participation.event = event
        return participation


def mission_claim(user: User, mission_id: int) -> MissionProgress:
    """Pay a mission completed in its current period once (gold and XP).

    Runs in the caller's transaction (``run_idempotent``) or opens one. Raises
    ``MissionNotFound``, ``NotCompleted`` (also when a previous period was completed but not this
    one), ``AlreadyClaimed``; a refused claim changes nothing.
    """
    with transaction.atomic():
        mission = Mission.objects.filter(pk=mission_id, is_active=True).first()
        if mission is None:
            raise exceptions.MissionNotFound()
        wallets_lock([user.pk])
        now = timezone.now()
        start = period_start(mission.period, timezone.localdate(now))
        row = (
            MissionProgress.objects.select_for_update().filter(
                user_id=user.pk, mission=mission, period_start=start
            )
        ).first()
        if row is not None and row.claimed_at is not None:
            raise exceptions.AlreadyClaimed()
        if row is None or not selectors.mission_progress_item(mission, row)["completed"]:
            raise exceptions.NotCompleted(
                details={"progress": row.progress if row else 0, "target": mission.target}
            )
        row.completed_at = row.completed_at or now
        row.claimed_at = now
        row.updated_at = now
        row.save(update_fields=["completed_at", "claimed_at", "updated_at"])
        _reward(
            user.pk,
            mission.reward_gold,
            mission.reward_xp,
            reason=LedgerReason.MISSION_REWARD,
            source="mission",
            key=f"mission:{mission.pk}:{start.isoformat()}",
        )
        _publish(user.pk, "claimed", [selectors.mission_progress_item(mission, row)])
        row.mission = mission
        return row


# ---------------------------------------------------------------- period reset


@dataclass(frozen=True)
class PeriodsClosed:
    closed_rows: int
    notified_players: int
    pruned_rows: int


def mission_periods_close(
    *, today: date | None = None, retention_days: int = 56, batch_players: int = 500
) -> PeriodsClosed:
    """Close every mission row of a period that ended before ``today`` (local date, default now).

    Sets ``closed_at`` (an unclaimed closed row is an expired reward) and sends each affected
    player one ``event_progress`` ``reset`` message listing their closed rows; then deletes closed
    rows whose period started more than ``retention_days`` ago. One transaction per batch of
    players. Idempotent: a second run finds nothing to close. Correctness does not depend on it:
    progress and claims always use the current period.
    """
    today = today or timezone.localdate()
    starts = current_period_starts(today)
    closed_rows = notified = 0
    while True:
        with transaction.atomic(durable=True):
            stale = _stale_rows(starts)
            user_ids = list(
                stale.order_by("user_id")
                .values_list("user_id", flat=True)
                .distinct()[:batch_players]
            )
            if not user_ids:
                break
            rows = list(
                stale.filter(user_id__in=user_ids)
                .select_related("mission")
                .select_for_update(of=("self",))
                .order_by("pk")
            )
            now = timezone.now()
            MissionProgress.objects.filter(pk__in=[row.pk for row in rows]).update(closed_at=now)
            by_user: dict[int, list[EventProgressItem]] = defaultdict(list)
            for row in rows:
                row.closed_at = now
                by_user[row.user_id].append(selectors.mission_progress_item(row.mission, row))
            for user_id, items in by_user.items():
                _publish(user_id, "reset", items)
            closed_rows += len(rows)
            notified += len(by_user)
    pruned, _ = MissionProgress.objects.filter(
        closed_at__isnull=False, period_start__lt=today - timedelta(days=retention_days)
    ).delete()
    return PeriodsClosed(closed_rows=closed_rows, notified_players=notified, pruned_rows=pruned)


def _stale_rows(starts: dict[str, date]) -> QuerySet[MissionProgress]:
    """Unclosed rows of periods that ended before the current ones."""
    return MissionProgress.objects.filter(
        Q(mission__period=MissionPeriod.DAILY, period_start__lt=starts[MissionPeriod.DAILY])
        | Q(mission__period=MissionPeriod.WEEKLY, period_start__lt=starts[MissionPeriod.WEEKLY]),
        closed_at__isnull=True,
    )


def public_events_forget() -> None:
    """Drop the cached public events page (after a staff edit), so the next request rebuilds it."""
    cache.delete_many(
        [f"{selectors.PUBLIC_EVENTS_CACHE_KEY}:{code}" for code, _name in settings.LANGUAGES]
    )
