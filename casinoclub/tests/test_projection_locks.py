"""A projection batch's row locks against the money and join paths of other apps."""

import threading

import pytest
from django.db import connection, transaction

from accounts.services.progression import users_progression_lock
from events import services as event_services
from events.tests.factories import EventFactory
from games.tests.factories import funded_player


@pytest.mark.django_db(transaction=True)
def test_a_batch_holding_its_players_rows_does_not_block_a_join_that_references_them():
    # given a progression batch that has locked a player's user row and holds it
    player = funded_player(0)
    event = EventFactory()
    locked, release = threading.Event(), threading.Event()

    def batch() -> None:
        try:
            with transaction.atomic():
                users_progression_lock([player.pk])
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=batch)
    holder.start()
    try:
        assert locked.wait(10)

        # when the player joins an event meanwhile (its rows reference the user row)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            participation = event_services.event_join(player, event.pk)

        # then the join did not wait for the batch (the batch's lock leaves the key alone)
        assert participation.user_id == player.pk
    finally:
        release.set()
        holder.join()
