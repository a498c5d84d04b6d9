"""``/api/realtime/sync``: pushes a player's messages; commands go over HTTP.

Connect: join the user's group first, then send ``sync_connected`` and ``initial_state``, then
(with ``?since=<seq>``) every stored message after that seq, then live ones. Group messages that
arrive meanwhile wait in the channel layer until ``connect`` returns (Channels dispatches one
message at a time); anything with a seq already sent is dropped, and a gap in live seqs (a message
lost by Redis or overtaken by a later one) is filled from the store, so the socket sends every seq
once, in order. Each ping also catches up from the store, so a quiet socket whose last live
message was lost still gets it within one ping interval.

Auth: ``?token=<access JWT>``, or — without a token — the player pages' session cookie from a
page of this site (``auth.session_origin_allowed``). Either is re-checked at every ping and at most
every ``AUTH_RECHECK_SECONDS`` on delivery: a ban, logout-all or logout closes the socket with 4401.
The socket also ends with its credentials: at the token's expiry, unless the client sent a fresh
access token of the same player in a ``reauth`` frame first (answered with ``reauthenticated``;
an invalid token closes with 4401, another player's with 4403); a session socket at the session's
end (re-read then, so a session that was extended goes on). Both close with 4401.

Presence (``presence.py``): connect and every ping mark the user online, disconnect offline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.serializers import ProfileSerializer
from analytics.services.activity import activity_session_start
from casinoclub.jsonparse import InvalidJSON, json_loads_limited

from .auth import (
    session_expires_at,
    session_origin_allowed,
    session_user_get,
    socket_authenticate,
    socket_user_get,
)
from .fanout import GroupFanout, group_fanout
from .messages import (
    Broadcast,
    InitialState,
    Pong,
    Reauthenticated,
    StoredMessage,
    SyncConnected,
    iso_utc,
)
from .metrics import ws_active_connections, ws_close_code_label, ws_disconnects_total
from .presence import presence_leave, presence_touch
from .selectors import realtime_cursor_get, realtime_messages_since
from .services import (
    public_group_channel_name,
    public_group_exists,
    public_group_state,
    user_group_name,
)

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403  # a reauth frame carried another player's token
CLOSE_BAD_REQUEST = 4400
CLOSE_TOO_MANY_FRAMES = 4429
# Client frames (pings, subscribes, reauths) a socket may send at once, and per second after that:
# each costs a database or Redis read, so a flood closes the socket with 4429. The page pings
# every 30 s and subscribes once per connection.
FRAME_BURST = 20
FRAME_RATE_PER_SECOND = 1.0
REPLAY_PAGE = 500
MAX_TOKEN_LENGTH = 4096
AUTH_RECHECK_SECONDS = 30.0  # a ban or logout-all closes a socket at its next ping or delivery


def _snapshot(user: Any) -> tuple[int, dict[str, Any]]:
    """The newest seq, then the profile read after it: the profile is at least that new."""
    last_seq = realtime_cursor_get(user.pk)
    user.refresh_from_db()
    return last_seq, dict(ProfileSerializer(user).data)


async def _presence(change: Callable[[int], None], user_id: int) -> None:
    """Presence is a Redis call: run it off the event loop, in the default thread pool."""
    await sync_to_async(change, thread_sensitive=False)(user_id)


class SyncConsumer(AsyncJsonWebsocketConsumer):
    user_id: int | None = None
    token: AccessToken | None = None
    session_key: str | None = None  # set when the socket is authenticated by the session cookie
    last_sent_seq = 0
    auth_checked_at = 0.0
    auth_expires_at = 0.0  # unix time the credentials end: the token's exp or the session's end
    expiry_task: asyncio.Task[None] | None = None
    public_groups: frozenset[str] = frozenset()  # public groups joined by ``subscribe`` frames
    frame_allowance = float(FRAME_BURST)
    frame_counted_at = 0.0

    async def connect(self) -> None:
        await self.accept()  # accept first: a close code can only be sent on an open socket
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        user = await self._authenticate(query)
        if user is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        raw_since = query.get("since", [None])[0]
        if raw_since is not None and not (
            raw_since.isascii() and raw_since.isdigit() and len(raw_since) <= 18
        ):
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        user_id = int(user.pk)
        await self.channel_layer.group_add(user_group_name(user_id), self.channel_name)
        self.user_id = user_id  # from here on disconnect() leaves the group
        ws_active_connections.inc()
        await _presence(presence_touch, user_id)
        # one more app session today, and the player counts as active (analytics)
        await database_sync_to_async(activity_session_start)(user_id)
        self.auth_checked_at = time.monotonic()
        self.auth_expires_at = await self._credentials_end()
        last_seq, profile = await database_sync_to_async(_snapshot)(user)
        since = None if raw_since is None else min(int(raw_since), last_seq)
        now = iso_utc(timezone.now())
        connected: SyncConnected = {
            "type": "sync_connected",
            "user_id": user_id,
            "seq": last_seq,
            "data": {"last_seq": last_seq, "since": since},
            "timestamp": now,
        }
        initial: InitialState = {
            "type": "initial_state",
            "user_id": user_id,
            "seq": last_seq,
            "data": {"profile": profile},
            "timestamp": now,
        }
        await self.send_json(connected)
        await self.send_json(initial)
        if since is not None:
            self.last_sent_seq = since
            await self._catch_up()
        self.last_sent_seq = max(self.last_sent_seq, last_seq)
        self.expiry_task = asyncio.create_task(self._close_at_expiry())

    async def _authenticate(self, query: dict[str, list[str]]) -> Any | None:
        """The user of the query's token or, with no token, of the session cookie; else None."""
        if "token" in query:
            authenticated = await database_sync_to_async(socket_authenticate)(query["token"][0])
            if authenticated is None:
                return None
            user, self.token = authenticated
            return user
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None) if session is not None else None
        if not session_key or not session_origin_allowed(dict(self.scope.get("headers", []))):
            return None
        user = await database_sync_to_async(session_user_get)(session_key)
        if user is not None:
            self.session_key = session_key
        return user

    async def _credentials_end(self) -> float:
        """When the socket's credentials end (unix time; 0: they already have)."""
        if self.token is not None:
            return float(self.token["exp"])
        end = await database_sync_to_async(session_expires_at)(self.session_key)
        return end.timestamp() if end is not None else 0.0

    async def _close_at_expiry(self) -> None:
        """Close with 4401 when the credentials end: the token's expiry (a ``reauth`` moves it),
        or the session's end, re-read at that moment (a session saved again since goes on)."""
        while self.token is not None or self.session_key is not None:
            delay = self.auth_expires_at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            if self.token is None:
                self.auth_expires_at = await self._credentials_end()
                if self.auth_expires_at > time.time():
                    continue
            await self._refuse(CLOSE_UNAUTHORIZED)
            return

    async def _refuse(self, code: int) -> None:
        self.token = None
        self.session_key = None
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.expiry_task is not None:
            self.expiry_task.cancel()
        ws_disconnects_total.labels(code=ws_close_code_label(code)).inc()
        if self.user_id is not None:
            ws_active_connections.dec()
            await _presence(presence_leave, self.user_id)
            await self.channel_layer.group_discard(user_group_name(self.user_id), self.channel_name)
        for group in self.public_groups:
            await self._fanout(group).leave(self)

    def _frame_allowed(self) -> bool:
        """Take one frame from the socket's allowance (a token bucket); False when it is spent."""
        now = time.monotonic()
        if self.frame_counted_at:
            refill = (now - self.frame_counted_at) * FRAME_RATE_PER_SECOND
            self.frame_allowance = min(float(FRAME_BURST), self.frame_allowance + refill)
        self.frame_counted_at = now
        if self.frame_allowance < 1:
            return False
        self.frame_allowance -= 1
        return True

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is not None and not self._frame_allowed():
            if self.token is not None or self.session_key is not None:
                await self._refuse(CLOSE_TOO_MANY_FRAMES)
            return
        try:
            content = json_loads_limited(text_data or "")
        except (ValueError, InvalidJSON):
            return  # not JSON or nested too deep: ignored, like any frame that is not a ping
        if self.user_id is None or not isinstance(content, dict):
            return
        if content.get("type") == "reauth":
            await self._reauthenticate(content.get("token"))
        elif content.get("type") in ("subscribe", "unsubscribe"):
            await self._subscription(content.get("type") == "subscribe", content.get("group"))
        elif content.get("type") == "ping" and await self._still_authorized(force=True):
            await _presence(presence_touch, self.user_id)
            await self._catch_up()  # heals a live copy Redis lost, even if no later one comes
            pong: Pong = {
                "type": "pong",
                "user_id": self.user_id,
                "seq": self.last_sent_seq,
                "data": {},
                "timestamp": iso_utc(timezone.now()),
            }
            await self.send_json(pong)

    async def _reauthenticate(self, raw_token: object) -> None:
        """A ``reauth`` frame: a fresh access token of the same player moves the socket's end to
        that token's expiry (a session socket becomes a token socket)."""
        if self.token is None and self.session_key is None:
            return  # already refused
        authenticated = None
        if isinstance(raw_token, str) and 0 < len(raw_token) <= MAX_TOKEN_LENGTH:
            authenticated = await database_sync_to_async(socket_authenticate)(raw_token)
        if self.token is None and self.session_key is None:
            return  # refused meanwhile (its credentials ended during the check): no way back
        if authenticated is None:
            await self._refuse(CLOSE_UNAUTHORIZED)
            return
        user, token = authenticated
        if user.pk != self.user_id:
            await self._refuse(CLOSE_FORBIDDEN)
            return
        self.token, self.session_key = token, None
        self.auth_expires_at = float(token["exp"])
        self.auth_checked_at = time.monotonic()
        assert self.user_id is not None
        answer: Reauthenticated = {
            "type": "reauthenticated",
            "user_id": self.user_id,
            "seq": self.last_sent_seq,
            "data": {"expires_at": iso_utc(datetime.fromtimestamp(self.auth_expires_at, UTC))},
            "timestamp": iso_utc(timezone.now()),
        }
        await self.send_json(answer)

    def _fanout(self, group: str) -> GroupFanout:
        return group_fanout(group, public_group_channel_name(group))

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def _subscription(self, join: bool, group: object) -> None:
        """Join (then send its current state) or leave a public group; unknown ones are ignored.

        The process's fan-out of the group is in the channel layer before the state is read, and
        holds this socket's broadcasts until the state is sent (``fanout.py``): none is missed and
        none comes before the state."""
        if not isinstance(group, str) or len(group) > 32:
            return
        if not join:
            if group in self.public_groups:
                self.public_groups = self.public_groups - {group}
                await self._fanout(group).leave(self)
            return
        if group in self.public_groups or not public_group_exists(group):
            return
        fanout = self._fanout(group)
        try:
            await fanout.join(self, self._send_text)
        except Exception as error:  # Redis unreachable: not subscribed; a later subscribe retries
            logger.warning("realtime: subscribing to %s failed: %r", group, error)
            return
        self.public_groups = self.public_groups | {group}
        state = await database_sync_to_async(public_group_state)(group)
        if state is None:  # unregistered meanwhile
            self.public_groups = self.public_groups - {group}
            await fanout.leave(self)
            return
        message: Broadcast = {
            "type": "group_state",
            "group": group,
            "data": state,
            "timestamp": iso_utc(timezone.now()),
        }
        await self.send_json(message)
        await fanout.release(self)

    async def realtime_messages(self, event: dict[str, Any]) -> None:
        """Live messages of one commit from ``services`` (group ``user.<id>``), in seq order."""
        envelopes: list[StoredMessage] = event["envelopes"]
        if envelopes[-1]["seq"] <= self.last_sent_seq or not await self._still_authorized():
            return
        for envelope in envelopes:
            if envelope["seq"] > self.last_sent_seq + 1:
                await self._catch_up()
            await self._send_message(envelope)

    async def realtime_message(self, event: dict[str, Any]) -> None:
        """One live message (the single-envelope form of ``realtime_messages``)."""
        await self.realtime_messages({"envelopes": [event["envelope"]]})

    async def _send_message(self, envelope: StoredMessage) -> None:
        if envelope["seq"] > self.last_sent_seq:
            await self.send_json(envelope)
            self.last_sent_seq = envelope["seq"]

    async def _catch_up(self) -> None:
        """Send every stored message after ``last_sent_seq``, oldest first."""
        assert self.user_id is not None
        while True:
            page = await database_sync_to_async(realtime_messages_since)(
                self.user_id, self.last_sent_seq, REPLAY_PAGE
            )
            for envelope in page:
                await self._send_message(envelope)
            if len(page) < REPLAY_PAGE:
                return

    async def _still_authorized(self, *, force: bool = False) -> bool:
        """Re-check the user (active, token version or live session) at most every
        AUTH_RECHECK_SECONDS."""
        if self.token is None and self.session_key is None:
            return False
        if self.token is not None and self.auth_expires_at <= time.time():
            await self._refuse(CLOSE_UNAUTHORIZED)  # expired: the timer may not have run yet
            return False
        now = time.monotonic()
        if not force and now - self.auth_checked_at < AUTH_RECHECK_SECONDS:
            return True
        self.auth_checked_at = now
        if self.token is not None:
            user = await database_sync_to_async(socket_user_get)(self.token)
        else:
            user = await database_sync_to_async(session_user_get)(self.session_key)
        if user is not None:
            return True
        await self._refuse(CLOSE_UNAUTHORIZED)
        return False
