"""Accounts' projection of settled rounds: continuous play sessions and their reality checks."""

from __future__ import annotations

from accounts.services.responsible import play_session_touch
from accounts.services.wallet import wallets_lock
from casinoclub.projections import PER_EVENT_BATCH_SIZE, Event, Projection


def play_sessions_apply(events: list[Event]) -> None:
    """Touch the player's session once per round, in log order, at the round's time.

    Per event (a session's start and its reality checks depend on the gaps between rounds); the
    rows are the players' own, so a batch locks each at most once per round.
    """
    wallets_lock({event.user_id for event in events})  # the money lock order: wallet first
    for event in events:
        play_session_touch(event.user_id, at=event.created_at)


def play_sessions_differences() -> list[str]:
    """Every player's last round time is the time of their newest settled round in the log."""
    from django.db.models import Max

    from accounts.models import ResponsiblePlay
    from casinoclub.models import DomainEvent

    expected = dict(
        DomainEvent.objects.filter(type="round_settled")
        .values("user_id")
        .annotate(last=Max("created_at"))
        .values_list("user_id", "last")
    )
    actual = dict(
        ResponsiblePlay.objects.filter(last_round_at__isnull=False).values_list(
            "user_id", "last_round_at"
        )
    )
    return [
        f"play_sessions user {user_id}: last round expected {expected.get(user_id)},"
        f" found {actual.get(user_id)}"
        for user_id in sorted(set(expected) | set(actual))
        if expected.get(user_id) != actual.get(user_id)
    ]


PROJECTIONS = (
    Projection(
        name="play_sessions",
        event_types=frozenset({"round_settled"}),
        apply=play_sessions_apply,
        batch_size=PER_EVENT_BATCH_SIZE,
        differences=play_sessions_differences,
    ),
)
