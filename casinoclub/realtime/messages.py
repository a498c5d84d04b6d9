"""Every socket message, one ``TypedDict`` per type: server → client in one envelope, then the
frames a client may send (``ClientFrame``).

``{type, user_id, seq, data, timestamp}``: ``seq`` increases by one per user for every *stored*
message (``StoredMessageType``); ``sync_connected``, ``initial_state``, ``pong`` and
``reauthenticated`` are not stored and carry the last seq the socket has seen. ``timestamp`` is
ISO-8601 in UTC.

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
    "progress_update",
    "notification",
    "announcement",
]
MessageType = Literal[
    StoredMessageType, "sync_connected", "initial_state", "pong", "reauthenticated"
]
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


class ReauthenticatedData(TypedDict):
    """The answer to a ``reauth`` frame: the socket now ends at the new token's expiry."""

    expires_at: str  # ISO-8601 UTC


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


class AnnouncementData(TypedDict):
    """A staff banner that just started (sent to the players online then; the pages show every
    running one on load)."""

    id: int
    severity: str  # info | warning | critical
    text: str  # in the site's default language
    text_en: str
    text_ko: str
    ends_at: str  # ISO-8601 UTC


class EventProgressItem(TypedDict):
    """One event participation or mission progress row as its player sees it."""

    scope: Literal["event", "mission"]
    id: int  # the event's or the mission's id
    period: str | None  # missions: "daily" or "weekly"
    period_start: str | None  # missions: the period's first local day (ISO date)
    progress: int
    target: int
    progress_version: int
    completed: bool
    claimed: bool
    expired: bool  # the period closed before the reward was claimed


class EventProgressData(TypedDict):
    """``event_progress``: progress changed, an event was joined, a reward was claimed, or a
    mission period closed (``reset``: the closed rows; unclaimed ones are ``expired``)."""

    kind: Literal["progress", "joined", "claimed", "reset"]
    items: list[EventProgressItem]


class StreakUpdateData(TypedDict):
    """``streak_update``: the daily streak was claimed (gold arrives as ``reward_granted``)."""

    current_streak: int
    best_streak: int
    claimed_today: bool
    day: str  # the claimed local calendar day (ISO date)
    streak_day: int
    reward_gold: int
    next_reward_gold: int  # tomorrow's reward if the streak continues


class AchievementProgressData(TypedDict):
    """``achievement_progress``: a value crossed another tenth of an achievement's threshold."""

    code: str
    metric: str
    value: int
    threshold: int
    progress_percent: int


class AchievementUnlockData(TypedDict):
    """``achievement_unlock``: unlocked now, once; its gold arrives as ``reward_granted``."""

    code: str
    name: str
    names: dict[str, str]  # the name in every language, for the page to pick its own
    metric: str
    threshold: int
    value: int
    reward_gold: int
    reward_xp: int


class SyncConnected(Envelope[Literal["sync_connected"], SyncConnectedData]):
    pass


class InitialState(Envelope[Literal["initial_state"], InitialStateData]):
    pass


class Pong(Envelope[Literal["pong"], PongData]):
    pass


class Reauthenticated(Envelope[Literal["reauthenticated"], ReauthenticatedData]):
    pass


class ProfileUpdate(Envelope[Literal["profile_update"], ProfileUpdateData]):
    pass


class RewardGranted(Envelope[Literal["reward_granted"], RewardGrantedData]):
    pass


class PurchaseUpdate(Envelope[Literal["purchase_update"], ProductData]):
    pass


class StreakUpdate(Envelope[Literal["streak_update"], StreakUpdateData]):
    pass


class StatsUpdate(Envelope[Literal["stats_update"], ProductData]):
    pass


class EventProgress(Envelope[Literal["event_progress"], ProductData]):
    pass


class AchievementProgress(Envelope[Literal["achievement_progress"], AchievementProgressData]):
    pass


class AchievementUnlock(Envelope[Literal["achievement_unlock"], AchievementUnlockData]):
    pass


class GameEvent(Envelope[Literal["game_event"], ProductData]):
    pass


class ProgressUpdateData(TypedDict, total=False):
    """What a projection batch changed for one player, sent once per player per batch.

    Every key is optional: ``stats`` (``[{game, stats}]``), ``xp`` / ``level``, ``missions`` and
    ``events`` (progress items), ``achievements`` (``achievement_progress`` / ``achievement_unlock``
    data with ``state`` "progress" or "unlocked"), ``level_ups`` (``[{level, gold}]``: each level
    reached and the gold it paid). Stored once per player per projection batch.
    """

    stats: list[dict[str, Any]]
    xp: int
    level: int
    missions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    achievements: list[dict[str, Any]]
    level_ups: list[dict[str, int]]


class Announcement(Envelope[Literal["announcement"], AnnouncementData]):
    pass


class ProgressUpdate(Envelope[Literal["progress_update"], ProgressUpdateData]):
    pass


class NotificationData(TypedDict):
    """``notification``: a new inbox message (campaigns; liveops), with the new unread count."""

    id: int
    category: str  # "rewards" | "events" | "marketing"
    title: str
    body: str
    reward_gold: int | None
    reward_item_code: str
    reward_item_quantity: int
    created_at: str  # ISO-8601 UTC
    unread_count: int


class NotificationMessage(Envelope[Literal["notification"], NotificationData]):
    pass


StoredMessage = Envelope[StoredMessageType, ProductData]
ServerMessage = (
    SyncConnected
    | InitialState
    | Pong
    | Reauthenticated
    | ProfileUpdate
    | RewardGranted
    | PurchaseUpdate
    | StreakUpdate
    | StatsUpdate
    | EventProgress
    | AchievementProgress
    | AchievementUnlock
    | GameEvent
    | ProgressUpdate
    | NotificationMessage
    | Announcement
)


# ---------------------------------------------------------------- public group broadcasts
# Not stored and not per user: what every socket subscribed to a public group sees (the shared
# crash round). ``{type, group, data, timestamp}``; a subscriber gets the group's current state
# (``group_state``) first, then live messages; a message lost by Redis is not replayed, the next
# phase message carries the whole round again. Broadcasts that reach a socket process together go
# out as one ``group_batch`` frame: ``data.messages`` holds them in order, each a whole broadcast
# (clients handle each as if it came alone).

BroadcastType = Literal[
    "group_state",
    "group_batch",
    "crash_betting",
    "crash_running",
    "crash_busted",
    "crash_bet",
    "crash_cashout",
]


class Broadcast(TypedDict):
    type: BroadcastType
    group: str
    data: dict[str, Any]
    timestamp: str


# ---------------------------------------------------------------- client → server frames


class PingFrame(TypedDict):
    """Answered with ``pong``; re-checks the credentials, marks the player online, catches up."""

    type: Literal["ping"]


class ReauthFrame(TypedDict):
    """A fresh access token of the same player, sent before the socket's token expires.

    Valid (signature, expiry, not revoked, same player): answered with ``reauthenticated`` and the
    socket now ends at this token's expiry. Not a valid access token: close 4401. A valid token of
    another player: close 4403. Without a reauth a token socket closes with 4401 at its token's
    expiry; a session socket (the player pages) ends with its session instead.
    """

    type: Literal["reauth"]
    token: str


class SubscribeFrame(TypedDict):
    """Join a public group (``crash``): answered with ``group_state``, then its live messages.
    An unknown group is ignored. ``unsubscribe`` leaves it."""

    type: Literal["subscribe", "unsubscribe"]
    group: str


ClientFrame = PingFrame | ReauthFrame | SubscribeFrame


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
