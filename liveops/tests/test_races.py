"""Live-operations races forced on PostgreSQL: real threads, separate connections, released together."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import LedgerEntry
from accounts.selectors import ledger_violations, wallet_balance
from accounts.tests.factories import UserFactory, staff_member
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user
from games.tests.factories import funded_player
from liveops import services
from liveops.models import CampaignDelivery, CampaignStatus, Notification, Purpose, Target
from liveops.tests.factories import CampaignFactory, SegmentFactory, block

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_dispatchers_racing_reach_each_segment_member_exactly_once_and_no_one_else():
    # given: 30 members (level >= 5), 10 outside the segment, 2 blocked members
    members = [UserFactory(level=5 + i % 3) for i in range(30)]
    outsiders = [UserFactory(level=1) for _ in range(10)]
    blocked = [UserFactory(level=9) for _ in range(2)]
    for player in blocked:
        block(player)
    segment = SegmentFactory(purpose=Purpose.MARKETING, level_min=5)
    campaign = CampaignFactory(
        target=Target.SEGMENT,
        segment=segment,
        status=CampaignStatus.SCHEDULED,
        scheduled_at=timezone.now(),
    )

    # when: two dispatchers with small batches run at the same instant
    results = run_together(
        2, lambda i: services.campaign_dispatch(campaign.pk, batch_size=4).delivered
    )

    # then
    assert sum(results) == 30
    reached = list(Notification.objects.filter(campaign=campaign).values_list("user_id", flat=True))
    assert sorted(reached) == sorted(player.pk for player in members)
    assert CampaignDelivery.objects.filter(campaign=campaign).count() == 30
    assert not set(reached) & {player.pk for player in outsiders + blocked}


def claim(token: str, notification_id: int, key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(
        f"/api/notifications/{notification_id}/claim", {}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    return response.status_code


def test_a_reward_claimed_ten_times_at_once_pays_once():
    player = funded_player(100)
    campaign = CampaignFactory(
        target=Target.LISTED, listed_site_ids=player.site_id, reward_gold=500
    )
    services.campaign_send(campaign.pk, actor=staff_member("economy"))
    notification = Notification.objects.get(user=player)
    token = token_pair_for_user(player)["access"]

    statuses = run_together(10, lambda i: claim(token, notification.pk, f"claim-key-{i:04d}"))

    assert statuses.count(200) == 1
    assert statuses.count(409) == 9
    assert wallet_balance(player.pk) == 600
    assert LedgerEntry.objects.filter(wallet_id=player.pk, reason="campaign_reward").count() == 1
    assert Notification.objects.get(pk=notification.pk).claimed_at is not None
    assert ledger_violations() == []
