"""The daily rollups staff dashboards and the warehouse export read.

Invariants:
- ``analytics_rollup_day(day)`` recomputes every rollup row of ``day`` (product time zone) from the
  raw rows of that day only (activity, the event log, the ledger, purchases, participations) and
  replaces the day's rows in one transaction: a re-run over unchanged data leaves every rollup row
  as it was, and a re-run after late data (a refund, a late webhook) corrects the day.
- Retention rows belong to signup days: a day's run recomputes the cohorts of ``day`` and of the
  signup days whose D1, D7 or D30 is ``day``. A ``dN`` stays null until day ``signup + N`` is over.
- No figure ever adds two currencies together.
- Each source is one indexed day-range aggregate: the cost of a day does not grow with history.
"""

from __future__ import annotations

import time as clock
import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.selectors import ledger_flow_by_reason, staff_user_ids, user_ids_joined
from analytics.models import (
    DailyActivity,
    FunnelDaily,
    GameDaily,
    GoldFlowDaily,
    PlayerActivity,
    ProgressDaily,
    RetentionCohort,
    RevenueDaily,
    RollupRun,
)
from events.selectors import progress_rows
from shop.selectors import money_revenue_rows, purchase_funnel_rows

RETENTION_DAYS = (1, 7, 30)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in the product's time zone, as aware datetimes."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return (
        datetime.combine(day, time.min, tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
    )


def _activity(day: date, new_players: int) -> DailyActivity:
    # staff using the player API with a token are recorded like anyone; they are not players
    players = PlayerActivity.objects.exclude(user_id__in=staff_user_ids())
    today = players.filter(day=day).aggregate(
        dau=Count("id"),
        sessions=Sum("sessions", default=0),
        shop_viewers=Count("id", filter=Q(shop_viewed=True)),
    )
    # WAU and MAU in one pass over the 30 days' (day, user) index
    windows = players.filter(day__gte=day - timedelta(days=29), day__lte=day).aggregate(
        wau=Count("user_id", distinct=True, filter=Q(day__gte=day - timedelta(days=6))),
        mau=Count("user_id", distinct=True),
    )
    return DailyActivity(
        day=day,
        dau=today["dau"],
        wau=windows["wau"],
        mau=windows["mau"],
        new_players=new_players,
        sessions=int(today["sessions"]),
        shop_viewers=today["shop_viewers"],
    )


def _cohort(signup_day: date, today: date, players: list[int]) -> RetentionCohort:
    returned: dict[int, int | None] = {}
    for offset in RETENTION_DAYS:
        later = signup_day + timedelta(days=offset)
        if later >= today or not players:
            returned[offset] = None if later >= today else 0
            continue
        returned[offset] = PlayerActivity.objects.filter(day=later, user_id__in=players).count()
    return RetentionCohort(
        signup_day=signup_day,
        players=len(players),
        d1=returned[1],
        d7=returned[7],
        d30=returned[30],
    )


def _games(since: datetime, until: datetime, day: date) -> list[GameDaily]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT payload->>'game', COUNT(DISTINCT user_id), COUNT(*), "
            "COALESCE(SUM((payload->>'bet')::bigint), 0), "
            "COALESCE(SUM((payload->>'payout')::bigint), 0) "
            "FROM casinoclub_domainevent WHERE type = 'round_settled' "
            "AND created_at >= %s AND created_at < %s GROUP BY 1 ORDER BY 1",
            [since, until],
        )
        return [
            GameDaily(day=day, game=game, players=players, rounds=rounds, bet=bet, payout=payout)
            for game, players, rounds, bet, payout in cursor.fetchall()
        ]


def _replace(model: Any, rows: list[Any], key: tuple[str, ...], **scope: Any) -> None:
    """Make ``model``'s rows in ``scope`` exactly ``rows``: rows whose key is gone are deleted,
    the others are upserted on their key, so a row that did not change keeps its id and values."""
    keys = [tuple(getattr(row, field) for field in key) for row in rows]
    stale = model.objects.filter(**scope)
    for values in keys:
        stale = stale.exclude(**dict(zip(key, values, strict=True)))
    stale.delete()
    if rows:
        stored = [
            field.name
            for field in model._meta.concrete_fields
            if not field.primary_key and field.name not in key
        ]
        model.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=list(key), update_fields=stored
        )


def analytics_rollup_day(day: date, *, now: datetime | None = None) -> dict[str, int]:
    """(Re)compute every rollup of ``day``; returns how many rows each table holds for it.

    Idempotent: the rows depend only on the raw rows (and, for retention, on whether the later
    day is over at ``now``). Safe to run concurrently with itself: the day's rows are replaced in
    one transaction that first takes the day's advisory lock.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    started = clock.perf_counter()
    since, until = day_bounds(day)
    new_player_ids = user_ids_joined(since, until)
    activity = _activity(day, len(new_player_ids))
    cohort_days = sorted({day, *(day - timedelta(days=offset) for offset in RETENTION_DAYS)})
    cohorts = [
        _cohort(
            signup_day,
            today,
            new_player_ids if signup_day == day else user_ids_joined(*day_bounds(signup_day)),
        )
        for signup_day in cohort_days
    ]
    funnel = [
        FunnelDaily(day=day, viewed=activity.shop_viewers, **row)
        for row in purchase_funnel_rows(since, until)
    ]
    revenue = [
        RevenueDaily(day=day, net=row["sales"] - row["refunds"], dau=activity.dau, **row)
        for row in money_revenue_rows(since, until)
    ]
    gold = [GoldFlowDaily(day=day, **row) for row in ledger_flow_by_reason(since, until)]
    games = _games(since, until, day)
    progress = [ProgressDaily(day=day, **row) for row in progress_rows(since, until)]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x616E61, day.toordinal()])
        _replace(DailyActivity, [activity], ("day",), day=day)
        _replace(RetentionCohort, cohorts, ("signup_day",), signup_day__in=cohort_days)
        _replace(FunnelDaily, funnel, ("day", "product"), day=day)
        _replace(RevenueDaily, revenue, ("day", "currency"), day=day)
        _replace(GoldFlowDaily, gold, ("day", "reason"), day=day)
        _replace(GameDaily, games, ("day", "game"), day=day)
        _replace(ProgressDaily, progress, ("day", "kind", "ref_id"), day=day)
        RollupRun.objects.update_or_create(
            day=day,
            defaults={"computed_at": now, "seconds": clock.perf_counter() - started},
        )
    return {
        "activity": 1,
        "retention": len(cohorts),
        "funnel": len(funnel),
        "revenue": len(revenue),
        "gold": len(gold),
        "games": len(games),
        "progress": len(progress),
    }


def analytics_rollup_range(first: date, last: date, *, now: datetime | None = None) -> int:
    """``analytics_rollup_day`` for every day in [first, last]; returns the number of days."""
    day, days = first, 0
    while day <= last:
        analytics_rollup_day(day, now=now)
        day += timedelta(days=1)
        days += 1
    return days


def analytics_rollup_recent(*, now: datetime | None = None) -> list[date]:
    """The scheduled job: today so far and the days before it (``ANALYTICS_ROLLUP_DAYS_BACK``), so
    late data (refunds, late webhooks, a day's D1) lands without a manual re-run."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = [
        today - timedelta(days=back) for back in range(settings.ANALYTICS_ROLLUP_DAYS_BACK, -1, -1)
    ]
    for day in days:
        analytics_rollup_day(day, now=now)
    return days
