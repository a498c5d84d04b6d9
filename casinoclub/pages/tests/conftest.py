"""Fixtures of the player pages' tests: a funded player logged into a Django session."""

from __future__ import annotations

import pytest
from django.test import Client

from games.tests.factories import funded_player


@pytest.fixture
def page_player(db):  # type: ignore[no-untyped-def]
    return funded_player(gold=5_000)


@pytest.fixture
def page_client(page_player) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(page_player)
    return client
