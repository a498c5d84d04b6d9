from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import services


@shared_task
def login_failures_purge_task() -> int:
    """Delete failed-login records older than the lockout window (beat: hourly)."""
    return services.login_failures_purge(older_than=timezone.now() - settings.LOGIN_LOCK_WINDOW)
