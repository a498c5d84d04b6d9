from celery import shared_task

from liveops import emails, services


@shared_task
def player_metrics_recompute_task() -> int:
    """Beat (every ``LIVEOPS_METRICS_MINUTES``): recompute every player's metrics."""
    return services.player_metrics_recompute()


@shared_task
def campaigns_dispatch_due_task() -> int:
    """Beat (every ``LIVEOPS_DISPATCH_SECONDS``): due campaigns and active rules."""
    return services.campaigns_dispatch_due()


@shared_task
def campaign_dispatch_task(campaign_id: int) -> int:
    """ "Send now": dispatch one campaign (safe beside the beat run)."""
    return services.campaign_dispatch(campaign_id).delivered


@shared_task
def notification_emails_send_task(notification_ids: list[int]) -> int:
    return emails.notification_emails_send(notification_ids)
