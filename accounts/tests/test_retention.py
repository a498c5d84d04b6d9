"""Beat purges of expired refresh tokens and page sessions, run eagerly."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.tasks import refresh_tokens_purge_expired_task, sessions_purge_expired_task
from accounts.tests.factories import UserFactory
from accounts.tokens import token_pair_for_user


@pytest.mark.django_db
def test_expired_refresh_tokens_and_their_blacklist_rows_are_purged():
    user = UserFactory()
    token_pair_for_user(user)
    token_pair_for_user(user)
    expired, live = OutstandingToken.objects.order_by("pk")
    OutstandingToken.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    BlacklistedToken.objects.create(token=expired)
    BlacklistedToken.objects.create(token=live)

    deleted = refresh_tokens_purge_expired_task.delay().get()

    assert deleted == 1
    assert list(OutstandingToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert list(BlacklistedToken.objects.values_list("token_id", flat=True)) == [live.pk]


@pytest.mark.django_db
def test_a_live_refresh_token_survives_the_purge(api_client):
    user = UserFactory()
    refresh = token_pair_for_user(user)["refresh"]

    deleted = refresh_tokens_purge_expired_task.delay().get()

    assert deleted == 0
    response = api_client.post("/api/auth/refresh", {"refresh": refresh}, format="json")
    assert response.status_code == 200


@pytest.mark.django_db
def test_expired_sessions_are_purged_and_live_ones_kept():
    expired = SessionStore()
    expired.create()
    live = SessionStore()
    live.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    deleted = sessions_purge_expired_task.delay().get()

    assert deleted == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
