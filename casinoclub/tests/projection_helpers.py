"""Tests that act inside one test transaction (``django_db``) never see after-commit tasks run:
they call ``caught_up()`` where the projection workers would have applied the event log."""

from __future__ import annotations

from typing import Any

from casinoclub.domain_events import fact_of
from casinoclub.models import DomainEvent
from casinoclub.projections import projections_run


def caught_up() -> int:
    """Apply every projection until caught up (the events of the test's own transaction too)."""
    return projections_run()


def logged(event_type: str, user_id: int | None = None) -> list[Any]:
    """The facts of one type appended to the event log, in log order (optionally one player's)."""
    events = DomainEvent.objects.filter(type=event_type).order_by("transaction_id", "id")
    if user_id is not None:
        events = events.filter(user_id=user_id)
    return [fact_of(event.type, event.user_id, event.payload) for event in events]
