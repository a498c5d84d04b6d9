"""Player metrics: RFM buckets, lifetime value, activity and risk signals, exact on crafted logs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLogEntry
from accounts.tests.factories import UserFactory
from liveops import services
from liveops.models import PlayerMetrics
from liveops.tests.factories import logged, purchase, round_settled

pytestmark = pytest.mark.django_db


def rfm(user) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    metrics = PlayerMetrics.objects.get(user=user)
    return metrics.recency_bucket, metrics.frequency_bucket, metrics.monetary_bucket


def test_rfm_buckets_and_lifetime_value_are_exact_on_a_crafted_log():
    # given
    recent_small = UserFactory()
    purchase(recent_small, 3_000, days_ago=10)
    whale = UserFactory()
    for day in range(20):
        purchase(whale, 5_000, days_ago=2 + day)
    lapsed = UserFactory()
    purchase(lapsed, 1_000, days_ago=200, receipt="kept")
    purchase(lapsed, 9_000, days_ago=199, receipt="refunded")
    logged("purchase_reversed", lapsed, {"receipt": "refunded", "kind": "refund"})
    never_paid = UserFactory()
    gold_only = UserFactory()
    logged("purchase_succeeded", gold_only, {"receipt": "g", "price_cents": 0, "price_gold": 50})

    # when
    services.player_metrics_recompute()

    # then
    assert rfm(recent_small) == (4, 1, 2)
    assert rfm(whale) == (5, 5, 5)
    assert rfm(lapsed) == (1, 1, 1)
    assert rfm(never_paid) == (0, 0, 0)
    assert rfm(gold_only) == (0, 0, 0)
    assert PlayerMetrics.objects.get(user=whale).lifetime_value_cents == 100_000
    assert PlayerMetrics.objects.get(user=whale).purchase_count == 20
    assert PlayerMetrics.objects.get(user=lapsed).lifetime_value_cents == 1_000
    assert PlayerMetrics.objects.get(user=lapsed).purchase_count == 1
    assert PlayerMetrics.objects.get(user=never_paid).lifetime_value_cents == 0


def test_recomputing_changes_nothing_and_writes_one_row_per_player():
    user = UserFactory()
    purchase(user, 3_000, days_ago=1)
    services.player_metrics_recompute()
    first = PlayerMetrics.objects.values().get(user=user)

    rows = services.player_metrics_recompute()

    again = PlayerMetrics.objects.values().get(user=user)
    assert rows == 1
    assert {k: v for k, v in again.items() if k != "computed_at"} == {
        k: v for k, v in first.items() if k != "computed_at"
    }


def test_rapid_spend_is_the_money_spent_in_the_last_hour_at_or_over_the_threshold(settings):
    settings.LIVEOPS_RAPID_SPEND_CENTS = 20_000
    spender, calm = UserFactory(), UserFactory()
    purchase(spender, 12_000, days_ago=0.01)
    purchase(spender, 8_000, days_ago=0.02)
    purchase(calm, 19_999, days_ago=0.01)
    purchase(calm, 50_000, days_ago=0.05)  # 72 minutes ago: outside the hour

    services.player_metrics_recompute()

    assert PlayerMetrics.objects.get(user=spender).spend_last_hour_cents == 20_000
    assert PlayerMetrics.objects.get(user=spender).is_rapid_spend is True
    assert PlayerMetrics.objects.get(user=calm).spend_last_hour_cents == 19_999
    assert PlayerMetrics.objects.get(user=calm).is_rapid_spend is False


def test_chasing_losses_is_a_stake_doubled_within_15_minutes_after_a_big_loss(settings):
    settings.LIVEOPS_BIG_LOSS_GOLD = 10_000
    now = timezone.now()
    chaser, cautious, slow, small_loser = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    round_settled(chaser, 10_000, 0, at=now - timedelta(minutes=60))
    round_settled(chaser, 20_000, 0, at=now - timedelta(minutes=50))
    round_settled(cautious, 10_000, 0, at=now - timedelta(minutes=60))
    round_settled(cautious, 19_999, 0, at=now - timedelta(minutes=55))
    round_settled(slow, 10_000, 0, at=now - timedelta(minutes=60))
    round_settled(slow, 20_000, 0, at=now - timedelta(minutes=44))
    round_settled(small_loser, 9_999, 0, at=now - timedelta(minutes=60))
    round_settled(small_loser, 30_000, 0, at=now - timedelta(minutes=59))

    services.player_metrics_recompute()

    flags = dict(PlayerMetrics.objects.values_list("user_id", "is_chasing_losses"))
    assert flags[chaser.pk] is True
    assert flags[cautious.pk] is False
    assert flags[slow.pk] is False
    assert flags[small_loser.pk] is False


def test_last_active_and_the_streak_of_consecutive_days_ending_today_or_yesterday():
    now = timezone.now()
    steady, broken, idle = UserFactory(), UserFactory(), UserFactory()
    for days in (0, 1, 2, 5):
        round_settled(steady, 10, 10, at=now - timedelta(days=days, minutes=1))
    for days in (2, 3):
        round_settled(broken, 10, 10, at=now - timedelta(days=days))

    services.player_metrics_recompute()

    steady_metrics = PlayerMetrics.objects.get(user=steady)
    assert steady_metrics.activity_streak_days == 3
    assert steady_metrics.last_active_at == now - timedelta(minutes=1)
    assert PlayerMetrics.objects.get(user=broken).activity_streak_days == 0
    assert PlayerMetrics.objects.get(user=idle).activity_streak_days == 0
    assert PlayerMetrics.objects.get(user=idle).last_active_at is None


def test_recompute_now_in_admin_needs_the_permission_and_is_audited(client, admin_user):
    from accounts.tests.factories import staff_member, view_only_staff

    player = UserFactory()
    viewer = view_only_staff()
    client.force_login(viewer)
    refused = client.post("/admin/liveops/playermetrics/recompute/")
    assert refused.status_code == 403
    assert not PlayerMetrics.objects.filter(user=player).exists()
    assert not AuditLogEntry.objects.filter(action="player_metrics_recompute").exists()

    economy = staff_member("economy")
    client.force_login(economy)
    response = client.post("/admin/liveops/playermetrics/recompute/")

    assert response.status_code == 303
    assert PlayerMetrics.objects.filter(user=player).exists()
    entry = AuditLogEntry.objects.get(action="player_metrics_recompute")
    assert entry.actor == economy
    assert entry.after == {"rows": PlayerMetrics.objects.count()}
