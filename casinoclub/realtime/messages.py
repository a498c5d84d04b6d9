"""Every server → client socket message, one ``TypedDict`` per type, all in one envelope.

``{type, user_id, seq, data, timestamp}``: ``seq`` increases by one per user for every *stored*
message (``StoredMessageType``); ``sync_connected``, ``initial_state`` and ``pong`` are not stored
and carry the last seq the socket has seen. ``timestamp`` is ISO-8601 in UTC.

``data`` of the product messages is shaped by the app that publishes them; they are JSON objects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypedDict, TypeVar, get_args

TypeT = TypeVar("TypeT", bound=str)
DataT = TypeVar("DataT")

StoredMessageType = Literal[
    "profile_update",
    "reward_granted",
    "purchase_update",
    "streak_update",
    "stats_update",
    "event_progress",
    "achievement_progress",
    "achievement_unlock",
    "game_event",
]
MessageType = Literal[StoredMessageType, "sync_connected", "initial_state", "pong"]
STORED_MESSAGE_TYPES: frozenset[str] = frozenset(get_args(StoredMessageType))


class Envelope(TypedDict, Generic[TypeT, DataT]):
    type: TypeT
    user_id: int
    seq: int
    data: DataT
    timestamp: str


class SyncConnectedData(TypedDict):
    last_seq: int  # the user's newest stored seq when the socket connected
    since: int | None  # the replay start the client asked for


class InitialStateData(TypedDict):
    profile: dict[str, Any]


class PongData(TypedDict):
    pass


ProductData = dict[str, Any]


class ProfileUpdateData(TypedDict):
    """Sent with every ledger change: the new gold and what moved it."""

    gold: int
    delta: int
    reason: str
    reference: str
    ledger_entry_id: int


class RewardGrantedData(TypedDict):
    """Sent with every credit (a ledger entry with a positive delta)."""

    gold: int
    balance: int
    reason: str
    reference: str
    ledger_entry_id: int


class SyncConnected(Envelope[Literal["sync_connected"], SyncConnectedData]):
    pass


class InitialState(Envelope[Literal["initial_state"], InitialStateData]):
    pass


class Pong(Envelope[Literal["pong"], PongData]):
    pass


class ProfileUpdate(Envelope[Literal["profile_update"], ProfileUpdateData]):
    pass


class RewardGranted(Envelope[Literal["reward_granted"], RewardGrantedData]):
    pass


class PurchaseUpdate(Envelope[Literal["purchase_update"], ProductData]):
    pass


class StreakUpdate(Envelope[Literal["streak_update"], ProductData]):
    pass


class StatsUpdate(Envelope[Literal["stats_update"], ProductData]):
    pass


class EventProgress(Envelope[Literal["event_progress"], ProductData]):
    pass


class AchievementProgress(Envelope[Literal["achievement_progress"], ProductData]):
    pass


class AchievementUnlock(Envelope[Literal["achievement_unlock"], ProductData]):
    pass


class GameEvent(Envelope[Literal["game_event"], ProductData]):
    pass


StoredMessage = Envelope[StoredMessageType, ProductData]
ServerMessage = (
    SyncConnected
    | InitialState
    | Pong
    | ProfileUpdate
    | RewardGranted
    | PurchaseUpdate
    | StreakUpdate
    | StatsUpdate
    | EventProgress
    | AchievementProgress
    | AchievementUnlock
    | GameEvent
)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
