"""Tests that act inside one test transaction (``django_db``) never see after-commit tasks run:
they call ``caught_up()`` where the projection workers would have applied the event log."""

from __future__ import annotations

from casinoclub.projections import projections_run


def caught_up() -> int:
    """Apply every projection until caught up (the events of the test's own transaction too)."""
    return projections_run()
