"""Every state change of events and missions.

Invariants:
- progress comes only from domain events (rounds, purchases, streak claims) through
  ``progress_record``, never from the client; only joined events progress, and only inside their
  window; missions progress for every player, one row per (player, mission, period), created by
  the first progress of the period;
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
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
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
    RequirementType,
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

# The amounts of one contribution per requirement type, joined to missions / events by type.
# Rows are locked in primary-key order (FOR UPDATE in the CTE) before the UPDATE changes them.
_MISSION_ROWS_CREATE = """
WITH amounts(requirement_type, amount) AS (VALUES
    ('plays', %(plays)s::bigint), ('wins', %(wins)s::bigint),
    ('gold_spent', %(gold_spent)s::bigint), ('gold_won', %(gold_won)s::bigint),
    ('purchases', %(purchases)s::bigint), ('streak_days', %(streak_days)s::bigint))
INSERT INTO events_missionprogress
    (user_id, mission_id, period_start, progress, progress_version, created_at, updated_at)
SELECT %(user_id)s, m.id,
    CASE m.period WHEN 'weekly' THEN %(week)s::date ELSE %(day)s::date END,
    0, 0, %(now)s, %(now)s
FROM events_mission m JOIN amounts a ON a.requirement_type = m.requirement_type
WHERE m.is_active AND a.amount > 0 AND (m.game = '' OR m.game = %(game)s)
ORDER BY m.id
ON CONFLICT (user_id, mission_id, period_start) DO NOTHING
"""

_MISSION_ROWS_ADVANCE = """
WITH amounts(requirement_type, amount) AS (VALUES
    ('plays', %(plays)s::bigint), ('wins', %(wins)s::bigint),
    ('gold_spent', %(gold_spent)s::bigint), ('gold_won', %(gold_won)s::bigint),
    ('purchases', %(purchases)s::bigint), ('streak_days', %(streak_days)s::bigint)),
due AS (
    SELECT p.id, m.target, m.requirement_type, m.period, a.amount
    FROM events_missionprogress p
    JOIN events_mission m ON m.id = p.mission_id
    JOIN amounts a ON a.requirement_type = m.requirement_type
    WHERE p.user_id = %(user_id)s
        AND p.period_start = CASE m.period WHEN 'weekly' THEN %(week)s::date ELSE %(day)s::date END
        AND m.is_active AND a.amount > 0 AND (m.game = '' OR m.game = %(game)s)
        AND p.completed_at IS NULL AND p.progress < m.target
        AND (m.requirement_type <> 'streak_days' OR p.progress < a.amount)
    ORDER BY p.id
    FOR UPDATE OF p
)
UPDATE events_missionprogress p SET
    progress = LEAST(d.target, CASE WHEN d.requirement_type = 'streak_days'
        THEN GREATEST(p.progress, d.amount) ELSE p.progress + d.amount END),
    progress_version = p.progress_version + 1,
    completed_at = CASE WHEN (CASE WHEN d.requirement_type = 'streak_days'
        THEN GREATEST(p.progress, d.amount) ELSE p.progress + d.amount END) >= d.target
        THEN %(now)s END,
    updated_at = %(now)s
FROM due d
WHERE p.id = d.id
RETURNING p.mission_id, d.period, p.period_start, p.progress, d.target, p.progress_version,
    p.completed_at IS NOT NULL
"""

_EVENT_ROWS_ADVANCE = """
WITH amounts(requirement_type, amount) AS (VALUES
    ('plays', %(plays)s::bigint), ('wins', %(wins)s::bigint),
    ('gold_spent', %(gold_spent)s::bigint), ('gold_won', %(gold_won)s::bigint),
    ('purchases', %(purchases)s::bigint), ('streak_days', %(streak_days)s::bigint)),
due AS (
    SELECT p.id, e.target, e.requirement_type, a.amount
    FROM events_eventparticipation p
    JOIN events_event e ON e.id = p.event_id
    JOIN amounts a ON a.requirement_type = e.requirement_type
    WHERE p.user_id = %(user_id)s
        AND e.is_active AND e.starts_at <= %(now)s AND e.ends_at > %(now)s
        AND a.amount > 0 AND (e.game = '' OR e.game = %(game)s)
        AND p.completed_at IS NULL AND p.progress < e.target
        AND (e.requirement_type <> 'streak_days' OR p.progress < a.amount)
    ORDER BY p.id
    FOR UPDATE OF p
)
UPDATE events_eventparticipation p SET
    progress = LEAST(d.target, CASE WHEN d.requirement_type = 'streak_days'
        THEN GREATEST(p.progress, d.amount) ELSE p.progress + d.amount END),
    progress_version = p.progress_version + 1,
    completed_at = CASE WHEN (CASE WHEN d.requirement_type = 'streak_days'
        THEN GREATEST(p.progress, d.amount) ELSE p.progress + d.amount END) >= d.target
        THEN %(now)s END
