"""Publishing socket messages: a transactional outbox with a per-user sequence.

Invariants:
- a message is stored in the transaction of the change that caused it, so it exists exactly when
  the change does (a rollback removes both);
- ``seq`` is 1, 2, 3, … per user with no gap among committed messages: it comes from one upsert on
  the user's ``RealtimeCursor`` row, whose row lock serialises publishers until they commit, so
  messages of one user also commit in seq order;
- the live copy goes to the channel group ``user.<id>`` only after commit and best-effort: if Redis
  is unreachable it is logged and dropped, and clients recover it from the store (``?since=``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .messages import (
    STORED_MESSAGE_TYPES,
    Broadcast,
    BroadcastType,
    StoredMessage,
    StoredMessageType,
    iso_utc,
)
from .metrics import realtime_message_lag_ms
from .models import RealtimeMessage

logger = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 5.0

# One round trip: take the user's next seq (the cursor row's lock serialises publishers until
# they commit) and store the message under it.
_PUBLISH_SQL = (
    "WITH next AS ("
    " INSERT INTO realtime_cursor (user_id, last_seq) VALUES (%s, 1)"
    " ON CONFLICT (user_id) DO UPDATE SET last_seq = realtime_cursor.last_seq + 1"
    " RETURNING last_seq)"
    " INSERT INTO realtime_message (user_id, seq, type, data, created_at)"
    " SELECT %s, next.last_seq, %s, %s::jsonb, %s FROM next"
    " RETURNING seq"
)


# Public groups a socket may subscribe to, each with the function giving its current state (the
# app that broadcasts registers it in its ``AppConfig.ready``: realtime imports no app).
_PUBLIC_GROUPS: dict[str, Callable[[], dict[str, Any]]] = {}


def public_group_register(group: str, state: Callable[[], dict[str, Any]]) -> None:
    """Let sockets subscribe to ``group``; ``state()`` is what a new subscriber gets first."""
    _PUBLIC_GROUPS[group] = state


def public_group_exists(group: str) -> bool:
    return group in _PUBLIC_GROUPS


def public_group_state(group: str) -> dict[str, Any] | None:
    """The current state of a registered public group; None for an unknown group."""
    state = _PUBLIC_GROUPS.get(group)
    return None if state is None else state()


def public_group_channel_name(group: str) -> str:
    """The channel-layer group of a public group (apart from the ``user.<id>`` groups)."""
    return f"public.{group}"


def realtime_broadcast(group: str, message_type: BroadcastType, data: Mapping[str, Any]) -> None:
    """Send a public message to every socket subscribed to ``group``, after the current
    transaction commits (at once outside one). Not stored: best-effort, like any live copy; a
    failure is logged. ``data`` must be JSON-serialisable."""
    message: Broadcast = {
        "type": message_type,
        "group": group,
        "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
        "timestamp": iso_utc(timezone.now()),
    }
    transaction.on_commit(lambda: _broadcast_send(message), robust=True)


def _broadcast_send(message: Broadcast) -> None:
    try:
        layer = get_channel_layer()
        assert layer is not None, "CHANNEL_LAYERS is not configured"
        _sender.run(
            layer.group_send(
                public_group_channel_name(message["group"]),
                # encoded once here, not once per socket: a round's message reaches every watcher
                {
                    "type": "realtime.broadcast",
                    "group": message["group"],
                    "text": json.dumps(message),
                },
            ),
            timeout=SEND_TIMEOUT_SECONDS,
        )
    except Exception as error:  # Redis down or slow: the next phase message carries the round
        logger.warning(
            "realtime: broadcast %s to %s failed: %r", message["type"], message["group"], error
        )


def user_group_name(user_id: int) -> str:
    """The channel-layer group every socket of the user joins."""
    return f"user.{user_id}"


class _SenderLoop:
    """One long-lived event loop thread per process for sending from synchronous code.

    ``async_to_sync`` called where no event loop runs (WSGI workers, Celery) starts a new loop per
    call, and the Redis channel layer opens its connections per loop, so every message would pay
    for a new connection. Sending through one loop that lives as long as the process keeps that
    connection. The thread is started lazily and again after a fork (gunicorn, Celery prefork).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def _get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="realtime-sender", daemon=True
                ).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, None], timeout: float) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._get()).result(timeout)


