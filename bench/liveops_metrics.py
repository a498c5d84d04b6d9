"""One player-metrics run at a large event log: the folded totals against the whole-log statement.

    make bench-liveops                  # 20,000 players, 1,000,000 events
    make bench-liveops BENCH_ARGS="--players 100000 --events 5000000"

Fills a throw-away database with players and a log of settled rounds over ``--days`` days, with
real-money purchases (one event in 500) and a few reversals, in time order as the log is written.
Then, ``--repeat`` times: ``--new`` events are appended (the traffic between two runs), and one run
is timed each way on the same log:

- ``before``: the statement that read the whole log on every run (decision 0215 as first built,
  kept here as the baseline);
- ``after``: the log-totals projection applies the new events (what the projection workers do
  between two runs: ``after_fold``), then ``liveops.services.player_metrics_recompute`` reads the
  folded rows and the clock's windows (``after_job``; decision 0256).

Prints one JSON line per figure (appended to ``bench/results/liveops_metrics.jsonl``): the load,
the one-time fold of the whole log by the projection, and p50/p99 of each run with the ratio
before / after. PostgreSQL runs without fsync (a bench of reads and set-based writes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench import harness  # sets the settings module and sys.path first

# The whole-log statement as it was before the totals were folded (the baseline; the buckets are
# formatted in from settings as liveops.metrics does).
BEFORE = """
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
SELECT u.id, coalesce(p.purchases, 0), coalesce(p.cents, 0), p.first_at, p.last_at,
       CASE WHEN coalesce(p.purchases, 0) = 0 THEN 0 ELSE {recency} END,
       CASE WHEN coalesce(p.purchases, 0) = 0 THEN 0 ELSE {frequency} END,
       CASE WHEN coalesce(p.purchases, 0) = 0 THEN 0 ELSE {monetary} END,
       greatest(u.last_login, active.last_at),
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
"""

# events of random players at random times in [start, start + span], in time order; one in 500
# is a real-money purchase, one purchase in 20 is reversed later
EVENTS = """
INSERT INTO casinoclub_domainevent (type, user_id, payload, created_at, transaction_id)
SELECT CASE WHEN kind = 0 THEN 'purchase_succeeded' ELSE 'round_settled' END, u,
       CASE WHEN kind = 0 THEN jsonb_build_object('receipt', 'b-' || %(tag)s || n,
                'flow', 'pack', 'product_code', 'pack', 'price_cents', 4900, 'price_gold', 0,
                'gold', 5000)
            ELSE jsonb_build_object('round_id', n, 'game', 'slot', 'bet', bet, 'payout',
                payout, 'multiplier_x100', payout * 100 / bet) END,
       t, 1
FROM (SELECT n, %(first)s + (random() * (%(last)s - %(first)s))::bigint AS u,
             (random() * 499)::int AS kind, 10 * (1 + (random() * 9)::int) AS bet,
             CASE WHEN random() < 0.45 THEN 20 * (1 + (random() * 9)::int) ELSE 0 END AS payout,
             %(start)s + random() * %(span)s * interval '1 second' AS t
      FROM generate_series(1, %(count)s) AS n) s
ORDER BY t
"""

REVERSALS = """
INSERT INTO casinoclub_domainevent (type, user_id, payload, created_at, transaction_id)
SELECT 'purchase_reversed', user_id, jsonb_build_object('receipt', payload->>'receipt',
       'kind', 'refund', 'price_cents', payload->'price_cents'), created_at + interval '1 hour', 1
