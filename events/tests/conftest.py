import pytest

from events.models import Mission


@pytest.fixture
def no_default_missions(db):
    """The data migration's missions would progress too: start from none."""
    Mission.objects.all().delete()
