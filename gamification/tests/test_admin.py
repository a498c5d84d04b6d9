"""Staff edit rewards, achievements and seasons (audited); claim and unlock records are read-only."""

import pytest

from accounts.models import AuditLogEntry
from gamification.models import Achievement, Season, StreakReward, Tier
from gamification.tests.factories import AchievementFactory, SeasonFactory

READ_ONLY = [
    "streakclaim",
    "streakstate",
    "vipclaim",
    "playerprogress",
    "achievementunlock",
    "seasonprogress",
    "battlepassclaim",
]
EDITABLE = ["streakreward", "achievement", "season"]


@pytest.mark.parametrize("model", READ_ONLY + EDITABLE)
@pytest.mark.django_db
def test_every_progression_page_opens(admin_client, model):
    assert admin_client.get(f"/admin/gamification/{model}/").status_code == 200


@pytest.mark.parametrize("model", READ_ONLY)
@pytest.mark.django_db
def test_claim_and_unlock_records_cannot_be_added(admin_client, model):
    assert admin_client.get(f"/admin/gamification/{model}/add/").status_code == 403


@pytest.mark.django_db
def test_staff_edit_the_streak_reward_table_and_it_is_audited(admin_client, streak_rewards):
    response = admin_client.post("/admin/gamification/streakreward/add/", {"day": 4, "gold": 900})

    assert response.status_code == 302
    assert StreakReward.objects.get(day=4).gold == 900
    entry = AuditLogEntry.objects.get(action="streakreward_create")
    assert entry.after["gold"] == "900"


@pytest.mark.django_db
def test_staff_change_an_achievement_and_it_is_audited(admin_client, no_achievements):
    achievement = AchievementFactory(code="first", name="First", reward_gold=10)

    response = admin_client.post(
        f"/admin/gamification/achievement/{achievement.pk}/change/",
        {
            "code": "first",
            "name": "First",
            "description": "",
            "metric": "games_played",
            "threshold": 1,
            "reward_gold": 25,
            "reward_xp": 0,
            "is_active": "on",
            "display_order": 0,
        },
    )

    assert response.status_code == 302
    assert Achievement.objects.get(pk=achievement.pk).reward_gold == 25
    entry = AuditLogEntry.objects.get(action="achievement_change")
    assert (entry.before["reward_gold"], entry.after["reward_gold"]) == ("10", "25")


@pytest.mark.django_db
def test_staff_create_a_season_with_tiers(admin_client):
    response = admin_client.post(
        "/admin/gamification/season/add/",
        {
            "code": "spring",
            "name": "Spring",
            "starts_at_0": "2025-03-01",
            "starts_at_1": "00:00:00",
            "ends_at_0": "2025-06-01",
            "ends_at_1": "00:00:00",
            "tiers-TOTAL_FORMS": "1",
            "tiers-INITIAL_FORMS": "0",
            "tiers-MIN_NUM_FORMS": "0",
            "tiers-MAX_NUM_FORMS": "1000",
            "tiers-0-number": "1",
            "tiers-0-xp_required": "100",
            "tiers-0-free_reward_gold": "50",
            "tiers-0-free_reward_item": "",
            "tiers-0-premium_reward_gold": "200",
            "tiers-0-premium_reward_item": "",
        },
    )

    assert response.status_code == 302
    season = Season.objects.get(code="spring")
    assert list(Tier.objects.filter(season=season).values_list("number", "xp_required")) == [
        (1, 100)
    ]
    assert set(
        AuditLogEntry.objects.filter(action__in=["season_create", "tier_create"]).values_list(
            "action", flat=True
        )
    ) == {"season_create", "tier_create"}


@pytest.mark.django_db
def test_a_season_must_end_after_it_starts(admin_client):
    season = SeasonFactory.build(code="bad")

    response = admin_client.post(
        "/admin/gamification/season/add/",
        {
            "code": season.code,
            "name": "Bad",
            "starts_at_0": "2025-06-01",
            "starts_at_1": "00:00:00",
            "ends_at_0": "2025-03-01",
            "ends_at_1": "00:00:00",
            "tiers-TOTAL_FORMS": "0",
            "tiers-INITIAL_FORMS": "0",
            "tiers-MIN_NUM_FORMS": "0",
            "tiers-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert not Season.objects.filter(code="bad").exists()
