"""Idempotent HTTP requests, implemented once and used by every gold-moving route.

The client sends an ``Idempotency-Key`` header (8-100 characters of ``[A-Za-z0-9_-:.]``, the
schema's pattern); keys are scoped per user. The body carries only the operation's own fields
(docs/decisions/0162). ``run_idempotent`` opens the request's one durable transaction and in it:

1. takes a transaction-scoped advisory lock on (user, key) without waiting; a request still
   running with the same key holds it → 409 ``idempotency_in_progress``;
2. looks for a stored response: same fingerprint (method, path, body) → the stored bytes replayed
   exactly; different fingerprint → 422 ``idempotency_mismatch``;
3. otherwise runs the operation and stores its response *in the same transaction*, so the effect
   and the stored response commit together or not at all. A money service may write the stored
   response inside its own statement instead (``idempotent_response_row``: the spin stores it
   with the wallet, the ledger and the round, one round trip fewer).

Only successful responses are stored: a request that failed changed nothing and may be retried.
``run_idempotent_in_steps`` is the variant for an operation that calls an outside service (a
payment provider) after its first transaction commits (docs/decisions/0105-charge-outside-the-
transaction.md).
Records are kept ``IDEMPOTENCY_RETENTION_HOURS`` (at least 24) and purged by a beat task.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import Counter
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from .errors import ApplicationError
from .models import IdempotencyRecord

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-:.]{8,100}$")

PreparedT = TypeVar("PreparedT")

# A balance no wallet can have (``CHECK balance >= 0``): a response stored by a money statement
# carries it until that statement writes the wallet's new balance in its place.
BALANCE_PENDING = -4611686018427387904
_BALANCE_PENDING_JSON = f'"balance":{BALANCE_PENDING}'
_RECORD_UNIQUE = "idempotency_user_key_unique"


@dataclass
class _Running:
    """The idempotent request running in this context, and its response if a statement stored it."""

    user_id: int
    key: str
    fingerprint: str
    stored_template: str | None = None


_running: contextvars.ContextVar[_Running | None] = contextvars.ContextVar(
    "idempotent_request", default=None
)

idempotent_replays_total = Counter(
    "idempotent_replays_total", "Requests answered from a stored idempotent response."
)


class IdempotencyKeyRequired(ApplicationError):
    code = "idempotency_key_required"
    message = "Send an Idempotency-Key header (8-100 characters: letters, digits, _-:.)."


class IdempotencyMismatch(ApplicationError):
    code = "idempotency_mismatch"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    message = "This idempotency key was used for a different request."


class IdempotencyInProgress(ApplicationError):
    code = "idempotency_in_progress"
    status_code = status.HTTP_409_CONFLICT
    message = "A request with this idempotency key is still being processed."


def request_idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise IdempotencyKeyRequired()
    return key


def _fingerprint(request: Request) -> str:
    canonical = json.dumps(
        [request.method, request.path, request.data], sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _advisory_lock_id(user_id: int, key: str) -> int:
    digest = hashlib.blake2b(f"{user_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _json_response(status_code: int, body: bytes) -> HttpResponse:
    return HttpResponse(body, status=status_code, content_type="application/json")


def _caller(request: Request, *, maintenance_exempt: bool = False) -> tuple[str, int, str]:
    """The request's idempotency key, its user's id and its fingerprint. Every gold-moving
    request passes here: while maintenance mode is on it is refused (503 ``maintenance``)
    unless it is a staff route (``maintenance_exempt``)."""
    if not maintenance_exempt:
        from .operations import maintenance_check

        maintenance_check()
    key = request_idempotency_key(request)
    user_id = request.user.pk if request.user is not None else None
    if user_id is None:  # routes using this require login; guard anyway
        raise NotAuthenticated()
    return key, user_id, _fingerprint(request)


def _lock_or_replay(user_id: int, key: str, fingerprint: str) -> HttpResponse | None:
    """Take the (user, key) lock for the caller's transaction and return the stored response of
    an earlier request with this key, if any. ``IdempotencyInProgress`` while a twin holds it.
    Must run in a transaction.

    One statement (hot path of every gold-moving request). Its snapshot is taken before the lock:
    a twin that commits in between is not seen here, and its stored record then refuses this
    request's own (``_record_store``: 409 and a rollback), so the operation never counts twice.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s), stored.fingerprint, stored.status_code,"
            " stored.body FROM (SELECT 1) AS one LEFT JOIN casinoclub_idempotencyrecord AS stored"
            " ON stored.user_id = %s AND stored.key = %s",
            [_advisory_lock_id(user_id, key), user_id, key],
        )
        row = cursor.fetchone()
    if not (row and row[0]):
        raise IdempotencyInProgress()
    if row[1] is None:
        return None
    return _replay(fingerprint, row[1], row[2], row[3])