_sender = _SenderLoop()


def _send_after_commit(envelopes: Sequence[StoredMessage]) -> None:
    """Send committed messages to their users' sockets: one group send per user with that user's
    messages in seq order (a round and its ``profile_update`` cost one send, not two), all users'
    sends at once through the process's sender loop (a projection batch reaches many players)."""
    started = time.perf_counter()
    by_user: dict[int, list[StoredMessage]] = {}
    for envelope in envelopes:
        by_user.setdefault(envelope["user_id"], []).append(envelope)
    try:
        layer = get_channel_layer()
        assert layer is not None, "CHANNEL_LAYERS is not configured"
        _sender.run(_group_sends(layer, by_user), timeout=SEND_TIMEOUT_SECONDS)
    except Exception as error:  # Redis down or slow: the messages are stored, clients catch up
        first = envelopes[0]
        logger.warning(
            "realtime: live send of %s seq %s to user %s (of %s message(s)) failed: %r",
            first["type"],
            first["seq"],
            first["user_id"],
            len(envelopes),
            error,
        )
        return
    realtime_message_lag_ms.observe((time.perf_counter() - started) * 1000)


async def _group_sends(layer: Any, by_user: Mapping[int, list[StoredMessage]]) -> None:
    results = await asyncio.gather(
        *(
            layer.group_send(
                user_group_name(user_id), {"type": "realtime.messages", "envelopes": envelopes}
            )
            for user_id, envelopes in by_user.items()
        ),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result


# Progress a projection batch sends is folded into one ``progress_update`` per player per batch
# (``realtime_progress_coalesce``); money transactions never coalesce.
_COALESCED_TYPES = frozenset(
    {"progress_update", "event_progress", "achievement_progress", "achievement_unlock"}
)
_coalescing = threading.local()

# One round trip for a batch's messages to many players: each player's cursor moves by its count
# (rows locked in user id order), and its messages take the consecutive seqs below the new value
# in the order given.
_PUBLISH_MANY_SQL = """
WITH input AS (
    SELECT m.user_id, m.type, m.data::jsonb AS data, m.position
    FROM unnest(%s::bigint[], %s::text[], %s::text[])
        WITH ORDINALITY AS m(user_id, type, data, position)
), counts AS (
    SELECT user_id, count(*)::int AS n FROM input GROUP BY user_id
), next AS (
    INSERT INTO realtime_cursor (user_id, last_seq) SELECT user_id, n FROM counts ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET last_seq = realtime_cursor.last_seq + EXCLUDED.last_seq
    RETURNING user_id, last_seq
), stored AS (  -- runs to completion although unread (a data-modifying WITH)
    INSERT INTO realtime_message (user_id, seq, type, data, created_at)
    SELECT input.user_id,
           next.last_seq - counts.n
               + row_number() OVER (PARTITION BY input.user_id ORDER BY input.position),
           input.type, input.data, %s
    FROM input JOIN next USING (user_id) JOIN counts USING (user_id)
)
SELECT next.user_id, next.last_seq, counts.n FROM next JOIN counts USING (user_id)
"""


class ProgressCoalescer:
    """Collects a projection batch's messages: progress folded into one ``progress_update`` per
    player, every other type kept in order; ``flush`` stores them all in one statement (each
    player's other messages first, then its ``progress_update``) and sends them after commit."""

    def __init__(self) -> None:
        self.players: dict[int, dict[str, Any]] = {}
        self.others: list[tuple[int, StoredMessageType, Mapping[str, Any]]] = []

    def add(self, user_id: int, message_type: str, data: Mapping[str, Any]) -> None:
        if message_type not in _COALESCED_TYPES:
            self.others.append((user_id, message_type, data))  # type: ignore[arg-type]
            return
        folded = self.players.setdefault(user_id, {})
        if message_type == "progress_update":
            for key, value in data.items():
                if isinstance(value, list):
                    folded.setdefault(key, []).extend(value)
                else:  # a value that replaces (xp, level)
                    folded[key] = value
        elif message_type == "event_progress":
            for item in data.get("items", []):
                key = "missions" if item.get("scope") == "mission" else "events"
                folded.setdefault(key, []).append(dict(item))
        else:
            state = "unlocked" if message_type == "achievement_unlock" else "progress"
            folded.setdefault("achievements", []).append({**data, "state": state})

    def flush(self) -> None:
        messages = self.others + [
            (user_id, "progress_update", folded) for user_id, folded in sorted(self.players.items())
        ]
        self.players, self.others = {}, []
        if messages:
            _publish_stored_many(messages)


def _publish_stored_many(
    messages: Sequence[tuple[int, StoredMessageType, Mapping[str, Any]]],
) -> None:
    """Store ``messages`` (any users, in order) in one statement; send them after commit."""
    serialized = [json.dumps(data, cls=DjangoJSONEncoder) for _, _, data in messages]
    created_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _PUBLISH_MANY_SQL,
            [
                [user_id for user_id, _, _ in messages],
                [message_type for _, message_type, _ in messages],
                serialized,
                created_at,
            ],
        )
        next_seq = {user_id: last_seq - count + 1 for user_id, last_seq, count in cursor}
    timestamp = iso_utc(created_at)
    envelopes: list[StoredMessage] = []
    for (user_id, message_type, _), text in zip(messages, serialized, strict=True):
        seq = next_seq[user_id]
        next_seq[user_id] = seq + 1
        envelopes.append(
            {
                "type": message_type,
                "user_id": user_id,
                "seq": seq,
                "data": json.loads(text),
                "timestamp": timestamp,
            }
        )
    transaction.on_commit(functools.partial(_send_after_commit, envelopes), robust=True)