FROM due d
WHERE p.id = d.id
RETURNING p.event_id, p.progress, d.target, p.progress_version, p.completed_at IS NOT NULL
"""


def progress_record(
    contribution: Contribution, at: datetime | None = None
) -> list[EventProgressItem]:
    """Advance the player's missions and joined, running events by ``contribution``.

    Runs in the ``event_progress`` projection's batch, once per logged round, purchase or claim,
    counted in the periods of ``at`` (the event's time; now when None). Locks only the player's own
    progress rows. Publishes one ``event_progress`` message listing the changed rows (none when
    nothing changed). Not idempotent: call it once per domain event. Returns the changed rows.
    """
    if contribution.is_empty():
        return []
    now = at or timezone.now()
    starts = current_period_starts(timezone.localdate(now))
    params: dict[str, Any] = {
        "user_id": contribution.user_id,
        "game": contribution.game,
        "plays": contribution.plays,
        "wins": contribution.wins,
        "gold_spent": contribution.gold_spent,
        "gold_won": contribution.gold_won,
        "purchases": contribution.purchases,
        "streak_days": contribution.streak_days,
        "day": starts[MissionPeriod.DAILY],
        "week": starts[MissionPeriod.WEEKLY],
        "now": now,
    }
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_MISSION_ROWS_CREATE, params)
        cursor.execute(_MISSION_ROWS_ADVANCE, params)
        missions = cursor.fetchall()
        cursor.execute(_EVENT_ROWS_ADVANCE, params)
        events = cursor.fetchall()
        items: list[EventProgressItem] = [
            _item("mission", mission_id, period, start.isoformat(), *rest)
            for mission_id, period, start, *rest in sorted(missions)
        ] + [_item("event", event_id, None, None, *rest) for event_id, *rest in sorted(events)]
        if items:
            _publish(contribution.user_id, "progress", items)
    return items


def progress_reverse(
    contribution: Contribution, *, counted_at: datetime, other_purchases_at: tuple[datetime, ...]
) -> list[str]:
    """Take ``contribution`` (a reversed purchase's) back from the rows it advanced.

    The rows are the player's missions of the periods containing ``counted_at`` and the events
    they had joined that were running then. An unclaimed row loses the amount (never below zero)
    and its completion when it falls below the target. Progress is capped at the target, so a
    ``purchases`` row never falls below what the player's other standing purchases
    (``other_purchases_at``) in the same period or event window earn. A claimed row keeps its
    reward and its progress: when it would fall below the target, ``mission_reward_claimed`` /
    ``event_reward_claimed`` is returned so staff review it. Must run inside the reversal's
    transaction, which holds the player's wallet; locks the rows in primary-key order; publishes
    one ``event_progress`` message. Not idempotent: call it once per reversed purchase.
    """
    amounts = {
        "plays": contribution.plays,
        "wins": contribution.wins,
        "gold_spent": contribution.gold_spent,
        "gold_won": contribution.gold_won,
        "purchases": contribution.purchases,
    }
    types = [name for name, amount in amounts.items() if amount > 0]
    if not types:
        return []
    day = timezone.localdate(counted_at)
    now = timezone.now()
    reasons: list[str] = []
    items: list[EventProgressItem] = []
    with transaction.atomic(savepoint=False):
        missions = (
            MissionProgress.objects.select_for_update(of=("self",))
            .select_related("mission")
            .filter(user_id=contribution.user_id, mission__requirement_type__in=types)
            .filter(
                Q(mission__period=MissionPeriod.DAILY, period_start=day)
                | Q(
                    mission__period=MissionPeriod.WEEKLY,
                    period_start=period_start(MissionPeriod.WEEKLY, day),
                )
            )
            .order_by("pk")
        )
        for row in missions:
            amount = amounts[row.mission.requirement_type]
            remaining = max(0, row.progress - amount)
            if row.mission.requirement_type == RequirementType.PURCHASES:
                others = sum(
                    period_start(row.mission.period, timezone.localdate(at)) == row.period_start
                    for at in other_purchases_at
                )
                remaining = max(remaining, min(row.mission.target, others))
            if row.claimed_at is not None:
                if remaining < row.mission.target and "mission_reward_claimed" not in reasons:
                    reasons.append("mission_reward_claimed")
                continue
            if remaining == row.progress:
                continue
            row.progress = remaining
            row.progress_version += 1
            if remaining < row.mission.target:
                row.completed_at = None
            row.updated_at = now
            row.save(update_fields=["progress", "progress_version", "completed_at", "updated_at"])
            items.append(
                _item("mission", row.mission_id, row.mission.period, row.period_start.isoformat(),
                      row.progress, row.mission.target, row.progress_version,
                      row.completed_at is not None)
            )  # fmt: skip
        events = (
            EventParticipation.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(
                user_id=contribution.user_id,
                event__requirement_type__in=types,
                joined_at__lte=counted_at,
                event__starts_at__lte=counted_at,
                event__ends_at__gt=counted_at,
            )
            .order_by("pk")
        )
        for participation in events:
            amount = amounts[participation.event.requirement_type]
            remaining = max(0, participation.progress - amount)
            if participation.event.requirement_type == RequirementType.PURCHASES:
                since = max(participation.joined_at, participation.event.starts_at)
                others = sum(since <= at < participation.event.ends_at for at in other_purchases_at)
                remaining = max(remaining, min(participation.event.target, others))
            if participation.claimed_at is not None:
                if remaining < participation.event.target and "event_reward_claimed" not in reasons:
                    reasons.append("event_reward_claimed")
                continue
            if remaining == participation.progress:
                continue
            participation.progress = remaining
            participation.progress_version += 1
            if remaining < participation.event.target:
                participation.completed_at = None
            participation.save(update_fields=["progress", "progress_version", "completed_at"])
            items.append(
                _item(
                    "event",
                    participation.event_id,
                    None,
                    None,
                    participation.progress,
                    participation.event.target,
                    participation.progress_version,
                    participation.completed_at is not None,
                )
            )
        if items:
            _publish(contribution.user_id, "progress", items)
    return reasons


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
