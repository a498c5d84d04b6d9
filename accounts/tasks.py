from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import metrics, services
from .selectors import ledger_violations


@shared_task
def login_failures_purge_task() -> int:
    """Delete failed-login records older than the lockout window (beat: hourly)."""
    return services.login_failures_purge(older_than=timezone.now() - settings.LOGIN_LOCK_WINDOW)


@shared_task
def ledger_check_task() -> int:
    """``check_ledger`` as a beat job: publish how many wallets violate the ledger invariant.

    Sets the cluster-wide gauge ``ledger_violations`` (an alert fires when it is above 0).
    """
    count = len(ledger_violations())
    metrics.ledger_violations.set(count)
    return count


@shared_task
def users_import_task(*, token: str, actor_id: int) -> dict[str, Any]:
    """Import a CSV file staged and confirmed in the admin (``user_import_confirm``)."""
    return services.user_import_run_staged(token=token, actor_id=actor_id)


@shared_task
def user_bans_lift_ended_task() -> int:
    """Lift the bans whose end has passed (beat: every minute; a login lifts its own at once)."""
    return services.user_bans_lift_ended()


@shared_task
def refresh_tokens_purge_expired_task() -> int:
    """Beat (hourly): delete expired refresh tokens and their blacklist rows."""
    return services.refresh_tokens_purge_expired(now=timezone.now())


@shared_task
def sessions_purge_expired_task() -> int:
    """Beat (hourly): delete expired page sessions."""
    return services.sessions_purge_expired(now=timezone.now())


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def email_verification_send_task(user_id: int, email: str) -> bool:
    """Send an address-verification link (retried while the relay is unreachable)."""
    from .services.email import email_verification_send

    return email_verification_send(user_id, email)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def password_reset_send_task(email: str) -> None:
    """Send the password-reset mail to ``email`` if it is a verified address."""
    from .services.email import password_reset_send

    password_reset_send(email)


@shared_task
def accounts_anonymise_due_task() -> int:
    """Anonymise the accounts whose deletion grace period has passed (beat: hourly)."""
    from .services.deletion import accounts_anonymise_due

    return accounts_anonymise_due()
