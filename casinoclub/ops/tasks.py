from celery import shared_task
from django.conf import settings
from redis import Redis

from .metrics import celery_queue_length


@shared_task
def celery_queue_length_sample_task() -> int:
    """Publish how many tasks wait in the broker's default queue (beat: every 30 s).

    Celery's Redis transport keeps a queue as a Redis list named after it. If the queue is so
    backed up that this job itself waits, the gauge expires and the backlog alert's absent()
    branch fires.
    """
    client = Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        length = int(client.llen(settings.CELERY_MONITORED_QUEUE))
    finally:
        client.close()
    celery_queue_length.set(length)
    return length
