"""Accounts' projection of settled rounds: continuous play sessions and their reality checks.

Set-based: the batch locks its players' responsible-play rows once, folds each player's rounds
in log order in Python (docs/decisions/0050-responsible-play.md) and writes them with ONE
upsert; a reality check that fell due with a round is sent as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from accounts.services.wallet import wallets_lock
from casinoclub.projections import Event, Projection
from casinoclub.realtime.services import realtime_publish

_SESSIONS_UPSERT = """
INSERT INTO accounts_responsibleplay AS r (user_id, block_kind, session_started_at,
    last_round_at, last_reality_check_at)
SELECT user_id, '', started, last_round, checked
FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[])
    AS b(user_id, started, last_round, checked)
ON CONFLICT (user_id) DO UPDATE SET session_started_at = EXCLUDED.session_started_at,
    last_round_at = EXCLUDED.last_round_at, last_reality_check_at = EXCLUDED.last_reality_check_at
"""


def _sessions_fold(
    events: list[Event], sessions: dict[int, list[Any]]
) -> list[tuple[int, dict[str, Any]]]:
    """Fold rounds, in log order, into ``sessions`` (user → [session start, last round, last
    check]); return the reality checks that fell due, (user, message data), in order.

    A gap longer than ``PLAY_SESSION_GAP_MINUTES`` starts a new session; every
    ``REALITY_CHECK_MINUTES`` of one session a ``reality_check`` falls due with the round that
    made it due; a round older than the last one counted never moves the session back.
    """
    gap = timedelta(minutes=settings.PLAY_SESSION_GAP_MINUTES)
    every = timedelta(minutes=settings.REALITY_CHECK_MINUTES)
    checks: list[tuple[int, dict[str, Any]]] = []
    for event in events:
        now: datetime = event.created_at
        state = sessions.get(event.user_id)
        if state is None:
            sessions[event.user_id] = [now, now, now]
            continue
        started, last_round, checked = state
        new_session = last_round is None or now - last_round > gap
        if new_session:
            started = now
        if new_session or (checked is not None and now - checked >= every):
            checked = now
        last_round = now if last_round is None else max(last_round, now)
        sessions[event.user_id] = [started, last_round, checked]
        if checked == now and started != now:  # a check fell due with this round
            minutes = int((now - started).total_seconds() // 60)
            checks.append(
                (
                    event.user_id,
                    {"event": "reality_check", "session_minutes": minutes, "since": started},
                )
            )
    return checks


def play_sessions_apply(events: list[Event]) -> None:
    """Fold the batch's rounds into each player's session (``_sessions_fold``), write the rows
    once, send each reality check that fell due."""
    user_ids = sorted({event.user_id for event in events})
    wallets_lock(user_ids)  # the money lock order: wallet first
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, session_started_at, last_round_at, last_reality_check_at"
            " FROM accounts_responsibleplay WHERE user_id = ANY(%s)"
            " ORDER BY user_id FOR NO KEY UPDATE",
            [user_ids],
        )
        sessions: dict[int, list[Any]] = {row[0]: list(row[1:]) for row in cursor.fetchall()}
    for user_id, data in _sessions_fold(events, sessions):
        realtime_publish(user_id, "game_event", data)
    with connection.cursor() as cursor:
        cursor.execute(
            _SESSIONS_UPSERT,
            [
                user_ids,
                [sessions[user_id][0] for user_id in user_ids],
                [sessions[user_id][1] for user_id in user_ids],
                [sessions[user_id][2] for user_id in user_ids],
            ],
        )


def _sessions_found() -> dict[int, list[Any]]:
    from accounts.models import ResponsiblePlay

    return {
        row[0]: list(row[1:])
        for row in ResponsiblePlay.objects.filter(last_round_at__isnull=False).values_list(
            "user_id", "session_started_at", "last_round_at", "last_reality_check_at"
        )
    }


def play_sessions_differences() -> list[str]:
    """Every player's session (start, last round, last reality check) is the fold of their
    settled rounds in log order."""
    from casinoclub.projections import events_of_types

    expected: dict[int, list[Any]] = {}
    _sessions_fold(events_of_types(frozenset({"round_settled"})), expected)
    actual = _sessions_found()
    return [
        f"play_sessions user {user_id} (session start, last round, last check):"
        f" expected {expected.get(user_id)}, found {actual.get(user_id)}"
        for user_id in sorted(set(expected) | set(actual))
        if expected.get(user_id) != actual.get(user_id)
    ]


def play_sessions_repair(events: list[Event]) -> int:
    """Write the sessions the applied rounds fold to (no reality check is sent again)."""
    expected: dict[int, list[Any]] = {}
    _sessions_fold(events, expected)
    actual = _sessions_found()
    wrong = sorted(
        user_id
        for user_id in set(expected) | set(actual)
        if expected.get(user_id) != actual.get(user_id)
    )
    if not wrong:
        return 0
    wallets_lock(wrong)
    rows = [expected.get(user_id, [None, None, None]) for user_id in wrong]
    with connection.cursor() as cursor:
        cursor.execute(
            _SESSIONS_UPSERT,
            [wrong, [row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows]],
        )
    return len(wrong)


PROJECTIONS = (
    Projection(
        name="play_sessions",
        event_types=frozenset({"round_settled"}),
        apply=play_sessions_apply,
        differences=play_sessions_differences,
        repair=play_sessions_repair,
    ),
)
