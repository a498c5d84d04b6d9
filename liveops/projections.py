"""Liveops projections of the event log: the players' log totals and the first-purchase rules.

*Player log totals* (docs/decisions/0256): every event of a player moves its ``PlayerLogTotals``
row, set-based per batch (one read of the stored rows, one upsert, and for the players with a
purchase event one recompute of their purchase figures through the partial purchase index). The
periodic metrics job (``liveops.metrics``) then reads these rows instead of the whole log.

A *first purchase* rule (docs/decisions/0217) reaches a player in the projection batch that
applies the player's first real-money purchase (``price_cents > 0``), when the purchase was made
after the rule was switched on. The delivery row (unique per campaign and player) makes it once per
player per rule, whichever of this projection and the beat backstop gets there first; replaying
the log sends nothing twice. The batch's own cost without an active rule is one Python filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.utils import timezone

from casinoclub.eventlog import EVENT_TYPES
from casinoclub.projections import Event, Projection, events_of_types
from liveops import services
from liveops.metrics import PLAYER_TOTALS
from liveops.models import Campaign, CampaignStatus, PlayerLogTotals, Trigger

FIRST_PURCHASE_RULES = "liveops_first_purchase_rules"
_PURCHASE_TYPES = frozenset({"purchase_succeeded", "purchase_reversed"})

# ---------------------------------------------------------------- player log totals


@dataclass
class _Activity:
    """A player's activity folded in log order: the newest event and the streak's run of days."""

    last_event_at: datetime | None = None
    first_day: date | None = None
    last_day: date | None = None

    def add(self, at: datetime, day: date) -> None:
        """One event. The run grows by a day just after it (or just before it: an event that
        committed after a later day's); a day past the run starts a new run; a day inside the
        run, or before it with a gap, changes nothing (an older run cannot matter any more
        unless a late event fills the gap, which only a transaction crossing midnight makes)."""
        if self.last_event_at is None or at > self.last_event_at:
            self.last_event_at = at
        if self.first_day is None or self.last_day is None or day > self.last_day + _DAY:
            self.first_day = self.last_day = day
        elif day == self.last_day + _DAY:
            self.last_day = day
        elif day == self.first_day - _DAY:
            self.first_day = day


_DAY = timedelta(days=1)


def _local_day(at: datetime) -> date:
    return timezone.localdate(at, timezone.get_default_timezone())


def _activity_fold(
    events: Iterable[Event], stored: dict[int, _Activity] | None = None
) -> dict[int, _Activity]:
    """Fold events (in log order) into each player's activity, starting from ``stored``."""
    folds = dict(stored or {})
    for event in events:
        fold = folds.setdefault(event.user_id, _Activity())
        fold.add(event.created_at, _local_day(event.created_at))
    return folds


_ACTIVITY_UPSERT = """
INSERT INTO liveops_playerlogtotals AS t (user_id, last_event_at, streak_first_day,
    streak_last_day, purchase_count, lifetime_value_cents)
SELECT user_id, last_event_at, first_day, last_day, 0, 0
FROM unnest(%s::bigint[], %s::timestamptz[], %s::date[], %s::date[])
    AS b(user_id, last_event_at, first_day, last_day)
ORDER BY user_id
ON CONFLICT (user_id) DO UPDATE SET
    last_event_at = greatest(t.last_event_at, EXCLUDED.last_event_at),
    streak_first_day = EXCLUDED.streak_first_day,
    streak_last_day = EXCLUDED.streak_last_day
"""

# A purchase counts when it succeeded with real money and no reversal names its receipt
# (docs/decisions/0215). Every read names the purchase types, so it goes through the partial
# index ``domainevent_purchase_user`` (user_id, transaction_id, id): a player's purchases, never
# the log.
_PURCHASES_RECOMPUTE = """
WITH buyers AS (
    SELECT DISTINCT unnest(%(users)s::bigint[]) AS user_id
),
purchase_events AS (
    SELECT user_id, type, created_at, payload
    FROM casinoclub_domainevent
    WHERE type IN ('purchase_succeeded', 'purchase_reversed') AND user_id = ANY(%(users)s)
),
reversed AS (
    SELECT DISTINCT user_id, payload->>'receipt' AS receipt
    FROM purchase_events WHERE type = 'purchase_reversed'
),
standing AS (
    SELECT e.user_id, e.created_at, (e.payload->>'price_cents')::bigint AS cents
    FROM purchase_events e
    WHERE e.type = 'purchase_succeeded' AND (e.payload->>'price_cents')::bigint > 0
      AND NOT EXISTS (
          SELECT 1 FROM reversed r
          WHERE r.user_id = e.user_id AND r.receipt = e.payload->>'receipt'
      )
),
figures AS (
    SELECT b.user_id, count(s.user_id) AS purchases, coalesce(sum(s.cents), 0) AS cents,
           min(s.created_at) AS first_at, max(s.created_at) AS last_at
    FROM buyers b LEFT JOIN standing s ON s.user_id = b.user_id
    GROUP BY b.user_id
)
UPDATE liveops_playerlogtotals t SET
    purchase_count = f.purchases,
    lifetime_value_cents = f.cents,
    first_purchase_at = f.first_at,
    last_purchase_at = f.last_at
FROM figures f WHERE t.user_id = f.user_id
"""


def player_totals_apply(events: list[Event]) -> None:
    """Fold a batch into the players' log totals. Runs in the projection batch's transaction;
    the partition's cursor lock makes it the only writer of its players' rows.

    Activity is folded onto the stored rows; purchase figures are recomputed for the players
    whose purchase events are in the batch, from all their committed purchase events (order-free,
    as decision 0215 defines them; an event the cursor has not reached yet is read early and read
    again when its own batch comes, with the same result)."""
    user_ids = sorted({event.user_id for event in events})
    stored = {
        row.user_id: _Activity(row.last_event_at, row.streak_first_day, row.streak_last_day)
        for row in PlayerLogTotals.objects.filter(user_id__in=user_ids).only(
            "user_id", "last_event_at", "streak_first_day", "streak_last_day"
        )
    }
    folds = _activity_fold(events, stored)
    with connection.cursor() as cursor:
        cursor.execute(
            _ACTIVITY_UPSERT,
            [
                user_ids,
                [folds[user_id].last_event_at for user_id in user_ids],
                [folds[user_id].first_day for user_id in user_ids],
                [folds[user_id].last_day for user_id in user_ids],
            ],
        )
        buyers = sorted({event.user_id for event in events if event.type in _PURCHASE_TYPES})
        if buyers:
            cursor.execute(_PURCHASES_RECOMPUTE, {"users": buyers})


def player_totals_reset() -> None:
    PlayerLogTotals.objects.all().delete()


_TOTALS_FIELDS = (
    "last_event_at",
    "streak_first_day",
    "streak_last_day",
    "purchase_count",
    "lifetime_value_cents",
    "first_purchase_at",
    "last_purchase_at",
)


def _totals_expected() -> dict[int, tuple[object, ...]]:
    """Every player's totals recomputed from the whole log in Python (the check, not a hot path)."""
    events = events_of_types(EVENT_TYPES)
    activity = _activity_fold(events)
    reversed_receipts = {
        (event.user_id, event.payload.get("receipt"))
        for event in events
        if event.type == "purchase_reversed"
    }
    purchases: dict[int, list[tuple[datetime, int]]] = {}
    for event in events:
        cents = int(event.payload.get("price_cents") or 0)
        if (
            event.type == "purchase_succeeded"
            and cents > 0
            and (event.user_id, event.payload.get("receipt")) not in reversed_receipts
        ):
            purchases.setdefault(event.user_id, []).append((event.created_at, cents))
    expected: dict[int, tuple[object, ...]] = {}
    for user_id, fold in activity.items():
        standing = purchases.get(user_id, [])
        times = [at for at, _cents in standing]
        expected[user_id] = (
            fold.last_event_at,
            fold.first_day,
            fold.last_day,
            len(standing),
            sum(cents for _at, cents in standing),
            min(times, default=None),
            max(times, default=None),
        )
    return expected


def player_totals_differences() -> list[str]:
    expected = _totals_expected()
    actual = {
        row[0]: tuple(row[1:])
        for row in PlayerLogTotals.objects.values_list("user_id", *_TOTALS_FIELDS)
    }
    differences = []
    for user_id in sorted(set(expected) | set(actual)):
        want, have = expected.get(user_id), actual.get(user_id)
        if want != have:
            differences.append(f"{PLAYER_TOTALS} user {user_id}: expected {want}, found {have}")
    return differences


# ---------------------------------------------------------------- first-purchase rules


def _first_purchase_event_ids(user_ids: list[int]) -> set[int]:
    """The id of each player's first real-money purchase event in the log (through the partial
    index ``domainevent_purchase_user``: the players' purchases, not the log)."""
    with connection.cursor() as cursor:
        cursor.execute(_FIRST_PURCHASES, [user_ids])
        return {row[0] for row in cursor.fetchall()}


_FIRST_PURCHASES = (
    "SELECT DISTINCT ON (user_id) id FROM casinoclub_domainevent"
    " WHERE type = 'purchase_succeeded' AND (payload->>'price_cents')::bigint > 0"
    " AND user_id = ANY(%s) ORDER BY user_id, transaction_id, id"
)


def first_purchase_rules_apply(events: list[Event]) -> None:
    """Runs in the projection batch's transaction (see the module docstring)."""
    paid = [event for event in events if int(event.payload.get("price_cents") or 0) > 0]
    if not paid:
        return
    rules = list(
        Campaign.objects.filter(
            status=CampaignStatus.ACTIVE, trigger=Trigger.FIRST_PURCHASE
        ).order_by("pk")
    )
    if not rules:
        return
    first_ids = _first_purchase_event_ids(sorted({event.user_id for event in paid}))
    firsts = {event.user_id: event.created_at for event in paid if event.id in first_ids}
    for rule in rules:
        reached = [
            user_id
            for user_id, made_at in sorted(firsts.items())
            if rule.activated_at is not None and made_at >= rule.activated_at
        ]
        if reached:
            services.campaign_rule_deliver(rule, reached)


def _nothing_to_repair(events: list[Event]) -> int:
    """The deliveries are the state and were sent: a rebuild sends nothing, changes nothing."""
    return 0


PROJECTIONS = (
    Projection(
        name=PLAYER_TOTALS,
        event_types=EVENT_TYPES,  # every event of a player is activity (decision 0215)
        apply=player_totals_apply,
        reset=player_totals_reset,
        differences=player_totals_differences,
    ),
    Projection(
        name=FIRST_PURCHASE_RULES,
        event_types=frozenset({"purchase_succeeded"}),
        apply=first_purchase_rules_apply,
        repair=_nothing_to_repair,
    ),
)
