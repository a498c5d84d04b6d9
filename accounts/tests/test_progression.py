import pytest

from accounts import services
from accounts.models import LedgerEntry, User
from accounts.selectors import experience_for_next_level, ledger_violations
from accounts.tests.factories import UserFactory


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
