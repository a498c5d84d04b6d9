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


class CrashBettingClosed(ApplicationError):
    """A crash bet outside the shared round's betting window."""

    code = "betting_closed"
    status_code = status.HTTP_409_CONFLICT
    message = "Bets are taken only while the next crash round's betting window is open."


class CrashAlreadyBet(ApplicationError):
    code = "already_bet"
    status_code = status.HTTP_409_CONFLICT
    message = "You already have a bet in this crash round."


class CrashRoundExposureFull(ApplicationError):
    """The bet would let the round pay more than CRASH_ROUND_EXPOSURE_CAP."""

    code = "round_exposure_full"
    status_code = status.HTTP_409_CONFLICT
    message = "This round takes no more bets of that size: try a lower bet or auto cash-out."


class CrashRoundNotRunning(ApplicationError):
    code = "round_not_running"
    status_code = status.HTTP_409_CONFLICT
    message = "The round has not started yet: cash out once the multiplier is rising."


class CrashRoundBusted(ApplicationError):
    """A cash-out at or after the bust moment (judged on the server clock)."""

    code = "round_busted"
    status_code = status.HTTP_409_CONFLICT
    message = "Too late: the round busted."


class CrashChainInvalid(ApplicationError):
    code = "crash_chain_invalid"
    message = "That is not possible for this crash chain."
