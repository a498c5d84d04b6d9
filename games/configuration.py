"""Game configuration as a reviewed change (docs/decisions/0181-game-config-review.md).

Invariants:
- a version's parameters never change once stored; a round records the version it used, so a
  later activation or rollback never changes a past round;
- a draft is never live by being the newest version: before the first draft of a game, the live
  version is recorded as activated, and only an activation makes a version live
  (``games.selectors.game_config_current`` reads the latest activation whose time has come);
- a version whose exact RTP was outside ``GAME_CONFIG_RTP_BAND`` when drafted is activated only
  after a staff member other than its author approved it (checked here and by a database
  constraint);
- every draft, approval, activation, rollback and cancellation writes one audit row in its own
  transaction. Versions of one game are numbered under a lock on the game's rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from games import exceptions
from games.models import Game, GameConfig, GameConfigActivation
from games.selectors import config_as_dict, config_odds, game_config_current, rtp_in_band

RANKS = ("STANDARD", "PREMIUM", "VIP")


def _summary(config: GameConfig) -> dict[str, Any]:
    return {"version": config.version, **config_as_dict(config)}


def _validated_rtp(game: str, engine_data: dict[str, Any]) -> Any:
    try:
        return config_odds(game, engine_data).rtp
    except (ValueError, TypeError, KeyError) as error:
        raise exceptions.GameConfigInvalid(f"Invalid configuration: {error}") from error


def _limits_check(daily_limits: Any, min_bet: Any, max_bet: Any) -> None:
    if not (
        isinstance(daily_limits, dict)
        and set(daily_limits) == set(RANKS)
        and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in daily_limits.values()
        )
    ):
        raise exceptions.GameConfigInvalid("Give rounds per day for every rank; 0 = unlimited.")
    if not (isinstance(min_bet, int) and isinstance(max_bet, int) and 1 <= min_bet <= max_bet):
        raise exceptions.GameConfigInvalid("The bet range needs 1 <= minimum <= maximum.")


def _live_pin(game: str, actor: User | None) -> GameConfig:
    """Must run inside a transaction. Record the live version as activated if the game has no
    activation yet (its versions were stored before reviews existed), and return it."""
    live = game_config_current(game)
    if not GameConfigActivation.objects.filter(game=game).exists():
        GameConfigActivation.objects.create(
            game=game,
            config=live,
            activates_at=live.created_at,
            reason="live before reviewed changes",
            created_by=actor,
        )
    return live


@transaction.atomic(durable=True)
def game_config_draft_create(
    *,
    actor: User,
    game: str,
    engine: dict[str, Any],
    min_bet: int,
    max_bet: int,
    daily_limits: dict[str, int],
    note: str = "",
) -> GameConfig:
    """Store a new version of ``game`` as a draft (not live), audited ``game_config_draft``.

    ``needs_approval`` is set when its exact RTP is outside ``GAME_CONFIG_RTP_BAND``. Not
    idempotent (each call is a version). Raises ``GameConfigInvalid``."""
    if game not in Game.values:
        raise exceptions.GameConfigInvalid("No such game.")
    rtp = _validated_rtp(game, engine)
    _limits_check(daily_limits, min_bet, max_bet)
    game_config_current(game)  # version 1 exists (created from the defaults on first use)
    # Lock the game's versions: a concurrent draft waits here, then numbers after this one.
    list(GameConfig.objects.select_for_update().filter(game=game).values_list("pk", flat=True))
    live = _live_pin(game, actor)
    versions = GameConfig.objects.filter(game=game)
    version = (versions.aggregate(Max("version"))["version__max"] or 0) + 1
    draft = GameConfig.objects.create(
        game=game,
        version=version,
        engine=engine,
        min_bet=min_bet,
        max_bet=max_bet,
        daily_limits=daily_limits,
        note=note,
        created_by=actor,
        needs_approval=not rtp_in_band(rtp),
    )
    audit_log_record(
        actor=actor,
        action="game_config_draft",
        target=f"{game} v{version}",
        before=_summary(live),
        after={**_summary(draft), "rtp": str(rtp), "needs_approval": draft.needs_approval},
        reason=note,
    )
    return draft


def _config_lock(config_id: int) -> GameConfig:
    config = GameConfig.objects.select_for_update().filter(pk=config_id).first()
    if config is None:
        raise exceptions.GameConfigNotFound()
    return config


@transaction.atomic(durable=True)
def game_config_approve(*, actor: User, config_id: int) -> GameConfig:
    """Approve an out-of-band version, audited ``game_config_approve``. The caller checks the
    ``games.approve_gameconfig`` permission. Idempotent: an approved version is returned as is.
    Raises ``GameConfigNotFound``, ``GameConfigSecondApproverRequired`` (the author),
    ``GameConfigActivationInvalid`` (a version that needs no approval)."""
    config = _config_lock(config_id)
    if not config.needs_approval:
        raise exceptions.GameConfigActivationInvalid("This version's RTP needs no approval.")
    if config.approved_by_id is not None:
        return config
    if config.created_by_id == actor.pk:
        raise exceptions.GameConfigSecondApproverRequired()
    config.approved_by = actor
    config.approved_at = timezone.now()
    config.save(update_fields=["approved_by", "approved_at"])
    audit_log_record(
        actor=actor,
        action="game_config_approve",
        target=f"{config.game} v{config.version}",
        after={"version": config.version, "engine": config.engine},
    )
    return config


def _activate(
    *, actor: User, config_id: int, activates_at: datetime | None, reason: str, rollback: bool
) -> GameConfigActivation:
    now = timezone.now()
    config = _config_lock(config_id)
    if config.needs_approval and config.approved_by_id is None:
        raise exceptions.GameConfigNeedsApproval()
    if activates_at is not None and activates_at <= now:
        raise exceptions.GameConfigActivationInvalid("Give a time in the future, or activate now.")
    live = _live_pin(config.game, actor)
    if rollback and config.version >= live.version:
        raise exceptions.GameConfigActivationInvalid(
            f"Roll back to a version older than the live v{live.version}."
        )
    if activates_at is None and config.pk == live.pk:
        raise exceptions.GameConfigActivationInvalid("This version is already live.")
    activation = GameConfigActivation.objects.create(
        game=config.game,
        config=config,
        activates_at=activates_at or now,
        is_rollback=rollback,
        reason=reason,
        created_by=actor,
    )
    audit_log_record(
        actor=actor,
        action="game_config_rollback" if rollback else "game_config_activate",
        target=f"{config.game} v{config.version}",
        before=_summary(live),
        after={**_summary(config), "activates_at": activation.activates_at.isoformat()},
        reason=reason,
    )
    return activation


@transaction.atomic(durable=True)
def game_config_activate(
    *, actor: User, config_id: int, activates_at: datetime | None = None, reason: str = ""
) -> GameConfigActivation:
    """Make a version live now (``activates_at`` None) or at a later time, audited
    ``game_config_activate``. New rounds use it from then on; past rounds keep theirs.
    Raises ``GameConfigNotFound``, ``GameConfigNeedsApproval``, ``GameConfigActivationInvalid``
    (a time not in the future, or the live version again)."""
    return _activate(
        actor=actor, config_id=config_id, activates_at=activates_at, reason=reason, rollback=False
    )


@transaction.atomic(durable=True)
def game_config_rollback(*, actor: User, config_id: int, reason: str = "") -> GameConfigActivation:
    """Make an earlier version live again now, in one action, audited ``game_config_rollback``.
    Raises as ``game_config_activate``, and ``GameConfigActivationInvalid`` for a version not
    older than the live one."""
    return _activate(
        actor=actor, config_id=config_id, activates_at=None, reason=reason, rollback=True
    )


@transaction.atomic(durable=True)
def game_config_activation_cancel(*, actor: User, activation_id: int) -> GameConfigActivation:
    """Cancel a scheduled activation before its time, audited ``game_config_activation_cancel``.
    Raises ``GameConfigActivationInvalid`` for one already in effect, cancelled or unknown."""
    activation = (
        GameConfigActivation.objects.select_for_update()
        .select_related("config")
        .filter(pk=activation_id)
        .first()
    )
    if activation is None or activation.cancelled_at is not None:
        raise exceptions.GameConfigActivationInvalid("No such scheduled activation.")
    if activation.activates_at <= timezone.now():
        raise exceptions.GameConfigActivationInvalid("That activation is already in effect.")
    activation.cancelled_at = timezone.now()
    activation.save(update_fields=["cancelled_at"])
    audit_log_record(
        actor=actor,
        action="game_config_activation_cancel",
        target=f"{activation.game} v{activation.config.version}",
        before={"activates_at": activation.activates_at.isoformat()},
    )
    return activation
