"""Live operations in admin: segment count and preview, campaign sending with its permission."""

import pytest

from accounts.models import AuditLogEntry
from accounts.tests.factories import UserFactory, staff_member
from liveops.models import Campaign, CampaignStatus, Notification, Segment
from liveops.tests.factories import CampaignFactory, SegmentFactory, block

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["segment", "campaign", "playermetrics", "notification"])
def test_every_live_ops_page_opens(admin_client, model):
    assert admin_client.get(f"/admin/liveops/{model}/").status_code == 200
    if model in ("segment", "campaign"):
        assert admin_client.get(f"/admin/liveops/{model}/add/").status_code == 200


def test_the_segment_page_shows_the_live_count_and_the_first_members(admin_client):
    members = [UserFactory(level=7) for _ in range(3)]
    UserFactory(level=1)
    block(UserFactory(level=7))
    segment = SegmentFactory(level_min=5)

    page = admin_client.get(f"/admin/liveops/segment/{segment.pk}/change/").content.decode()

    assert "<p>3 players</p>" in page
    for member in members:
        assert member.site_id in page


def test_a_marketing_segment_of_blocked_players_is_refused(admin_client):
    response = admin_client.post(
        "/admin/liveops/segment/add/",
        {"name": "blocked", "purpose": "marketing", "play_state": "blocked"},
    )

    assert response.status_code == 200
    assert "never includes players in a cool-off" in response.content.decode()
    assert not Segment.objects.exists()


def test_a_campaign_to_unknown_listed_players_is_refused(admin_client):
    UserFactory(site_id="known01")
    response = admin_client.post(
        "/admin/liveops/campaign/add/",
        {
            "name": "c", "category": "events", "title_en": "t", "target": "listed",
            "listed_site_ids": "known01 ghost99", "reward_item_quantity": 1, "holdout_percent": 0,
            "variants-TOTAL_FORMS": 0, "variants-INITIAL_FORMS": 0,
        },
    )  # fmt: skip

    assert response.status_code == 200
    assert "Unknown players: ghost99" in response.content.decode()
    assert not Campaign.objects.exists()


def test_the_economy_role_sends_a_campaign_from_the_list_and_it_is_audited(
    client, django_capture_on_commit_callbacks
):
    player = UserFactory()
    campaign = CampaignFactory()
    staff = staff_member("economy")
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/liveops/campaign/",
            {"action": "send_campaigns", "_selected_action": [campaign.pk]},
        )

    assert response.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT
    assert Notification.objects.filter(user=player, campaign=campaign).count() == 1
    assert AuditLogEntry.objects.get(action="campaign_send").actor == staff
    page = client.get(f"/admin/liveops/campaign/{campaign.pk}/change/").content.decode()
    assert "returned within 7 days" in page
    assert "<td>default</td><td>1</td><td>1</td><td>0</td><td>0</td><td>0</td>" in page


def test_staff_without_the_send_permission_cannot_send(client):
    UserFactory()
    campaign = CampaignFactory()
    client.force_login(staff_member("support"))

    response = client.post(
        "/admin/liveops/campaign/",
        {"action": "send_campaigns", "_selected_action": [campaign.pk]},
    )

    assert response.status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
    assert Notification.objects.count() == 0
    assert not AuditLogEntry.objects.filter(action="campaign_send").exists()


def test_a_reward_above_the_grant_limit_needs_a_staff_member_who_may_approve_large_grants(
    client, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_GRANT_LIMIT = 1_000
    player = UserFactory()
    campaign = CampaignFactory(reward_gold=1_001)
    client.force_login(staff_member("economy"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/liveops/campaign/",
            {"action": "send_campaigns", "_selected_action": [campaign.pk]},
            follow=True,
        )

    assert "above the staff grant limit" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
    assert Notification.objects.filter(user=player).count() == 0
    assert not AuditLogEntry.objects.filter(action="campaign_send").exists()

    client.force_login(staff_member("administrator"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/liveops/campaign/",
            {"action": "send_campaigns", "_selected_action": [campaign.pk]},
        )

    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT
    assert Notification.objects.get(user=player).reward_gold == 1_001
