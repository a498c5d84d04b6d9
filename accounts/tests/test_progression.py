import pytest

from accounts import services
from accounts.models import LedgerEntry, LedgerReason, User
from accounts.selectors import experience_for_next_level, ledger_violations
from accounts.tests.factories import UserFactory
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.tests.projection_helpers import caught_up


@pytest.mark.django_db
def test_experience_levels_up_across_several_levels_and_pays_each_once(settings):
    settings.LEVEL_UP_GOLD_PER_LEVEL = 100
    user = UserFactory()
    services.wallet_open(user)
    needed = experience_for_next_level(1) + experience_for_next_level(2)  # 100 + 283

    result = services.user_experience_add(user.pk, needed + 7, source="test")

    assert (result.level, result.experience, result.levels_gained) == (3, 7, (2, 3))
    user.refresh_from_db()
    assert (user.level, user.experience) == (3, 7)
    rewards = list(
        LedgerEntry.objects.filter(wallet_id=user.pk, reason="level_up")
        .order_by("id")
        .values_list("delta", flat=True)
    )
    assert rewards == [200, 300]
    assert ledger_violations() == []


@pytest.mark.django_db
def test_experience_below_the_next_level_pays_nothing():
    user = UserFactory()
    services.wallet_open(user)

    result = services.user_experience_add(user.pk, 99, source="test")

    assert (result.level, result.levels_gained) == (1, ())
    assert not LedgerEntry.objects.filter(wallet_id=user.pk).exists()
    assert User.objects.get(pk=user.pk).experience == 99


@pytest.mark.django_db
def test_experience_cannot_decrease():
    user = UserFactory()

    with pytest.raises(ValueError, match="only grows"):
        services.user_experience_add(user.pk, -1, source="test")


@pytest.mark.django_db
def test_a_level_up_is_announced_with_its_reward(settings):
    # given a player one XP short of level 2
    settings.LEVEL_UP_GOLD_PER_LEVEL = 100
    user = UserFactory()
    services.wallet_open(user)

    # when they gain enough XP for two levels
    services.user_experience_add(
        user.pk, experience_for_next_level(1) + experience_for_next_level(2), source="test"
    )

    # then one progress_update names each level reached and the gold it paid
    announced = list(
        RealtimeMessage.objects.filter(user=user, type="progress_update").values_list(
            "data", flat=True
        )
    )
    assert announced == [{"level_ups": [{"level": 2, "gold": 200}, {"level": 3, "gold": 300}]}]


@pytest.mark.django_db
def test_a_round_that_levels_up_folds_the_announcement_into_the_batchs_progress_update(
    settings, client_for
):
    # given a player whose XP reaches level 2 with one more round
    settings.LEVEL_UP_GOLD_PER_LEVEL = 100
    player = UserFactory()
    services.wallet_open(player)
    services.wallet_credit(
        player.pk, 10_000, reason=LedgerReason.STAFF_GRANT, reference="test", idempotency_key="fund"
    )
    User.objects.filter(pk=player.pk).update(experience=experience_for_next_level(1) - 1)
    response = client_for(player).post(
        "/api/games/slot/spin", {"bet": 10}, format="json", HTTP_IDEMPOTENCY_KEY="level-up-spin-1"
    )
    assert response.status_code == 200

    # when the projections apply the round
    caught_up()

    # then the batch's one progress_update carries the level and its reward
    updates = [
        data
        for data in RealtimeMessage.objects.filter(user=player, type="progress_update")
        .order_by("seq")
        .values_list("data", flat=True)
        if "level_ups" in data
    ]
    assert len(updates) == 1
    assert updates[0]["level_ups"] == [{"level": 2, "gold": 200}]
    assert updates[0]["level"] == 2
