"""Game failures, each with a stable code."""

from rest_framework import status

from casinoclub.errors import ApplicationError


class BetOutOfRange(ApplicationError):
    code = "bet_out_of_range"
    message = "The bet is outside this game's limits."


class DailyLimitReached(ApplicationError):
    code = "daily_limit_reached"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    message = "You have played this game as often as your rank allows today."


class RoundNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such round."


class RoundAlreadySettled(ApplicationError):
    code = "round_settled"
    status_code = status.HTTP_409_CONFLICT
    message = "This round is already over."


class UnknownGame(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such game."


class RoundAlreadyOpen(ApplicationError):
    code = "round_open"
    status_code = status.HTTP_409_CONFLICT
    message = "Finish your open crash round first."


class InvalidCashoutTarget(ApplicationError):
    code = "invalid_cashout_target"
    message = "The auto cash-out target must be between 1.01x and the maximum multiplier."


class SeedInUse(ApplicationError):
    """Rotating would reveal the server seed an open round was drawn from."""

    code = "round_open"
    status_code = status.HTTP_409_CONFLICT
    message = "Finish your open round before rotating your seed pair."


class GameConfigInvalid(ApplicationError):
    code = "game_config_invalid"
    message = "This game configuration is not valid."


class GameConfigNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such game configuration."


class GameConfigNeedsApproval(ApplicationError):
    code = "game_config_needs_approval"
    status_code = status.HTTP_409_CONFLICT
    message = "Its RTP is outside the allowed band: a second staff member must approve it first."


class GameConfigSecondApproverRequired(ApplicationError):
    code = "second_approver_required"
    status_code = status.HTTP_403_FORBIDDEN
    message = "The author of a configuration cannot approve it: another staff member must."


class GameConfigActivationInvalid(ApplicationError):
    code = "game_config_activation_invalid"
    message = "That activation is not possible."
