import pytest

from events.models import Mission


# pytest-django runs transactional tests (which flush every table) after this one.
@pytest.mark.django_db
def test_the_data_migration_installs_daily_and_weekly_missions():
    rows = list(
        Mission.objects.filter(code__startswith="daily-").values_list(
            "code", "requirement_type", "game", "target"
        )
    ) + list(
        Mission.objects.filter(code__startswith="weekly-").values_list(
            "code", "requirement_type", "game", "target"
        )
    )
    assert rows == [
        ("daily-slot-spins", "plays", "slot", 10),
        ("daily-wins", "wins", "", 3),
        ("daily-gold-spent", "gold_spent", "", 500),
        ("daily-streak", "streak_days", "", 1),
        ("weekly-plays", "plays", "", 100),
        ("weekly-gold-won", "gold_won", "", 5000),
        ("weekly-streak", "streak_days", "", 5),
        ("weekly-purchase", "purchases", "", 1),
    ]
    assert set(Mission.objects.values_list("is_active", flat=True)) == {True}
