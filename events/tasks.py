from celery import shared_task
from django.conf import settings

from events import services


@shared_task
def mission_periods_close_task() -> dict[str, int]:
    """Beat (hourly, on the hour in TIME_ZONE): close ended mission periods, notify their players
    and prune old rows. The first run after midnight (Monday for weeks) is the reset; later runs
    catch up if beat was down and otherwise find nothing."""
    result = services.mission_periods_close(retention_days=settings.MISSION_PROGRESS_RETENTION_DAYS)
    return {
        "closed_rows": result.closed_rows,
        "notified_players": result.notified_players,
        "pruned_rows": result.pruned_rows,
    }
