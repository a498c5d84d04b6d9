"""Progression failures, each with a stable code."""

from rest_framework import status

from casinoclub.errors import ApplicationError


class AlreadyClaimed(ApplicationError):
    code = "already_claimed"
    status_code = status.HTTP_409_CONFLICT
    message = "This reward has already been claimed."


class SeasonNotActive(ApplicationError):
    code = "season_not_active"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No battle pass season is running."


class TierNotFound(ApplicationError):
    code = "tier_not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "This season has no such tier."


class TierLocked(ApplicationError):
    code = "tier_locked"
    status_code = status.HTTP_409_CONFLICT
    message = "Earn more season XP to unlock this tier."


class PremiumRequired(ApplicationError):
    code = "premium_required"
    status_code = status.HTTP_403_FORBIDDEN
    message = "The premium track of this season is bought in the shop."
