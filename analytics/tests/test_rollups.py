"""Every rollup equals a straightforward recomputation in Python from the raw rows of a generated
month; a re-run over unchanged data changes nothing; a late change re-rolls into the day."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import LedgerEntry, User
from accounts.tests.factories import UserFactory, staff_member
from analytics.models import (
    DailyActivity,
    FunnelDaily,
    GameDaily,
    GoldFlowDaily,
    PlayerActivity,
    ProgressDaily,
    RetentionCohort,
    RevenueDaily,
)
from analytics.services.rollups import analytics_rollup_day, analytics_rollup_range
from bench.analytics_data import generate
from casinoclub.models import DomainEvent
from events.models import EventParticipation, MissionProgress
from shop.models import Purchase

pytestmark = pytest.mark.django_db


def local_day(moment: Any) -> date:
    return timezone.localdate(moment)


def rollup_snapshot() -> dict[str, set[tuple[Any, ...]]]:
    """Every rollup row with its id: a re-run that changes nothing keeps ids and values."""
    return {
        model.__name__: set(model.objects.values_list())
        for model in (DailyActivity, RetentionCohort, FunnelDaily, RevenueDaily, GoldFlowDaily,
                      GameDaily, ProgressDaily)
    }  # fmt: skip


@pytest.fixture
def month() -> Any:
    generated = generate(players=400, ledger=4000, days=30)
    analytics_rollup_range(generated.first_day, generated.last_day)
    return generated


def test_activity_rollups_equal_a_recomputation(month):
    # given every activity row and every player's signup day
    active: dict[date, set[int]] = defaultdict(set)
    sessions: Counter[date] = Counter()
    viewers: Counter[date] = Counter()
    for user_id, day, count, viewed in PlayerActivity.objects.values_list(
        "user_id", "day", "sessions", "shop_viewed"
    ):
        active[day].add(user_id)
        sessions[day] += count
        viewers[day] += int(viewed)
    joined = Counter(
        local_day(moment) for moment in User.objects.filter(is_staff=False)
        .values_list("date_joined", flat=True)
    )  # fmt: skip

    # then each day's row holds the same figures
    rows = {row.day: row for row in DailyActivity.objects.all()}
    assert sorted(rows) == [month.first_day + timedelta(days=n) for n in range(30)]
    for day, row in rows.items():
        week = set().union(*(active[day - timedelta(days=back)] for back in range(7)))
        month_of = set().union(*(active[day - timedelta(days=back)] for back in range(30)))
        assert (row.dau, row.wau, row.mau) == (len(active[day]), len(week), len(month_of))
        assert (row.sessions, row.shop_viewers, row.new_players) == (
            sessions[day],
            viewers[day],
            joined[day],
        )
    assert sum(row.dau for row in rows.values()) == month.activity_rows > 0


def test_retention_equals_a_recomputation(month):
    today = timezone.localdate()
    cohorts: dict[date, set[int]] = defaultdict(set)
    for user_id, moment in User.objects.filter(is_staff=False).values_list("pk", "date_joined"):
        cohorts[local_day(moment)].add(user_id)
    active = set(PlayerActivity.objects.values_list("day", "user_id"))

    rows = list(RetentionCohort.objects.all())
    assert len(rows) > 30
    for row in rows:
        members = cohorts[row.signup_day]
        assert row.players == len(members)
        for offset in (1, 7, 30):
            later = row.signup_day + timedelta(days=offset)
            expected = None if later >= today else sum((later, user) in active for user in members)
            assert getattr(row, f"d{offset}") == expected, (row.signup_day, offset)
    assert any(row.d1 for row in rows)
    assert any(row.d7 for row in rows)


def test_funnel_and_revenue_equal_a_recomputation(month):
    funnel: dict[tuple[date, str], Counter[str]] = defaultdict(Counter)
    players: dict[tuple[date, str], set[int]] = defaultdict(set)
    revenue: dict[tuple[date, str], Counter[str]] = defaultdict(Counter)
    payers: dict[tuple[date, str], set[int]] = defaultdict(set)
    first_sale: dict[int, Any] = {}
    purchases = list(Purchase.objects.filter(flow__in=["gold_pack", "limited"])
                     .select_related("product").order_by("settled_at"))  # fmt: skip
    for purchase in purchases:
        day = local_day(purchase.created_at)
        for product in ("", purchase.product.code):
            funnel[day, product]["attempted"] += 1
            players[day, product].add(purchase.user_id)
            funnel[day, product]["paid"] += purchase.settled_at is not None
            funnel[day, product]["settled"] += purchase.status == "success"
        if purchase.settled_at is not None:
            first_sale.setdefault(purchase.user_id, purchase.settled_at)
            key = (local_day(purchase.settled_at), purchase.currency)
            revenue[key]["sales"] += purchase.price_cents
            payers[key].add(purchase.user_id)
        if purchase.refunded_at is not None:
            revenue[local_day(purchase.refunded_at), purchase.currency]["refunds"] += (
                purchase.price_cents
            )
    dau = dict(DailyActivity.objects.values_list("day", "dau"))
    viewed = dict(DailyActivity.objects.values_list("day", "shop_viewers"))

    stored = {
        (row.day, row.product): (row.viewed, row.attempted, row.attempted_players, row.paid,
                                 row.settled)
        for row in FunnelDaily.objects.all()
    }  # fmt: skip
    expected = {
        key: (viewed[key[0]], counts["attempted"], len(players[key]), counts["paid"],
              counts["settled"])
        for key, counts in funnel.items()
    }  # fmt: skip
    # days without a purchase still have their all-products row (the views)
    for day in dau:
        expected.setdefault((day, ""), (viewed[day], 0, 0, 0, 0))
    assert stored == expected
    assert sum(row[1] for key, row in stored.items() if key[1] == "") == month.purchases

    stored_revenue = {
        (row.day, row.currency): (row.sales, row.refunds, row.net, row.payers, row.first_payers,
                                  row.dau)
        for row in RevenueDaily.objects.all()
    }  # fmt: skip
    expected_revenue = {
        key: (
            money["sales"], money["refunds"], money["sales"] - money["refunds"],
            len(payers[key]),
            sum(local_day(first_sale[user]) == key[0] for user in payers[key]),
            dau[key[0]],
        )
        for key, money in revenue.items()
    }  # fmt: skip
    assert stored_revenue == expected_revenue
    assert {currency for _, currency in stored_revenue} == {"KRW", "USD"}


def test_gold_games_and_progress_equal_a_recomputation(month):
    gold: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for reason, delta, moment in LedgerEntry.objects.values_list("reason", "delta", "created_at"):
        bucket = gold[local_day(moment), reason]
        bucket[0 if delta > 0 else 1] += abs(delta)
        bucket[2] += 1
    assert {
        (row.day, row.reason): [row.minted, row.burned, row.entries]
        for row in GoldFlowDaily.objects.all()
    } == dict(gold)

    games: dict[tuple[date, str], list[Any]] = defaultdict(lambda: [set(), 0, 0, 0])
    for user_id, payload, moment in DomainEvent.objects.filter(type="round_settled").values_list(
        "user_id", "payload", "created_at"
    ):
        bucket = games[local_day(moment), payload["game"]]
        bucket[0].add(user_id)
        bucket[1] += 1
        bucket[2] += payload["bet"]
        bucket[3] += payload["payout"]
    assert {
        (row.day, row.game): (row.players, row.rounds, row.bet, row.payout)
        for row in GameDaily.objects.all()
    } == {key: (len(value[0]), value[1], value[2], value[3]) for key, value in games.items()}

    progress: dict[tuple[date, str, int], Counter[str]] = defaultdict(Counter)
    for kind, rows, key, joined in (
        ("event", EventParticipation.objects.all(), "event_id", "joined_at"),
        ("mission", MissionProgress.objects.all(), "mission_id", "created_at"),
    ):
        for row in rows:
            for step, field in (("joined", joined), ("completed", "completed_at"),
                                ("claimed", "claimed_at")):  # fmt: skip
                moment = getattr(row, field)
                if moment is not None:
                    progress[local_day(moment), kind, getattr(row, key)][step] += 1
    assert {
        (row.day, row.kind, row.ref_id): (row.joined, row.completed, row.claimed)
        for row in ProgressDaily.objects.all()
    } == {
        key: (counts["joined"], counts["completed"], counts["claimed"])
        for key, counts in progress.items()
    }
    assert GameDaily.objects.count() > 0
    assert ProgressDaily.objects.count() > 0


def test_rerunning_a_day_changes_nothing(month):
    # given the month rolled up
    before = rollup_snapshot()

    # when a day (and then the whole range, through the command) is rolled up again
    analytics_rollup_day(month.last_day - timedelta(days=3))
    call_command(
        "rollup_analytics", "--since", month.first_day.isoformat(),
        "--until", month.last_day.isoformat(), stdout=io.StringIO(),
    )  # fmt: skip

    # then every rollup row is exactly as it was, ids included
    assert rollup_snapshot() == before


def test_a_late_refund_rerolls_into_its_day(month):
    # given a purchase that stood, refunded today after the month was rolled up
    purchase = Purchase.objects.filter(status="success").order_by("pk").first()
    sale_day = local_day(purchase.settled_at)
    before = RevenueDaily.objects.get(day=sale_day, currency=purchase.currency)
    funnel_before = FunnelDaily.objects.get(day=local_day(purchase.created_at), product="")
    Purchase.objects.filter(pk=purchase.pk).update(
        status="refunded", refunded_at=timezone.now(), reversal_kind="refund"
    )

    # when the days are rolled up again
    analytics_rollup_day(local_day(purchase.created_at))
    analytics_rollup_day(timezone.localdate())

    # then the sale day keeps its sales (a sale counts on the day it settled), the funnel loses
    # one standing purchase and today shows the refund
    after = RevenueDaily.objects.get(day=sale_day, currency=purchase.currency)
    assert (after.sales, after.net) == (before.sales, before.net)
    funnel_after = FunnelDaily.objects.get(day=local_day(purchase.created_at), product="")
    assert funnel_after.settled == funnel_before.settled - 1
    today = RevenueDaily.objects.get(day=timezone.localdate(), currency=purchase.currency)
    assert (today.refunds, today.net) == (purchase.price_cents, today.sales - purchase.price_cents)


def test_the_command_refuses_a_bad_day():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("rollup_analytics", "--day", "2026-13-01")
    assert DailyActivity.objects.count() == 0


def test_the_rollup_job_is_on_beat_and_rolls_up_today_and_the_days_before(settings):
    from casinoclub.celery import app

    # given the schedule and one player active today
    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["analytics-rollup"]
    assert entry["task"] == "analytics.tasks.analytics_rollup_task"
    assert entry["task"] in app.tasks
    assert entry["schedule"] == timedelta(minutes=settings.ANALYTICS_ROLLUP_MINUTES)
    from accounts.tests.factories import UserFactory
    from analytics.services.activity import activity_record
    from analytics.tasks import analytics_rollup_task

    activity_record(UserFactory().pk)

    # when beat's task runs (eagerly here)
    rolled = analytics_rollup_task.delay().get()

    # then it rolled up today and the configured days before, and today counts the player
    today = timezone.localdate()
    assert rolled == [
        (today - timedelta(days=back)).isoformat()
        for back in range(settings.ANALYTICS_ROLLUP_DAYS_BACK, -1, -1)
    ]
    assert DailyActivity.objects.get(day=today).dau == 1
    assert DailyActivity.objects.get(day=today).new_players == 1


def test_staff_activity_is_recorded_but_not_counted_as_players():
    # given a player and a staff member (using the player API with a token) active on one day
    day = timezone.localdate() - timedelta(days=1)
    player, staff = UserFactory(), staff_member()
    PlayerActivity.objects.create(user=player, day=day, sessions=2, shop_viewed=True)
    PlayerActivity.objects.create(user=staff, day=day, sessions=5, shop_viewed=True)

    # when the day is rolled up
    analytics_rollup_day(day)

    # then only the player counts
    row = DailyActivity.objects.get(day=day)
    assert (row.dau, row.wau, row.mau, row.sessions, row.shop_viewers) == (1, 1, 1, 2, 1)