def realtime_publish_many(
    messages: Sequence[tuple[int, StoredMessageType, Mapping[str, Any]]],
) -> None:
    """``realtime_publish`` for many messages (any users, in order) in one statement: a batch job
    (a campaign's dispatcher) stores them all together and they are sent after commit.

    Must be called inside the transaction of the change; raises ``RuntimeError`` otherwise and
    ``ValueError`` for a type that is not stored. Not idempotent.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("realtime_publish_many must run inside the transaction of its change")
    for _, message_type, _ in messages:
        if message_type not in STORED_MESSAGE_TYPES:
            raise ValueError(f"not a stored realtime message type: {message_type!r}")
    if messages:
        _publish_stored_many(messages)


def realtime_progress_coalesce() -> ProgressCoalescer | None:
    """The coalescer of the running projection batch in this thread, if any."""
    coalescer: ProgressCoalescer | None = getattr(_coalescing, "current", None)
    return coalescer


def realtime_progress_coalescing_start() -> ProgressCoalescer:
    """Fold this thread's progress messages until ``…_stop`` (a projection batch)."""
    coalescer = ProgressCoalescer()
    _coalescing.current = coalescer
    return coalescer


def realtime_progress_coalescing_stop() -> None:
    _coalescing.current = None


def realtime_publish(user_id: int, message_type: StoredMessageType, data: Mapping[str, Any]) -> int:
    """Store a message for ``user_id`` and send it to the user's sockets after commit.

    Must be called inside the transaction of the change that caused it (``transaction.atomic``);
    raises ``RuntimeError`` otherwise, and ``ValueError`` for a type that is not stored. ``data``
    must be JSON-serialisable (Django's encoder: dates, decimals, UUIDs become strings). An
    unknown ``user_id`` fails the commit (deferred foreign key). Not idempotent: every call is a
    new message. Returns the message's ``seq`` (0 inside a projection batch, whose messages are
    stored together when it ends, the progress types folded into one ``progress_update`` per
    player).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("realtime_publish must run inside the transaction of its change")
    if message_type not in STORED_MESSAGE_TYPES:
        raise ValueError(f"not a stored realtime message type: {message_type!r}")
    coalescer = realtime_progress_coalesce()
    if coalescer is not None:
        coalescer.add(user_id, message_type, data)
        return 0  # stored with the batch's messages when the batch ends
    return _publish_stored(user_id, message_type, data)


def _publish_stored(user_id: int, message_type: StoredMessageType, data: Mapping[str, Any]) -> int:
    # What the live copy carries must equal what a replay reads back from the JSON column.
    serialized = json.dumps(data, cls=DjangoJSONEncoder)
    payload = json.loads(serialized)
    created_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_PUBLISH_SQL, [user_id, user_id, message_type, serialized, created_at])
        (seq,) = cursor.fetchone()
    envelope: StoredMessage = {
        "type": message_type,
        "user_id": user_id,
        "seq": seq,
        "data": payload,
        "timestamp": iso_utc(created_at),
    }
    transaction.on_commit(lambda: _send_after_commit([envelope]), robust=True)
    return int(seq)


def realtime_publish_sql(
    user_id: int,
    messages: Sequence[tuple[StoredMessageType, str, Sequence[Any]]],
    *,
    source: str,
    created_at: datetime,
) -> tuple[str, list[Any]]:
    """Common-table expressions that store ``messages`` inside the caller's statement.

    For a money service that writes its rows and its messages in one round trip. Each message is
    ``(type, data_sql, data_params)``: an SQL expression of the JSON object to store (it may read
    the other expressions of the statement) and its parameters. The messages get the user's next
    consecutive seqs, in order, and are stored only when the expression named ``source`` yields
    its one row. Returns the SQL
    (two expressions, ``realtime_next`` and ``realtime_messages``, to place after ``source`` in
    the statement's ``WITH``) and its parameters; the statement must return
    ``(SELECT last_seq FROM realtime_next)`` and hand it to ``realtime_published`` with the data
    as stored and the same ``created_at``. The caller runs it inside the transaction of the change.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("realtime_publish_sql must run inside the transaction of its change")
    for message_type, _, _ in messages:
        if message_type not in STORED_MESSAGE_TYPES:
            raise ValueError(f"not a stored realtime message type: {message_type!r}")
    count = len(messages)
    # SQL text from the code's own constants (``source``, ``data_sql``); values are parameters.
    sql = (
        "realtime_next AS (INSERT INTO realtime_cursor (user_id, last_seq) SELECT %s, %s"  # noqa: S608
        f" FROM {source} ON CONFLICT (user_id) DO UPDATE"
        " SET last_seq = realtime_cursor.last_seq + EXCLUDED.last_seq RETURNING last_seq),"
        " realtime_messages AS"
        " (INSERT INTO realtime_message (user_id, seq, type, data, created_at) "
    )
    params: list[Any] = [user_id, count]
    selects = []
    for position, (message_type, data_sql, data_params) in enumerate(messages, start=1):
        selects.append(
            f"SELECT %s, realtime_next.last_seq - {count - position}, %s, {data_sql}, %s"  # noqa: S608
            f" FROM realtime_next, {source}"
        )
        params.extend([user_id, message_type, *data_params, created_at])
    return sql + " UNION ALL ".join(selects) + ")", params


def realtime_published(
    user_id: int,
    messages: Sequence[tuple[StoredMessageType, Mapping[str, Any]]],
    *,
    last_seq: int,
    created_at: datetime,
) -> list[int]:
    """Send after commit the messages a ``realtime_publish_sql`` statement stored (their data as
    stored, in the same order, and its ``created_at``). Returns their seqs."""
    first = last_seq - len(messages) + 1
    timestamp = iso_utc(created_at)
    envelopes: list[StoredMessage] = [
        {
            "type": message_type,
            "user_id": user_id,
            "seq": first + offset,
            "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
            "timestamp": timestamp,
        }
        for offset, (message_type, data) in enumerate(messages)
    ]
    if envelopes:
        transaction.on_commit(functools.partial(_send_after_commit, envelopes), robust=True)
    return [envelope["seq"] for envelope in envelopes]


@transaction.atomic(durable=True)
def realtime_notify(user_id: int, message_type: StoredMessageType, data: Mapping[str, Any]) -> int:
    """Publish one message in a transaction of its own, for changes that have no transaction.

    Raises like ``realtime_publish``. Not idempotent. Returns the message's ``seq``.
    """
    return realtime_publish(user_id, message_type, data)


def realtime_messages_prune(*, older_than: datetime) -> int:
    """Delete stored messages created before ``older_than``; cursors stay. Returns the count."""
    deleted, _ = RealtimeMessage.objects.filter(created_at__lt=older_than).delete()
    return deleted
