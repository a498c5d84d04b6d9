"""VIP: status, the daily points claim, and ranks earned from points (never lowered)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from accounts.models import User
from accounts.tests.test_races import run_together
from casinoclub import domain_events
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.tests.projection_helpers import caught_up, logged
from games.tests.factories import funded_player
from gamification.models import VipClaim
from gamification.tests.helpers import balance, client_of, ledger, post

KST = ZoneInfo("Asia/Seoul")


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.TIME_ZONE = "Asia/Seoul"
    settings.VIP_PREMIUM_POINTS = 500
    settings.VIP_VIP_POINTS = 3000


@pytest.fixture
def player(no_achievements):
    return funded_player(0)


def claim_at(player, day, key=None):
    with time_machine.travel(datetime(2025, 1, day, 12, tzinfo=KST), tick=False):
        return post(client_of(player), "/api/vip/claim", key=key)


def purchase(user, cents):
    with transaction.atomic():
        domain_events.domain_event_record(
            domain_events.PurchaseSucceeded(
                user_id=user.pk,
                receipt=f"R-{cents}",
                flow="gold_pack",
                product_code="pack",
                price_cents=cents,
                price_gold=0,
                gold=0,
            )
        )
    caught_up()


@pytest.mark.django_db
def test_status_of_a_new_player(player):
    with time_machine.travel(datetime(2025, 1, 1, 12, tzinfo=KST), tick=False):
        status = client_of(player).get("/api/vip/status").json()

    assert status == {
        "rank": "STANDARD",
        "rank_name": "Standard",
        "next_rank_name": "Premium",
        "vip_points": 0,
        "next_rank": "PREMIUM",
        "points_to_next_rank": 500,
        "thresholds": {"PREMIUM": 500, "VIP": 3000},
        "daily_points": 10,
        "daily_gold": 0,
        "claimed_today": False,
        "next_claim_at": None,
    }


@pytest.mark.django_db
def test_claim_once_per_day(player):
    first = claim_at(player, 1, key="vip-claim-0001")
    replay = claim_at(player, 1, key="vip-claim-0001")
    before = (User.objects.get(pk=player.pk).vip_points, ledger(player), VipClaim.objects.count())

    again = claim_at(player, 1, key="vip-claim-0002")
    tomorrow = claim_at(player, 2)

    assert first.status_code == 200
    body = first.json()
    assert (body["points"], body["reward_gold"], body["xp"]) == (10, 0, 10)
    assert (body["status"]["vip_points"], body["status"]["claimed_today"]) == (10, True)
    assert replay.content == first.content
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_claimed"
    assert before == (10, [], 1)
    assert tomorrow.status_code == 200
    assert User.objects.get(pk=player.pk).vip_points == 20
    assert User.objects.get(pk=player.pk).experience == 20


@pytest.mark.django_db
def test_higher_ranks_claim_more_points_and_gold(no_achievements):
    vip = funded_player(0, rank="VIP")
    body = claim_at(vip, 1).json()
    announced = logged("reward_claimed")

    assert (body["points"], body["reward_gold"], body["balance"]) == (30, 300, 300)
    assert ledger(vip) == [(300, "vip_reward")]
    assert announced == [domain_events.RewardClaimed(user_id=vip.pk, source="vip", gold=300, xp=10)]


@pytest.mark.django_db
def test_money_spend_earns_points_and_raises_the_rank(player):
    purchase(player, 49_999)  # 499 points
    assert User.objects.get(pk=player.pk).rank == "STANDARD"

    purchase(player, 100)  # 500 points

    user = User.objects.get(pk=player.pk)
    assert (user.vip_points, user.rank) == (500, "PREMIUM")
    update = RealtimeMessage.objects.filter(user=player, type="profile_update").order_by("-seq")[0]
    assert update.data["rank"] == "PREMIUM"
    assert update.data["rank_changed"] is True


@pytest.mark.django_db
def test_a_rank_set_by_staff_is_never_lowered(no_achievements):
    vip = funded_player(0, rank="VIP")

    purchase(vip, 1000)
    claim_at(vip, 1)

    user = User.objects.get(pk=vip.pk)
    assert (user.vip_points, user.rank) == (10 + 30, "VIP")


@pytest.mark.django_db
def test_gold_priced_purchases_earn_no_points(player):
    purchase(player, 0)

    assert User.objects.get(pk=player.pk).vip_points == 0
    assert balance(player) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_vip_claims_pay_once(no_achievements):
    player = funded_player(0, rank="PREMIUM")

    with time_machine.travel(datetime(2025, 1, 1, 12, tzinfo=KST), tick=False):
        statuses = run_together(
            5,
            lambda index: (
                post(client_of(player), "/api/vip/claim", key=f"race-vip-{index:03d}").status_code
            ),
        )

    assert sorted(statuses) == [200] + [409] * 4
    assert ledger(player) == [(100, "vip_reward")]
    assert User.objects.get(pk=player.pk).vip_points == 20
