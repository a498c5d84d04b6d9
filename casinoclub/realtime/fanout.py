"""Public group broadcasts reach a socket process once and are written to its subscribers there.

A public group (the shared crash round) has many subscribers per process, and every broadcast goes
to all of them. Joining each socket to the channel-layer group would hand every broadcast to every
consumer separately (a queue, a task wake-up, a decode and a dispatch per socket). Instead each
socket process has one ``GroupFanout`` per group and event loop: it alone is in the channel-layer
group, decodes each broadcast once and writes the already encoded text to every subscribed socket.
Broadcasts that arrive while it is writing (a burst of bets) go out together in the next frame, a
``group_batch`` holding them in order, so the frames per socket follow the sockets' speed, not the
number of bets (docs/decisions/0250).

Ordering: a new subscriber is held (its frames queued) until it has sent the group's state, so a
broadcast never reaches a socket before the state it follows; the group joins the channel layer
before the state is read, so none made after the read is missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import get_channel_layer
from django.utils import timezone

from .messages import iso_utc
from .metrics import realtime_group_fanout_ms, realtime_group_subscribers

logger = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]

# Broadcasts arriving within this long of the first are written together: long enough for the
# layer's reader to hand over what Redis already delivered, short beside the latency goal.
GATHER_SECONDS = 0.001
YIELD_EVERY = 25  # sockets written between yields to the event loop (pings, connects go on)


class _Subscriber:
    __slots__ = ("held", "send")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.held: list[str] | None = []  # frames kept until the subscriber's state is sent


def batch_text(group: str, texts: list[str]) -> str:
    """One frame for broadcasts of ``group`` (each an encoded ``Broadcast``), oldest first."""
    if len(texts) == 1:
        return texts[0]
    head = json.dumps({"type": "group_batch", "group": group})[:-1]
    stamp = json.dumps(iso_utc(timezone.now()))
    return f'{head}, "data": {{"messages": [{", ".join(texts)}]}}, "timestamp": {stamp}}}'


class GroupFanout:
    """The subscribers of one public group in this process and event loop."""

    def __init__(self, group: str, channel_group: str) -> None:
        self.group = group
        self.channel_group = channel_group
        self.subscribers: dict[object, _Subscriber] = {}
        self.channel: str | None = None
        self.inbox: list[str] = []
        self.arrived = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.lock = asyncio.Lock()

    async def join(self, key: object, send: Send) -> None:
        """Subscribe ``key`` (its frames held until ``release``). Returns once the process is in
        the channel-layer group: every broadcast from then on reaches ``key``."""
        async with self.lock:
            if self.channel is None:  # Redis unreachable: raises, and the next join tries again
                layer = get_channel_layer()
                assert layer is not None, "CHANNEL_LAYERS is not configured"
                channel = await layer.new_channel()
                await layer.group_add(self.channel_group, channel)
                self.channel = channel
                self.tasks = [
                    asyncio.create_task(self._receive(layer, channel)),
                    asyncio.create_task(self._write()),
                ]
            if key not in self.subscribers:
                realtime_group_subscribers.labels(group=self.group).inc()
            self.subscribers[key] = _Subscriber(send)

    async def release(self, key: object) -> None:
        """Send ``key`` the frames held since it joined, then its live ones as they come."""
        subscriber = self.subscribers.get(key)
        if subscriber is None:
            return
        while subscriber.held:
            await subscriber.send(subscriber.held.pop(0))
        subscriber.held = None

    async def leave(self, key: object) -> None:
        async with self.lock:
            if self.subscribers.pop(key, None) is None:
                return
            realtime_group_subscribers.labels(group=self.group).dec()
            if self.subscribers:
                return
            channel, tasks = self.channel, self.tasks
            self.channel, self.tasks, self.inbox = None, [], []
            for task in tasks:
                task.cancel()
            layer = get_channel_layer()
            assert layer is not None
            assert channel is not None
            try:
                await layer.group_discard(self.channel_group, channel)
            except Exception as error:  # Redis down: the subscription goes with the connection
                logger.warning("realtime: leaving %s failed: %r", self.channel_group, error)

    async def _receive(self, layer: Any, channel: str) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a broken message: logged, the next one goes on
                logger.warning("realtime: %s broadcast unreadable: %r", self.group, error)
                await asyncio.sleep(0.1)
                continue
            self.inbox.append(message["text"])
            self.arrived.set()

    async def _write(self) -> None:
        while True:
            await self.arrived.wait()
            await asyncio.sleep(GATHER_SECONDS)
            self.arrived.clear()
            texts, self.inbox = self.inbox, []
            if not texts:
                continue
            started = time.perf_counter()
            frame = batch_text(self.group, texts)
            for count, subscriber in enumerate(list(self.subscribers.values()), 1):
                if subscriber.held is not None:
                    subscriber.held.append(frame)
                    continue
                try:
                    await subscriber.send(frame)
                except Exception as error:  # a socket closing meanwhile: the others go on
                    logger.debug("realtime: %s frame not sent: %r", self.group, error)
                if count % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            elapsed_ms = (time.perf_counter() - started) * 1000
            realtime_group_fanout_ms.labels(group=self.group).observe(elapsed_ms)


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, GroupFanout]] = (
    weakref.WeakKeyDictionary()
)


def group_fanout(group: str, channel_group: str) -> GroupFanout:
    """This event loop's fan-out of ``group`` (made on first use)."""
    per_loop = _fanouts.setdefault(asyncio.get_running_loop(), {})
    fanout = per_loop.get(group)
    if fanout is None:
        fanout = per_loop[group] = GroupFanout(group, channel_group)
    return fanout