def _record_store(user_id: int, key: str, fingerprint: str, status_code: int, body: bytes) -> None:
    """Store the response in the request's transaction; a twin's committed record refuses it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO casinoclub_idempotencyrecord"
            " (user_id, key, fingerprint, status_code, body, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user_id, key, fingerprint, status_code, body, timezone.now()],
        )
        if cursor.fetchone() is None:
            raise IdempotencyInProgress()  # rolls back the operation: the retry replays


def run_idempotent(
    request: Request,
    operation: Callable[[str], tuple[int, Any]],
    *,
    maintenance_exempt: bool = False,
) -> HttpResponse:
    """Run ``operation(key) -> (status, data)`` at most once per (user, key); see module doc.
    ``maintenance_exempt``: a staff route, which keeps working in maintenance mode."""
    key, user_id, fingerprint = _caller(request, maintenance_exempt=maintenance_exempt)
    running = _Running(user_id, key, fingerprint)
    token = _running.set(running)
    try:
        with transaction.atomic(durable=True):
            replay = _lock_or_replay(user_id, key, fingerprint)
            if replay is not None:
                return replay
            status_code, data = operation(key)
            if running.stored_template is None:
                body = JSONRenderer().render(data)
                _record_store(user_id, key, fingerprint, status_code, body)
            else:  # the operation's statement stored it: answer exactly those bytes
                body = _balance_filled(running.stored_template, data["balance"]).encode()
    except IntegrityError as error:
        if running.stored_template is not None and _is_record_conflict(error):
            raise IdempotencyInProgress() from error  # a twin's committed record: it replays
        raise
    finally:
        _running.reset(token)
    return _json_response(status_code, body)


def idempotent_response_row(status_code: int, data: Any) -> tuple[str, str, list[Any]]:
    """The running request's response, to be stored by the money statement that moves the wallet
    (``accounts.services.RowInsert``, written ``FROM moved``): the table and columns, the select
    list and its parameters.

    ``data`` is the response the operation will return, with ``balance`` (top level) set to
    ``BALANCE_PENDING``: the statement writes the wallet's new balance (``moved.balance``) in its
    place, and ``run_idempotent`` answers with the same bytes, the balance the operation returns
    filled in. A twin's record committed meanwhile fails the statement (unique key), which
    ``run_idempotent`` answers with 409 ``idempotency_in_progress``. Only inside
    ``run_idempotent``; once per request.
    """
    running = _running.get()
    if running is None or running.stored_template is not None:
        raise RuntimeError("idempotent_response_row needs a running idempotent request")
    template = JSONRenderer().render(data).decode()
    if template.count(_BALANCE_PENDING_JSON) != 1:
        raise ValueError("the response must carry balance=BALANCE_PENDING once, at its top level")
    running.stored_template = template
    return (
        "casinoclub_idempotencyrecord (user_id, key, fingerprint, status_code, body, created_at)",
        "%s, %s, %s, %s, convert_to(replace(%s, %s, '\"balance\":' || moved.balance), 'UTF8'), %s",
        [
            running.user_id,
            running.key,
            running.fingerprint,
            status_code,
            template,
            _BALANCE_PENDING_JSON,
            timezone.now(),
        ],
    )


def _balance_filled(template: str, balance: int) -> str:
    return template.replace(_BALANCE_PENDING_JSON, f'"balance":{int(balance)}')


def _is_record_conflict(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == _RECORD_UNIQUE


def run_idempotent_in_steps(
    request: Request,
    prepare: Callable[[str], PreparedT],
    finish: Callable[[PreparedT], tuple[int, Any]],
) -> HttpResponse:
    """``run_idempotent`` for an operation that calls an outside service (a payment provider),
    which must not happen inside the request's transaction or under its locks.

    ``prepare(key)`` runs in the durable transaction under the (user, key) lock, after the stored
    response check (a stored response is replayed and nothing runs); it commits. ``finish`` then
    runs outside any transaction, and its successful response is stored in a second transaction
    (the first one stored wins; a concurrent twin gets that one). A failure in or after ``finish``
    stores nothing, so a retry runs ``prepare`` again: it must find what the first attempt
    prepared (for a purchase, the receipt is derived from the key) rather than do it twice.
    """
    key, user_id, fingerprint = _caller(request)
    with transaction.atomic(durable=True):
        replay = _lock_or_replay(user_id, key, fingerprint)
        if replay is not None:
            return replay
        prepared = prepare(key)
    status_code, data = finish(prepared)
    body = JSONRenderer().render(data)
    # One statement on its own (autocommit): no BEGIN and COMMIT around it.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO casinoclub_idempotencyrecord"
            " (user_id, key, fingerprint, status_code, body, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user_id, key, fingerprint, status_code, body, timezone.now()],
        )
        if cursor.fetchone() is None:
            replay = _stored_response(cursor, user_id, key, fingerprint)
            if replay is not None:
                return replay
    return _json_response(status_code, body)


def _stored_response(cursor: Any, user_id: int, key: str, fingerprint: str) -> HttpResponse | None:
    cursor.execute(
        "SELECT fingerprint, status_code, body FROM casinoclub_idempotencyrecord"
        " WHERE user_id = %s AND key = %s",
        [user_id, key],
    )
    stored = cursor.fetchone()
    if stored is None:
        return None
    return _replay(fingerprint, *stored)


def _replay(
    fingerprint: str, stored_fingerprint: str, stored_status: int, stored_body: Any
) -> HttpResponse:
    if stored_fingerprint != fingerprint:
        raise IdempotencyMismatch()
    idempotent_replays_total.inc()
    response = _json_response(stored_status, bytes(stored_body))
    response["Idempotent-Replayed"] = "true"
    return response


def idempotency_records_purge(*, older_than: datetime) -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=older_than).delete()
    return deleted
