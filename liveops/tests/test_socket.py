"""A campaign's ``notification`` message reaches the player's open socket after the commit."""

import pytest

from accounts.tests.factories import UserFactory, staff_member
from casinoclub.realtime.tests.helpers import (
    TIMEOUT,
    access_token,
    async_test,
    db,
    open_synced_socket,
)
from liveops import services
from liveops.models import Campaign, CampaignStatus, Notification, Target
from liveops.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db(transaction=True)


def listed_campaign(player) -> int:  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(
        target=Target.LISTED, listed_site_ids=player.site_id, reward_gold=300
    )
    return campaign.pk


@async_test
async def test_a_delivered_notification_arrives_on_the_players_socket():
    player = await db(UserFactory)()
    bystander = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(player))
    other, _ = await open_synced_socket(await db(access_token)(bystander))
    campaign_id = await db(listed_campaign)(player)
    staff = await db(staff_member)("economy")

    await db(services.campaign_send)(campaign_id, actor=staff)  # eager dispatch after commit

    message = await communicator.receive_json_from(timeout=TIMEOUT)
    notification = await db(Notification.objects.get)(user=player)
    assert message["type"] == "notification"
    assert message["user_id"] == player.pk
    assert message["data"] == {
        "id": notification.pk,
        "category": "events",
        "title": f"Hello {player.nickname}",
        "body": "Come back for the weekend event.",
        "reward_gold": 300,
        "reward_item_code": "",
        "reward_item_quantity": 0,
        "created_at": message["data"]["created_at"],
        "unread_count": 1,
    }
    assert await other.receive_nothing(0.3)
    campaign = await db(Campaign.objects.get)(pk=campaign_id)
    assert campaign.status == CampaignStatus.SENT
    await communicator.disconnect()
    await other.disconnect()
