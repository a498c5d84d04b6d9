"""A generator that fills the database with players, activity, ledger entries, rounds, purchases
and event/mission participation for the analytics rollups: set-based SQL (``INSERT … SELECT``
over ``generate_series``), never the ORM per row, so a million players and ten million ledger
entries load in minutes.

``generate(players=…, ledger=…, days=…, end_day=…)`` adds rows beside whatever is there (its
players are named ``gen<tag>-<n>``) and returns what it wrote. Deterministic for a given
``seed`` (PostgreSQL ``setseed``). Used by ``bench/analytics.py`` and by the analytics tests.
"""

from __future__ import annotations

import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

GAMES = ("slot", "dice", "roulette", "crash")
# reason, sign: faucets mint (+), sinks burn (−)
REASONS = (
    ("game_bet", -1), ("game_win", 1), ("streak_reward", 1), ("mission_reward", 1),
    ("event_reward", 1), ("shop_purchase", -1), ("purchase_credit", 1), ("staff_grant", 1),
)  # fmt: skip


@dataclass(frozen=True)
class Generated:
    first_day: date
    last_day: date
    first_user_id: int
    last_user_id: int
    players: int
    activity_rows: int
    ledger_rows: int
    rounds: int
    purchases: int
    participations: int


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _execute(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount


def generate(
    *,
    players: int = 2000,
    ledger: int = 20000,
    days: int = 30,
    end_day: date | None = None,
    active_share: float = 0.3,
    seed: float = 0.42,
) -> Generated:
    """Fill ``days`` days ending ``end_day`` (default yesterday) with data; see the module doc.

    Players sign up over the window and the 30 days before it; each is active on a day after
    signing up with probability ``active_share``. A quarter of the ledger entries are rounds (a
    ``round_settled`` event each, with its bet and payout); purchases are one per 20 players.
    """
    end_day = end_day or timezone.localdate() - timedelta(days=1)
    first_day = end_day - timedelta(days=days - 1)
    signup_from = _midnight(first_day - timedelta(days=30))
    window_start, window_end = _midnight(first_day), _midnight(end_day + timedelta(days=1))
    span = (window_end - window_start).total_seconds()
    signup_span = (window_end - signup_from).total_seconds()
    tag = secrets.token_hex(3)
    rounds = ledger // 4
    purchases = max(1, players // 20)
    with transaction.atomic():
        _execute("SELECT setseed(%s)", [seed])
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_user (password, last_login, is_superuser, site_id, nickname, "
                "phone_number, rank, vip_points, level, experience, is_active, banned_until, "
                "is_staff, level_rewards_paid_through, date_joined, birth_date, email, "
                "email_verified_at, language, token_version, revoked_sessions, invite_code_id) "
                "SELECT '!', NULL, false, %s || n, 'g' || %s || n, %s || n, 'standard', 0, 1, 0, "
                "true, NULL, false, 1, %s + random() * %s * interval '1 second', NULL, '', NULL, "
                "'', 0, '{}'::jsonb, NULL FROM generate_series(1, %s) AS n RETURNING id",
                [f"gen{tag}-", tag, f"+8{tag}", signup_from, signup_span, players],
            )
            ids = [row[0] for row in cursor.fetchall()]
        first_user_id, last_user_id = min(ids), max(ids)
        user_range = [first_user_id, last_user_id]
        _execute(
            "INSERT INTO accounts_wallet (user_id, balance, updated_at) "
            "SELECT id, 1000000, now() FROM accounts_user WHERE id BETWEEN %s AND %s",
            user_range,
        )
        activity_rows = _execute(
            "INSERT INTO analytics_playeractivity (user_id, day, sessions, shop_viewed, "
            "first_seen_at) SELECT u.id, d::date, (random() * 3)::int, random() < 0.15, "
            "d + interval '9 hours' FROM accounts_user u CROSS JOIN generate_series(%s::date, "
            "%s::date, interval '1 day') AS d WHERE u.id BETWEEN %s AND %s "
            "AND (u.date_joined AT TIME ZONE %s)::date <= d::date AND random() < %s "
            "ON CONFLICT DO NOTHING",
            [first_day, end_day, *user_range, settings.TIME_ZONE, active_share],
        )
        reasons = "ARRAY[" + ",".join(f"'{name}'" for name, _ in REASONS) + "]"
        signs = "ARRAY[" + ",".join(str(sign) for _, sign in REASONS) + "]"
        # entries in time order (ids grow with created_at, as in production)
        _execute(
            f"INSERT INTO accounts_ledgerentry (wallet_id, delta, balance_after, reason, "  # noqa: S608  # constant arrays
            f"reference, idempotency_key, created_at) SELECT w, "
            f"({signs})[r] * (1 + (random() * 999)::int), "
            f"1000000, ({reasons})[r], '', %s || n, t FROM (SELECT n, "
            f"%s + (random() * (%s - %s))::bigint AS w, "
            f"1 + (random() * {len(REASONS) - 1})::int AS r, "
            f"%s + random() * %s * interval '1 second' AS t FROM generate_series(1, %s) AS n) s "
            f"ORDER BY t",
            [f"gen{tag}-", first_user_id, last_user_id, first_user_id, window_start, span, ledger],
        )
        games = "ARRAY[" + ",".join(f"'{game}'" for game in GAMES) + "]"
        _execute(
            f"INSERT INTO casinoclub_domainevent (type, user_id, payload, created_at, "  # noqa: S608  # constant array
            f"transaction_id) SELECT 'round_settled', u, jsonb_build_object('round_id', n, "
            f"'game', ({games})[g], 'bet', bet, 'payout', payout, 'multiplier_x100', "
            f"CASE WHEN bet > 0 THEN payout * 100 / bet ELSE 0 END), t, 1 FROM (SELECT n, "
            f"%s + (random() * (%s - %s))::bigint AS u, "
            f"1 + (random() * {len(GAMES) - 1})::int AS g, "
            f"10 * (1 + (random() * 9)::int) AS bet, "
            f"CASE WHEN random() < 0.45 THEN 20 * (1 + (random() * 9)::int) ELSE 0 END AS payout, "
            f"%s + random() * %s * interval '1 second' AS t FROM generate_series(1, %s) AS n) s "
            f"ORDER BY t",
            [first_user_id, last_user_id, first_user_id, window_start, span, rounds],
        )
        product_ids = _products(tag)
        _execute(
            "INSERT INTO shop_purchase (receipt, user_id, flow, product_id, package_id, status, "
            "price_cents, discount_cents, currency, price_gold, gold, items, promo_id, gateway, "
            "gateway_ref, failure_reason, hold_expires_at, needs_review, signature, created_at, "
            "updated_at, settled_at, refunded_at, reversal_kind, reversal_source, review_reasons, "
            "provider_refund_state, provider_refund_ref) "
            "SELECT %s || n, u, 'gold_pack', (%s::bigint[])[p], NULL, st, "
            "CASE WHEN p = 3 THEN 499 ELSE 4900 * p END, 0, CASE WHEN p = 3 THEN 'USD' ELSE 'KRW' "
            "END, 0, 5000, '[]'::jsonb, NULL, 'simulator', '', '', NULL, false, '', t, t, "
            "CASE WHEN st IN ('success', 'refunded') THEN t + interval '5 seconds' END, "
            "CASE WHEN st = 'refunded' THEN t + interval '1 day' END, "
            "CASE WHEN st = 'refunded' THEN 'refund' ELSE '' END, '', '[]'::jsonb, '', '' "
            "FROM (SELECT n, %s + (random() * (%s - %s))::bigint AS u, "
            "1 + (random() * 2)::int AS p, (ARRAY['success','success','success','success',"
            "'success','failed','pending','refunded'])[1 + (random() * 7)::int] AS st, "
            "%s + random() * %s * interval '1 second' AS t FROM generate_series(1, %s) AS n) s "
            "ORDER BY t",
            [f"GEN{tag}-", product_ids, first_user_id, last_user_id, first_user_id,
             window_start, span - 86400 * 1.5, purchases],
        )  # fmt: skip
        participations = _progress(tag, user_range, window_start, span)
    # what autovacuum does on a database that has run for a while: statistics and the visibility
    # map (index-only scans of the day ranges need it)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # inside a test's transaction VACUUM cannot run
            cursor.execute("ANALYZE")
        else:
            cursor.execute("VACUUM ANALYZE")
    return Generated(
        first_day=first_day,
        last_day=end_day,
        first_user_id=first_user_id,
        last_user_id=last_user_id,
        players=players,
        activity_rows=activity_rows,
        ledger_rows=ledger,
        rounds=rounds,
        purchases=purchases,
        participations=participations,
    )


def _products(tag: str) -> list[int]:
    from shop.models import Product

    return [
        Product.objects.create(
            code=f"gen{tag}-{index}", name=f"Pack {index}", kind="gold_pack",
            gold_amount=5000 * index, price_cents=4900 * index,
            currency="USD" if index == 3 else "KRW",
        ).pk
        for index in (1, 2, 3)
    ]  # fmt: skip


def _progress(tag: str, user_range: list[int], window_start: datetime, span: float) -> int:
    """Two events and two daily missions; a tenth of the players join each event, a twentieth
    take each mission on a random day; some complete, some of those claim."""
    from events.models import Event, Mission

    count = 0
    window_end = window_start + timedelta(seconds=span)
    for index in (1, 2):
        event = Event.objects.create(
            title=f"Generated event {tag}-{index}", requirement_type="plays", target=3,
            starts_at=window_start, ends_at=window_end,
        )  # fmt: skip
        count += _execute(
            "INSERT INTO events_eventparticipation (user_id, event_id, progress, progress_version, "
            "joined_at, completed_at, claimed_at) SELECT id, %s, 0, 0, j, c, "
            "CASE WHEN c IS NOT NULL AND random() < 0.7 THEN c + interval '1 hour' END "
            "FROM (SELECT id, j, CASE WHEN random() < 0.4 THEN j + interval '6 hours' END AS c "
            "FROM (SELECT id, %s + random() * %s * interval '1 second' AS j FROM accounts_user "
            "WHERE id BETWEEN %s AND %s AND random() < 0.1) a) b",
            [event.pk, window_start, span - 86400, *user_range],
        )
        mission = Mission.objects.create(
            code=f"gen{tag}-{index}", title=f"Generated mission {tag}-{index}",
            requirement_type="plays", target=3, period="daily",
        )  # fmt: skip
        count += _execute(
            "INSERT INTO events_missionprogress (user_id, mission_id, period_start, progress, "
            "progress_version, completed_at, claimed_at, closed_at, created_at, updated_at) "
            "SELECT id, %s, (j AT TIME ZONE %s)::date, 0, 0, c, "
            "CASE WHEN c IS NOT NULL AND random() < 0.7 THEN c + interval '1 hour' END, "
            "NULL, j, j FROM (SELECT id, j, CASE WHEN random() < 0.5 THEN j + interval '2 hours' "
            "END AS c FROM (SELECT id, %s + random() * %s * interval '1 second' AS j "
            "FROM accounts_user WHERE id BETWEEN %s AND %s AND random() < 0.05) a) b",
            [mission.pk, settings.TIME_ZONE, window_start, span - 86400, *user_range],
        )
    return count
