"""Every retention purge is on beat's schedule and names a registered task."""

from django.conf import settings

from casinoclub.celery import app

PURGES = {
    "purge-expired-refresh-tokens": "accounts.tasks.refresh_tokens_purge_expired_task",
    "purge-expired-sessions": "accounts.tasks.sessions_purge_expired_task",
    "purge-webhook-events": "shop.tasks.webhook_events_purge_task",
    "purge-daily-leaderboards": "games.tasks.leaderboard_daily_purge_task",
    "purge-player-activity": "analytics.tasks.activity_purge_task",
}


def test_the_retention_purges_are_scheduled_and_registered():
    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert {name: schedule[name]["task"] for name in PURGES} == PURGES
    for task in PURGES.values():
        assert task in app.tasks, task
