"""Purges of expired authentication records (beat jobs in accounts.tasks).

Only rows that can no longer authenticate anyone are deleted: a refresh token past its expiry is
refused by its signature check before the blacklist is consulted, and an expired session is
refused by the session engine. Each purge is idempotent.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.sessions.models import Session
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


def refresh_tokens_purge_expired(*, now: datetime) -> int:
    """Delete outstanding refresh tokens (and their blacklist rows) expired by ``now``.

    simplejwt's ``flushexpiredtokens`` as a service. Returns the number of tokens deleted."""
    expired = OutstandingToken.objects.filter(expires_at__lte=now)
    count = expired.count()
    expired.delete()  # cascades to BlacklistedToken
    return count


def sessions_purge_expired(*, now: datetime) -> int:
    """Delete page sessions expired by ``now`` (Django's ``clearsessions`` for the DB backend)."""
    deleted, _ = Session.objects.filter(expire_date__lt=now).delete()
    return deleted