FROM casinoclub_domainevent
WHERE type = 'purchase_succeeded' AND created_at < %(before)s AND random() < 0.05
ORDER BY created_at
"""


def _timed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from casinoclub.projections import projection_batch_apply, projections_run
    from liveops import services
    from liveops.metrics import PLAYER_TOTALS

    call_command("migrate", "--no-input", verbosity=0)
    lines: list[dict[str, Any]] = []
    now = timezone.now()
    start = now - timedelta(days=args.days)

    def execute(sql: str, params: dict[str, Any]) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    bounds: dict[str, int] = {}

    def load() -> int:
        execute("SELECT setseed(0.42)", {})
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_user (password, is_superuser, site_id, nickname, "
                "phone_number, rank, vip_points, level, experience, is_active, is_staff, "
                "level_rewards_paid_through, date_joined, email, language, token_version, "
                "revoked_sessions) SELECT '!', false, 'lm-' || n, 'lm' || n, '+83' || n, "
                "'standard', 0, 1, 0, true, false, 1, %s, '', '', 0, '{}'::jsonb "
                "FROM generate_series(1, %s) AS n RETURNING id",
                [start, args.players],
            )
            ids = [row[0] for row in cursor.fetchall()]
        bounds.update(first=min(ids), last=max(ids))
        span = (timezone.now() - start).total_seconds() - 60
        written = execute(
            EVENTS, {**bounds, "tag": "load", "start": start, "span": span, "count": args.events}
        )
        written += execute(REVERSALS, {"before": now - timedelta(hours=2)})
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        return written

    harness.log(f"generating {args.players} players and {args.events} events over {args.days} d")
    seconds, written = _timed(load)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('casinoclub_domainevent')")
        (size,) = cursor.fetchone()
    lines.append(harness.emit({
        "figure": "generate", "seconds": round(seconds, 1), "players": args.players,
        "events": written, "log_mib": size // 2**20,
    }))  # fmt: skip

    def fold_all() -> int:
        total = 0
        while applied := projection_batch_apply(PLAYER_TOTALS, limit=args.fold_batch):
            total += applied
        return total

    seconds, folded = _timed(fold_all)
    lines.append(
        harness.emit(
            {"figure": "fold_whole_log_once", "seconds": round(seconds, 1), "events": folded}
        )
    )

    def before_run() -> int:
        moment = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                _before_statement(),
                {
                    "now": moment,
                    "hour_ago": moment - timedelta(hours=1),
                    "tz": settings.TIME_ZONE,
                    "streak_since": moment - timedelta(days=400),
                    "yesterday": timezone.localdate(moment) - timedelta(days=1),
                    "chase_since": moment - timedelta(hours=settings.LIVEOPS_CHASE_LOOKBACK_HOURS),
                    "chase_window": f"{int(settings.LIVEOPS_CHASE_MINUTES)} minutes",
                    "chase_factor": settings.LIVEOPS_CHASE_FACTOR,
                    "big_loss": settings.LIVEOPS_BIG_LOSS_GOLD,
                    "rapid_spend": settings.LIVEOPS_RAPID_SPEND_CENTS,
                },
            )
            return cursor.rowcount

    before: list[float] = []
    after: list[float] = []
    folding: list[float] = []
    statement: list[float] = []
    for index in range(args.repeat):
        moment = timezone.now()
        execute(
            EVENTS,
            {
                **bounds, "tag": f"new{index}-",
                "start": moment - timedelta(minutes=5), "span": 299, "count": args.new,
            },
        )  # fmt: skip
        # what the projection workers do between two runs, then the job (its catch-up is empty)
        folding.append(_timed(projections_run, names=[PLAYER_TOTALS])[0])
        statement.append(_timed(services.player_metrics_recompute)[0])
        after.append(folding[-1] + statement[-1])
        before.append(_timed(before_run)[0])
        harness.log(
            f"run {index + 1}: before {before[-1]:.2f} s, after {after[-1]:.2f} s"
            f" (fold {folding[-1]:.2f} s + job {statement[-1]:.2f} s)"
        )

    def ms(values: list[float], fraction: float) -> float:
        return round(harness.percentile(values, fraction) * 1000, 1)

    lines.append(harness.emit({
        "figure": "metrics_run", "n": args.repeat, "new_events_per_run": args.new,
        "before_p50_ms": ms(before, 0.5), "before_p99_ms": ms(before, 0.99),
        "after_p50_ms": ms(after, 0.5), "after_p99_ms": ms(after, 0.99),
        "after_fold_p50_ms": ms(folding, 0.5), "after_job_p50_ms": ms(statement, 0.5),
        "ratio_p50": round(ms(before, 0.5) / ms(after, 0.5), 1),
        "ratio_job_p50": round(ms(before, 0.5) / ms(statement, 0.5), 1),
    }))  # fmt: skip
    return lines


def _before_statement() -> str:
    from django.conf import settings

    from liveops.metrics import _bucket

    return BEFORE.format(
        recency=_bucket(
            "extract(epoch FROM (%(now)s - p.last_at)) / 86400",
            tuple(settings.LIVEOPS_RFM_RECENCY_DAYS),
            at_most=True,
        ),
        frequency=_bucket("p.purchases", tuple(settings.LIVEOPS_RFM_FREQUENCY)),
        monetary=_bucket("p.cents", tuple(settings.LIVEOPS_RFM_MONETARY_CENTS)),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--new", type=int, default=5_000, help="events appended before each run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs each way")
    parser.add_argument("--fold-batch", type=int, default=20_000, help="events per fold batch")
    args = parser.parse_args()
    with harness.bench_services(fsync=False) as urls:
        os.environ.update(urls)
        lines = run(args)
    stamp = {"at": harness.now_iso(), "players": args.players, "log_events": args.events}
    harness.results_append("liveops_metrics", [{**stamp, **line} for line in lines])
    return 0


if __name__ == "__main__":
    sys.exit(main())
