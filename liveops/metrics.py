"""Player metrics in one set-based statement (docs/decisions/0215-player-metrics-and-segments.md).

Invariants:
- one ``INSERT … SELECT … ON CONFLICT DO UPDATE`` writes every player's row: no query per player;
- everything is derived from the domain event log (``casinoclub_domainevent``) and the user row,
  so a recompute from scratch gives the same figures (the job is idempotent);
- a purchase counts when it succeeded with real money (``price_cents > 0``) and was not reversed.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone


def _bucket(value: str, thresholds: tuple[int, ...], *, at_most: bool = False) -> str:
    """``1 + (how many thresholds the value reaches)``; ``at_most``: reaching means ``<=``."""
    operator = "<=" if at_most else ">="
    parts = " + ".join(f"({value} {operator} {int(limit)})::int" for limit in thresholds)
    return f"1 + {parts}" if parts else "1"


def _statement() -> str:
    recency = _bucket(
        "extract(epoch FROM (%(now)s - p.last_at)) / 86400",
        tuple(settings.LIVEOPS_RFM_RECENCY_DAYS),
        at_most=True,
    )
    frequency = _bucket("p.purchases", tuple(settings.LIVEOPS_RFM_FREQUENCY))
    monetary = _bucket("p.cents", tuple(settings.LIVEOPS_RFM_MONETARY_CENTS))
    # only integers from settings (int()) are formatted in; every value is a parameter
    return f"""
WITH reversed AS (
    SELECT DISTINCT user_id, payload->>'receipt' AS receipt
    FROM casinoclub_domainevent WHERE type = 'purchase_reversed'
),
paid AS (
    SELECT e.user_id, e.created_at, (e.payload->>'price_cents')::bigint AS cents,
           NOT EXISTS (
               SELECT 1 FROM reversed r
               WHERE r.user_id = e.user_id AND r.receipt = e.payload->>'receipt'
           ) AS stands
    FROM casinoclub_domainevent e
    WHERE e.type = 'purchase_succeeded' AND (e.payload->>'price_cents')::bigint > 0
),
p AS (
    SELECT user_id,
           count(*) FILTER (WHERE stands) AS purchases,
           coalesce(sum(cents) FILTER (WHERE stands), 0) AS cents,
           min(created_at) FILTER (WHERE stands) AS first_at,
           max(created_at) FILTER (WHERE stands) AS last_at,
           coalesce(sum(cents) FILTER (WHERE created_at > %(hour_ago)s), 0) AS last_hour_cents
    FROM paid GROUP BY user_id
),
active AS (
    SELECT user_id, max(created_at) AS last_at FROM casinoclub_domainevent GROUP BY user_id
),
days AS (
    SELECT DISTINCT user_id, (created_at AT TIME ZONE %(tz)s)::date AS day
    FROM casinoclub_domainevent WHERE created_at >= %(streak_since)s
),
runs AS (
    SELECT user_id, max(day) AS last_day, count(*) AS length
    FROM (
        SELECT user_id, day,
               day - (row_number() OVER (PARTITION BY user_id ORDER BY day))::int AS island
        FROM days
    ) numbered
    GROUP BY user_id, island
),
streaks AS (
    SELECT user_id, max(length) AS days FROM runs WHERE last_day >= %(yesterday)s
    GROUP BY user_id
),
rounds AS (
    SELECT id, user_id, created_at, (payload->>'bet')::bigint AS bet,
           (payload->>'payout')::bigint AS payout
    FROM casinoclub_domainevent
    WHERE type = 'round_settled' AND created_at >= %(chase_since)s
),
chasers AS (
    SELECT DISTINCT loss.user_id
    FROM rounds loss JOIN rounds next ON next.user_id = loss.user_id
        AND next.id > loss.id
        AND next.created_at <= loss.created_at + %(chase_window)s::interval
        AND next.bet >= loss.bet * %(chase_factor)s
    WHERE loss.bet - loss.payout >= %(big_loss)s
)
INSERT INTO liveops_playermetrics (
    user_id, purchase_count, lifetime_value_cents, first_purchase_at, last_purchase_at,
    recency_bucket, frequency_bucket, monetary_bucket, last_active_at, activity_streak_days,
    spend_last_hour_cents, is_rapid_spend, is_chasing_losses, computed_at
)
SELECT u.id,
       coalesce(p.purchases, 0),
       coalesce(p.cents, 0),
       p.first_at,
       p.last_at,
       CASE WHEN coalesce(p.purchases, 0) = 0 THEN 0 ELSE {recency} END,
       CASE WHEN coalesce(p.purchases, 0) = 0 THEN 0 ELSE {frequency} END,
       CASE WHEN coalesce(p.purchases, 0) = 0 THEN 0 ELSE {monetary} END,
       CASE WHEN u.last_login IS NULL THEN active.last_at
            WHEN active.last_at IS NULL THEN u.last_login
            ELSE greatest(u.last_login, active.last_at) END,
       coalesce(streaks.days, 0),
       coalesce(p.last_hour_cents, 0),
       coalesce(p.last_hour_cents, 0) >= %(rapid_spend)s,
       chasers.user_id IS NOT NULL,
       %(now)s
FROM accounts_user u
LEFT JOIN p ON p.user_id = u.id
LEFT JOIN active ON active.user_id = u.id
LEFT JOIN streaks ON streaks.user_id = u.id
LEFT JOIN chasers ON chasers.user_id = u.id
ON CONFLICT (user_id) DO UPDATE SET
    purchase_count = EXCLUDED.purchase_count,
    lifetime_value_cents = EXCLUDED.lifetime_value_cents,
    first_purchase_at = EXCLUDED.first_purchase_at,
    last_purchase_at = EXCLUDED.last_purchase_at,
    recency_bucket = EXCLUDED.recency_bucket,
    frequency_bucket = EXCLUDED.frequency_bucket,
    monetary_bucket = EXCLUDED.monetary_bucket,
    last_active_at = EXCLUDED.last_active_at,
    activity_streak_days = EXCLUDED.activity_streak_days,
    spend_last_hour_cents = EXCLUDED.spend_last_hour_cents,
    is_rapid_spend = EXCLUDED.is_rapid_spend,
    is_chasing_losses = EXCLUDED.is_chasing_losses,
    computed_at = EXCLUDED.computed_at
"""  # noqa: S608


def player_metrics_compute() -> int:
    """Recompute every player's metrics in one statement; returns the rows written.

    Runs in the caller's transaction (or autocommit). Idempotent.
    """
    now = timezone.now()
    today = timezone.localdate(now)
    with connection.cursor() as cursor:
        cursor.execute(
            _statement(),
            {
                "now": now,
                "hour_ago": now - timedelta(hours=1),
                "tz": settings.TIME_ZONE,
                "streak_since": now - timedelta(days=400),
                "yesterday": today - timedelta(days=1),
                "chase_since": now - timedelta(hours=settings.LIVEOPS_CHASE_LOOKBACK_HOURS),
                "chase_window": f"{int(settings.LIVEOPS_CHASE_MINUTES)} minutes",
                "chase_factor": settings.LIVEOPS_CHASE_FACTOR,
                "big_loss": settings.LIVEOPS_BIG_LOSS_GOLD,
                "rapid_spend": settings.LIVEOPS_RAPID_SPEND_CENTS,
            },
        )
        return int(cursor.rowcount)
