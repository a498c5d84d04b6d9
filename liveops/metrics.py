"""Player metrics in one set-based statement (docs/decisions/0215, 0256).

Invariants:
- one ``INSERT … SELECT … ON CONFLICT DO UPDATE`` writes every player's row: no query per player;
- the statement reads no more of the domain event log than the clock asks for: the folded
  ``PlayerLogTotals`` rows (activity, streak, purchases; kept by the ``liveops_player_totals``
  projection), the last hour's purchases (partial index ``domainevent_purchase_time``) and the
  last ``LIVEOPS_CHASE_LOOKBACK_HOURS`` of settled rounds (BRIN on ``created_at``); its cost grows
  with the players, not with the log;
- everything is derived from the log and the user row, so a recompute from scratch (the
  projection rebuilt, then this statement) gives the same figures (the job is idempotent);
- a purchase counts when it succeeded with real money (``price_cents > 0``) and was not reversed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

# the projection that keeps ``PlayerLogTotals`` (liveops.projections)
PLAYER_TOTALS = "liveops_player_totals"


def _bucket(value: str, thresholds: tuple[int, ...], *, at_most: bool = False) -> str:
    """``1 + (how many thresholds the value reaches)``; ``at_most``: reaching means ``<=``."""
    operator = "<=" if at_most else ">="
    parts = " + ".join(f"({value} {operator} {int(limit)})::int" for limit in thresholds)
    return f"1 + {parts}" if parts else "1"


def _statement() -> str:
    recency = _bucket(
        "extract(epoch FROM (%(now)s - p.last_purchase_at)) / 86400",
        tuple(settings.LIVEOPS_RFM_RECENCY_DAYS),
        at_most=True,
    )
    frequency = _bucket("p.purchase_count", tuple(settings.LIVEOPS_RFM_FREQUENCY))
    monetary = _bucket("p.lifetime_value_cents", tuple(settings.LIVEOPS_RFM_MONETARY_CENTS))
    # only integers from settings (int()) are formatted in; every value is a parameter
    return f"""
WITH recent_spend AS (
    SELECT user_id, sum((payload->>'price_cents')::bigint) AS cents
    FROM casinoclub_domainevent
    WHERE type = 'purchase_succeeded' AND created_at > %(hour_ago)s
      AND (payload->>'price_cents')::bigint > 0
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
       coalesce(p.purchase_count, 0),
       coalesce(p.lifetime_value_cents, 0),
       p.first_purchase_at,
       p.last_purchase_at,
       CASE WHEN coalesce(p.purchase_count, 0) = 0 THEN 0 ELSE {recency} END,
       CASE WHEN coalesce(p.purchase_count, 0) = 0 THEN 0 ELSE {frequency} END,
       CASE WHEN coalesce(p.purchase_count, 0) = 0 THEN 0 ELSE {monetary} END,
       greatest(u.last_login, p.last_event_at),
       CASE WHEN p.streak_last_day >= %(yesterday)s
            THEN p.streak_last_day - p.streak_first_day + 1 ELSE 0 END,
       coalesce(recent_spend.cents, 0),
       coalesce(recent_spend.cents, 0) >= %(rapid_spend)s,
       chasers.user_id IS NOT NULL,
       %(now)s
FROM accounts_user u
LEFT JOIN liveops_playerlogtotals p ON p.user_id = u.id
LEFT JOIN recent_spend ON recent_spend.user_id = u.id
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
    """Recompute every player's metrics in one statement from the stored log totals and the
    clock; returns the rows written. The totals are as far as the projection has applied the log
    (``services.player_metrics_recompute`` catches it up first).

    Runs in the caller's transaction (or autocommit). Idempotent.
    """
    with connection.cursor() as cursor:
        cursor.execute(_statement(), _parameters(timezone.now()))
        return int(cursor.rowcount)


def _parameters(now: datetime) -> dict[str, Any]:
    today = timezone.localdate(now)
    return {
        "now": now,
        "hour_ago": now - timedelta(hours=1),
        "yesterday": today - timedelta(days=1),
        "chase_since": now - timedelta(hours=settings.LIVEOPS_CHASE_LOOKBACK_HOURS),
        "chase_window": f"{int(settings.LIVEOPS_CHASE_MINUTES)} minutes",
        "chase_factor": settings.LIVEOPS_CHASE_FACTOR,
        "big_loss": settings.LIVEOPS_BIG_LOSS_GOLD,
        "rapid_spend": settings.LIVEOPS_RAPID_SPEND_CENTS,
    }
