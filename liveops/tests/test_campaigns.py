"""Campaigns: audiences, exactly-once dispatch, A/B with a holdout, rules, e-mail opt-in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLogEntry, BlockKind
from accounts.tests.factories import UserFactory, staff_member
from casinoclub.realtime.models import RealtimeMessage
from liveops import selectors, services
from liveops.models import (
    Campaign,
    CampaignDelivery,
    CampaignStatus,
    CampaignVariant,
    Category,
    Notification,
    NotificationPreference,
    Purpose,
    Target,
    Trigger,
)
from liveops.tests.factories import CampaignFactory, SegmentFactory, block, purchase

pytestmark = pytest.mark.django_db


def sent(campaign: Campaign) -> Campaign:
    return services.campaign_send(campaign.pk, actor=staff_member("economy"))


def test_a_self_excluded_or_cooling_off_player_is_in_no_marketing_segment():
    # given
    free, excluded, cooling = UserFactory(level=5), UserFactory(level=5), UserFactory(level=5)
    block(excluded, BlockKind.SELF_EXCLUSION)
    block(cooling, BlockKind.COOL_OFF, days=1)
    ended = UserFactory(level=5)
    block(ended, BlockKind.COOL_OFF, days=-1)  # a break that is over
    marketing = SegmentFactory(purpose=Purpose.MARKETING, level_min=5)
    service = SegmentFactory(purpose=Purpose.SERVICE, level_min=5)

    # then
    assert set(selectors.segment_members(marketing)) == {free, ended}
    assert set(selectors.segment_members(service)) == {free, excluded, cooling, ended}


def test_a_language_segment_reads_the_players_language_and_the_default_covers_unset():
    korean, english, unset = (UserFactory(language="ko"), UserFactory(language="en"),
                              UserFactory(language=""))  # fmt: skip

    assert set(selectors.segment_members(SegmentFactory(language="ko"))) == {korean}
    assert set(selectors.segment_members(SegmentFactory(language="en"))) == {english, unset}


def test_no_campaign_reaches_a_blocked_player_even_to_everyone_or_listed():
    free, excluded = UserFactory(), UserFactory()
    block(excluded)
    everyone = CampaignFactory(target=Target.EVERYONE, category=Category.REWARDS)
    listed = CampaignFactory(
        target=Target.LISTED, listed_site_ids=f"{free.site_id}\n{excluded.site_id}"
    )

    services.campaign_dispatch(sent(everyone).pk)
    services.campaign_dispatch(sent(listed).pk)

    assert set(Notification.objects.values_list("user_id", flat=True)) == {free.pk}
    assert Notification.objects.filter(user=excluded).count() == 0


def test_segment_filters_select_exactly_their_players():
    services.player_metrics_recompute()
    gold = UserFactory(rank="GOLD", level=12)
    UserFactory(rank="GOLD", level=3)
    UserFactory(rank="STANDARD", level=12)
    buyer = UserFactory(level=1)
    purchase(buyer, 50_000, days_ago=3)
    services.player_metrics_recompute()

    assert list(selectors.segment_members(SegmentFactory(rank="GOLD", level_min=10))) == [gold]
    assert list(selectors.segment_members(SegmentFactory(monetary_min=4, recency_min=5))) == [buyer]
    assert list(selectors.segment_members(SegmentFactory(spend_min_cents=50_000))) == [buyer]


def test_sending_a_campaign_is_audited_and_makes_it_due(django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    staff = staff_member("economy")
    UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign.pk, actor=staff)

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT  # the eager dispatcher ran after the commit
    assert Notification.objects.filter(campaign=campaign).count() == 1
    entry = AuditLogEntry.objects.get(action="campaign_send")
    assert entry.actor == staff
    assert entry.before == {"status": "draft"}
    assert entry.after["status"] == "scheduled"


def test_a_campaign_scheduled_later_is_not_sent_before_its_time():
    UserFactory()
    campaign = CampaignFactory(scheduled_at=timezone.now() + timedelta(hours=1))
    sent(campaign)

    assert services.campaigns_dispatch_due() == 0
    assert Notification.objects.count() == 0

    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now())
    assert services.campaigns_dispatch_due() == 1
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT


def test_texts_are_rendered_in_the_players_language_with_their_nickname():
    korean = UserFactory(nickname="민수", language="ko")
    english = UserFactory(nickname="Sam")

    services.campaign_dispatch(sent(CampaignFactory()).pk)

    assert Notification.objects.get(user=korean).title == "안녕하세요 민수"
    assert Notification.objects.get(user=korean).body == "주말 이벤트에 오세요."
    assert Notification.objects.get(user=english).title == "Hello Sam"


def test_every_delivered_player_gets_one_notification_socket_message_with_the_unread_count():
    player = UserFactory()
    Notification.objects.create(user=player, category=Category.EVENTS, title="older")

    services.campaign_dispatch(sent(CampaignFactory(reward_gold=500)).pk)

    notification = Notification.objects.get(user=player, campaign__isnull=False)
    message = RealtimeMessage.objects.get(user_id=player.pk, type="notification")
    assert message.data == {
        "id": notification.pk,
        "category": "events",
        "title": notification.title,
        "body": notification.body,
        "reward_gold": 500,
        "reward_item_code": "",
        "reward_item_quantity": 0,
        "created_at": message.data["created_at"],
        "unread_count": 2,
    }


def test_ab_assignment_is_deterministic_weighted_and_the_holdout_gets_nothing():
    players = [UserFactory() for _ in range(200)]
    campaign = CampaignFactory(holdout_percent=20)
    a = CampaignVariant.objects.create(campaign=campaign, name="A", weight=1, title_en="A!")
    b = CampaignVariant.objects.create(campaign=campaign, name="B", weight=3, title_en="B!")
    expected = {p.pk: services.campaign_assignment(campaign, [a, b], p.pk) for p in players}

    services.campaign_dispatch(sent(campaign).pk)

    deliveries = {d.user_id: d for d in CampaignDelivery.objects.filter(campaign=campaign)}
    assert len(deliveries) == 200
    for user_id, (variant_id, is_holdout) in expected.items():
        assert (deliveries[user_id].variant_id, deliveries[user_id].is_holdout) == (
            variant_id,
            is_holdout,
        )
        assert (deliveries[user_id].notification_id is None) == is_holdout
    held_out = sum(1 for _, is_holdout in expected.values() if is_holdout)
    in_a = sum(1 for variant_id, _ in expected.values() if variant_id == a.pk)
    in_b = sum(1 for variant_id, _ in expected.values() if variant_id == b.pk)
    assert 20 <= held_out <= 60  # ~40 of 200
    assert in_b > in_a  # weights 3:1
    assert Notification.objects.filter(campaign=campaign).count() == 200 - held_out
    assert set(
        Notification.objects.filter(campaign=campaign, title="A!").values_list("user_id", flat=True)
    ) == {user_id for user_id, (variant_id, _) in expected.items() if variant_id == a.pk}


def test_the_campaign_figures_count_delivered_opened_claimed_and_returned_per_variant():
    from liveops.tests.factories import logged

    first, second, third = UserFactory(), UserFactory(), UserFactory()
    campaign = CampaignFactory()
    services.campaign_dispatch(sent(campaign).pk)
    Notification.objects.filter(user=first).update(read_at=timezone.now())
    Notification.objects.filter(user=second).update(
        read_at=timezone.now(), claimed_at=timezone.now()
    )
    logged(
        "reward_claimed",
        first,
        {"source": "streak", "gold": 1},
        at=timezone.now() + timedelta(days=1),
    )
    logged(
        "reward_claimed",
        third,
        {"source": "streak", "gold": 1},
        at=timezone.now() + timedelta(days=8),
    )

    assert selectors.campaign_variant_stats(campaign) == [
        {
            "variant": "default",
            "players": 3,
            "delivered": 3,
            "opened": 2,
            "claimed": 1,
            "returned_7d": 1,
        }
    ]


def test_a_rule_on_the_first_purchase_reaches_each_new_buyer_once():
    old_buyer, new_buyer, not_buyer = UserFactory(), UserFactory(), UserFactory()
    purchase(old_buyer, 1_000, days_ago=3)
    rule = CampaignFactory(trigger=Trigger.FIRST_PURCHASE, category=Category.REWARDS)
    sent(rule)
    purchase(new_buyer, 1_000)
    services.player_metrics_recompute()

    first = services.campaigns_dispatch_due()
    purchase(new_buyer, 2_000)
    services.player_metrics_recompute()
    second = services.campaigns_dispatch_due()

    assert (first, second) == (1, 0)
    assert list(Notification.objects.values_list("user_id", flat=True)) == [new_buyer.pk]
    assert Campaign.objects.get(pk=rule.pk).status == CampaignStatus.ACTIVE
    assert not_buyer.pk not in set(CampaignDelivery.objects.values_list("user_id", flat=True))


def test_rules_on_a_level_and_on_inactivity_reach_each_player_once():
    high, low = UserFactory(level=10), UserFactory(level=3)
    idle, busy = UserFactory(level=1), UserFactory(level=1)
    level_rule = CampaignFactory(trigger=Trigger.LEVEL_REACHED, trigger_value=10)
    idle_rule = CampaignFactory(trigger=Trigger.INACTIVE_DAYS, trigger_value=7)
    from liveops.tests.factories import round_settled

    round_settled(idle, 10, 0, at=timezone.now() - timedelta(days=8))
    round_settled(busy, 10, 0, at=timezone.now() - timedelta(days=1))
    services.player_metrics_recompute()
    sent(level_rule)
    sent(idle_rule)

    services.campaigns_dispatch_due()
    services.campaigns_dispatch_due()

    assert list(
        CampaignDelivery.objects.filter(campaign=level_rule).values_list("user_id", flat=True)
    ) == [high.pk]
    assert list(
        CampaignDelivery.objects.filter(campaign=idle_rule).values_list("user_id", flat=True)
    ) == [idle.pk]
    assert low.pk not in set(Notification.objects.values_list("user_id", flat=True))


def test_a_stopped_rule_sends_nothing_more_and_the_stop_is_audited():
    rule = CampaignFactory(trigger=Trigger.LEVEL_REACHED, trigger_value=2)
    staff = staff_member("economy")
    services.campaign_send(rule.pk, actor=staff)
    services.campaign_stop(rule.pk, actor=staff)
    UserFactory(level=5)

    assert services.campaigns_dispatch_due() == 0
    assert AuditLogEntry.objects.filter(action="campaign_stop", actor=staff).count() == 1


def test_email_goes_only_to_a_verified_address_of_a_player_who_opted_in(
    mailoutbox, django_capture_on_commit_callbacks
):
    now = timezone.now()
    opted_in = UserFactory(email="in@example.com", email_verified_at=now, language="ko")
    NotificationPreference.objects.create(user=opted_in, email_marketing=True)
    opted_out = UserFactory(email="out@example.com", email_verified_at=now)
    NotificationPreference.objects.create(user=opted_out, email_marketing=False)
    default_choice = UserFactory(email="default@example.com", email_verified_at=now)
    unverified = UserFactory(email="unverified@example.com")
    NotificationPreference.objects.create(user=unverified, email_marketing=True)
    campaign = CampaignFactory(category=Category.MARKETING, send_email=True, reward_gold=100)

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_dispatch(sent(campaign).pk)

    assert Notification.objects.filter(campaign=campaign).count() == 4  # the inbox gets them all
    assert [message.to for message in mailoutbox] == [["in@example.com"]]
    message = mailoutbox[0]
    assert message.subject == f"안녕하세요 {opted_in.nickname}"
    assert "주말 이벤트에 오세요." in message.body
    assert f"{opted_in.nickname}님, 안녕하세요." in message.body
    assert message.alternatives[0][1] == "text/html"
    assert default_choice.pk in set(Notification.objects.values_list("user_id", flat=True))


def test_rewards_e_mails_are_on_by_default_and_events_off(
    mailoutbox, django_capture_on_commit_callbacks
):
    player = UserFactory(email="p@example.com", email_verified_at=timezone.now())
    rewards = CampaignFactory(category=Category.REWARDS, send_email=True)
    events = CampaignFactory(category=Category.EVENTS, send_email=True)

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_dispatch(sent(rewards).pk)
        services.campaign_dispatch(sent(events).pk)

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [player.email]
    assert Notification.objects.filter(user=player).count() == 2


def test_a_campaign_without_send_email_sends_no_email(
    mailoutbox, django_capture_on_commit_callbacks
):
    player = UserFactory(email="p@example.com", email_verified_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_dispatch(sent(CampaignFactory(category=Category.REWARDS)).pk)

    assert mailoutbox == []
    assert Notification.objects.filter(user=player).count() == 1


def test_the_first_purchase_rule_reaches_the_buyer_when_the_projections_apply_the_purchase():
    from casinoclub.projections import projections_run
    from liveops.projections import FIRST_PURCHASE_RULES

    returning, first_timer, excluded = UserFactory(), UserFactory(), UserFactory()
    purchase(returning, 1_000, days_ago=30)
    block(excluded)
    rule = CampaignFactory(trigger=Trigger.FIRST_PURCHASE, category=Category.REWARDS)
    sent(rule)
    purchase(returning, 1_000)
    purchase(first_timer, 1_000)
    purchase(excluded, 1_000)

    projections_run(names=[FIRST_PURCHASE_RULES])
    reached_by_the_projection = list(
        Notification.objects.filter(campaign=rule).values_list("user_id", flat=True)
    )
    purchase(first_timer, 5_000)
    projections_run(names=[FIRST_PURCHASE_RULES])
    services.player_metrics_recompute()
    services.campaigns_dispatch_due()  # the beat backstop finds no one left

    assert list(
        CampaignDelivery.objects.filter(campaign=rule).values_list("user_id", flat=True)
    ) == [first_timer.pk]
    assert reached_by_the_projection == [first_timer.pk]
    assert Notification.objects.filter(campaign=rule).count() == 1
