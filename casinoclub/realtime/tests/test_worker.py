"""Messages made in a real Celery worker process reach a socket held by this process, losslessly."""

import asyncio
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from accounts.tests.factories import UserFactory
from casinoclub.celery import app as celery_app
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.realtime.tasks import realtime_notify_task
from casinoclub.realtime.tests.helpers import (
    TIMEOUT,
    access_token,
    async_test,
    db,
    open_synced_socket,
    publish_committed,
)
from casinoclub.tests.processes import child_database_url

WORKER_TIMEOUT = 25


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real ``celery worker --pool solo`` on the test database and Redis; tasks go to it."""
    log_path = tmp_path / "worker.log"
    environment = {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "casinoclub.settings.test",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "casinoclub", "worker", "--pool", "solo",
        "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
        "--hostname", f"realtime-test-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, env=environment, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT
        )
    was_eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, False
    try:
        yield process
    finally:
        celery_app.conf.task_always_eager = was_eager
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        print(log_path.read_text(errors="replace")[-4000:])  # shown by pytest on failure


async def wait_for_stored(user_id: int, count: int, worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + WORKER_TIMEOUT
    while await db(RealtimeMessage.objects.filter(user_id=user_id).count)() < count:
        assert worker.poll() is None, "the Celery worker exited"
        assert time.monotonic() < deadline, f"the worker did not store {count} messages in time"
        await asyncio.sleep(0.1)


@pytest.mark.worker
@pytest.mark.timeout(60)
@async_test
async def test_reconnect_with_since_gets_ten_missed_messages_some_from_a_worker_then_live(
    celery_worker_process,
):
    user = await db(UserFactory)()
    token = await db(access_token)(user)
    first, _ = await open_synced_socket(token)
    await db(publish_committed)(user.pk, {"n": 1, "from": "web"})
    last_seen = (await first.receive_json_from(timeout=TIMEOUT))["seq"]
    await first.disconnect()

    # While the client is away: 5 messages from this process, then 5 from the worker.
    for n in range(2, 7):
        await db(publish_committed)(user.pk, {"n": n, "from": "web"})
    for n in range(7, 12):
        await db(realtime_notify_task.delay)(user.pk, "game_event", {"n": n, "from": "worker"})
    await wait_for_stored(user.pk, 11, celery_worker_process)

    second, (connected, _) = await open_synced_socket(token, since=last_seen)
    replayed = [await second.receive_json_from(timeout=TIMEOUT) for _ in range(10)]
    await db(realtime_notify_task.delay)(user.pk, "game_event", {"n": 12, "from": "worker"})
    live = await second.receive_json_from(timeout=WORKER_TIMEOUT)

    assert last_seen == 1
    assert connected["data"] == {"last_seq": 11, "since": 1}
    assert [m["seq"] for m in replayed] == list(range(2, 12))
    assert [m["data"]["n"] for m in replayed] == list(range(2, 12))
    assert [m["data"]["from"] for m in replayed] == ["web"] * 5 + ["worker"] * 5
    assert {m["user_id"] for m in replayed} == {user.pk}
    assert (live["seq"], live["data"]) == (12, {"n": 12, "from": "worker"})
    assert await second.receive_nothing(0.5)
    await second.disconnect()
