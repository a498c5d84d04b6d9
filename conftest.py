"""Fixtures shared by every app's tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from accounts.tokens import token_pair_for_user
from casinoclub.operations import maintenance_get, maintenance_local_forget


@pytest.fixture(autouse=True)
def _clean_redis_cache() -> None:
    """Throttle counters and cached responses live in Redis: start every test from empty (and
    without this process's copy of the maintenance flag, which would otherwise outlive it)."""
    cache.clear()
    maintenance_local_forget()


@pytest.fixture
def maintenance_flag_cached(db) -> None:  # type: ignore[no-untyped-def]
    """The maintenance flag as a running site has it: read once, then served from the cache (a
    statement count pinned for the steady state must not include the first read)."""
    maintenance_get()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """An API client logged in as ``user`` with a fresh access token."""

    def make(user) -> APIClient:  # type: ignore[no-untyped-def]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
        return client

    return make


@pytest.fixture
def player(db):  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def player_client(player, client_for) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(player)


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    """pytest-django's ``admin_client`` logs in as this staff superuser."""
    return UserFactory(site_id="admin", is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _celery_join_flag_reset():  # type: ignore[no-untyped-def]
    """Eager tasks run after every commit (the projections): Celery keeps "inside a task" in one
    process-wide flag that threads running eager tasks at once can leave set; start clear."""
    from celery.result import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield
    _set_task_join_will_block(False)
