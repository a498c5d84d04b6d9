"""The publish helper: stored with the change, numbered per user, sent after commit, pruned."""

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.tests.factories import UserFactory
from casinoclub.celery import app as celery_app
from casinoclub.realtime.models import RealtimeCursor, RealtimeMessage
from casinoclub.realtime.selectors import realtime_cursor_get, realtime_messages_since
from casinoclub.realtime.services import realtime_notify, realtime_publish
from casinoclub.realtime.tasks import realtime_messages_prune_task
from casinoclub.realtime.tests.helpers import parse_timestamp, publish_committed


@pytest.mark.django_db(transaction=True)
def test_seq_increases_by_one_per_user_and_independently_between_users():
    first, second = UserFactory(), UserFactory()

    with transaction.atomic():
        first_seqs = [realtime_publish(first.pk, "game_event", {"i": i}) for i in range(3)]
        second_seqs = [realtime_publish(second.pk, "stats_update", {"i": i}) for i in range(2)]
    later = publish_committed(first.pk, {"i": 3})

    assert first_seqs == [1, 2, 3]
    assert second_seqs == [1, 2]
    assert later == [4]
    assert realtime_cursor_get(first.pk) == 4
    assert realtime_cursor_get(second.pk) == 2
    assert list(
        RealtimeMessage.objects.filter(user=first).order_by("seq").values_list("seq", "data")
    ) == [(1, {"i": 0}), (2, {"i": 1}), (3, {"i": 2}), (4, {"i": 3})]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_publish_leaves_nothing_and_its_seq_is_handed_out_again():
    user = UserFactory()
    publish_committed(user.pk, {"kept": True})

    def change_that_fails() -> None:
        with transaction.atomic():
            assert realtime_publish(user.pk, "game_event", {"kept": False}) == 2
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        change_that_fails()

    assert list(RealtimeMessage.objects.values_list("seq", "data")) == [(1, {"kept": True})]
    assert realtime_cursor_get(user.pk) == 1
    assert publish_committed(user.pk, {"kept": "again"}) == [2]


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_raises_and_stores_nothing():
    user = UserFactory()

    with pytest.raises(RuntimeError, match="inside the transaction"):
        realtime_publish(user.pk, "game_event", {})

    assert not RealtimeMessage.objects.exists()
    assert not RealtimeCursor.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_publish_refuses_a_type_that_is_not_stored():
    user = UserFactory()

    with pytest.raises(ValueError, match="pong"), transaction.atomic():
        realtime_publish(user.pk, "pong", {})  # type: ignore[arg-type]

    assert not RealtimeMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_data_is_stored_as_json_and_read_back_as_envelopes():
    user = UserFactory()
    moment = timezone.now()

    realtime_notify(user.pk, "reward_granted", {"amount": 5, "at": moment})

    (envelope,) = realtime_messages_since(user.pk, 0)
    assert envelope == {
        "type": "reward_granted",
        "user_id": user.pk,
        "seq": 1,
        "data": {"amount": 5, "at": DjangoJSONEncoder().default(moment)},
        "timestamp": envelope["timestamp"],
    }
    assert abs(parse_timestamp(envelope["timestamp"]) - moment) < timedelta(seconds=5)
    assert realtime_messages_since(user.pk, 1) == []


@pytest.mark.django_db(transaction=True)
def test_messages_since_pages_in_seq_order():
    user = UserFactory()
    publish_committed(user.pk, *({"i": i} for i in range(5)))

    assert [m["seq"] for m in realtime_messages_since(user.pk, 1, limit=2)] == [2, 3]
    assert [m["seq"] for m in realtime_messages_since(user.pk, 3, limit=10)] == [4, 5]


@pytest.mark.django_db  # the test's own transaction never commits: callbacks are captured
def test_send_is_deferred_to_commit_and_its_lag_is_measured(django_capture_on_commit_callbacks):
    user = UserFactory()
    before = REGISTRY.get_sample_value("realtime_message_lag_ms_count") or 0

    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        realtime_publish(user.pk, "game_event", {})
    assert len(callbacks) == 1
    assert REGISTRY.get_sample_value("realtime_message_lag_ms_count") == before

    callbacks[0]()

    assert REGISTRY.get_sample_value("realtime_message_lag_ms_count") == before + 1


@pytest.mark.django_db(transaction=True)
def test_redis_down_logs_a_warning_and_keeps_the_stored_message(settings, caplog):
    user = UserFactory()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": "redis://127.0.0.1:1/0", "socket_connect_timeout": 1}]
            },
        }
    }

    with caplog.at_level(logging.WARNING, logger="casinoclub.realtime.services"):
        seqs = publish_committed(user.pk, {"during": "outage"})

    assert seqs == [1]
    assert RealtimeMessage.objects.filter(user=user, seq=1).exists()
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "live send of game_event seq 1" in caplog.records[0].getMessage()


@pytest.mark.django_db(transaction=True)
def test_prune_task_deletes_only_messages_older_than_the_retention(settings):
    settings.REALTIME_RETENTION_DAYS = 7
    user = UserFactory()
    publish_committed(user.pk, {"age": "old"}, {"age": "edge"}, {"age": "new"})
    now = timezone.now()
    RealtimeMessage.objects.filter(seq=1).update(created_at=now - timedelta(days=8))
    RealtimeMessage.objects.filter(seq=2).update(created_at=now - timedelta(days=6, hours=23))

    deleted = realtime_messages_prune_task.delay().get()

    assert deleted == 1
    assert list(RealtimeMessage.objects.order_by("seq").values_list("seq", flat=True)) == [2, 3]
    assert realtime_cursor_get(user.pk) == 3
    assert publish_committed(user.pk, {"age": "next"}) == [4]


def test_prune_task_is_scheduled_by_beat():
    entries = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()]

    assert "casinoclub.realtime.tasks.realtime_messages_prune_task" in entries
    assert "casinoclub.realtime.tasks.realtime_messages_prune_task" in celery_app.tasks
    assert "casinoclub.realtime.tasks.realtime_notify_task" in celery_app.tasks


@pytest.mark.django_db  # the test's own transaction never commits: callbacks are captured
def test_messages_stored_by_one_statement_go_live_in_one_send_in_seq_order(
    django_capture_on_commit_callbacks, monkeypatch
):
    from casinoclub.realtime import services

    user = UserFactory()
    sends: list[list[tuple[str, int]]] = []
    monkeypatch.setattr(
        services,
        "_send_after_commit",
        lambda envelopes: sends.append([(e["type"], e["seq"]) for e in envelopes]),
    )
    created_at = timezone.now()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        seqs = services.realtime_published(
            user.pk,
            [("game_event", {"n": 1}), ("profile_update", {"balance": 5})],
            last_seq=8,
            created_at=created_at,
        )

    assert seqs == [7, 8]
    assert sends == [[("game_event", 7), ("profile_update", 8)]]
