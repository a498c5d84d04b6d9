"""Live-operations failures (inbox, rewards), each with a stable code."""

from rest_framework import status

from casinoclub.errors import ApplicationError


class NotificationNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such notification."


class NotificationHasNoReward(ApplicationError):
    code = "notification_has_no_reward"
    status_code = status.HTTP_409_CONFLICT
    message = "This notification carries no reward."


class NotificationAlreadyClaimed(ApplicationError):
    code = "notification_already_claimed"
    status_code = status.HTTP_409_CONFLICT
    message = "This reward was already claimed."


class CampaignRewardAboveLimit(ApplicationError):
    code = "campaign_reward_above_limit"
    status_code = status.HTTP_403_FORBIDDEN
    message = (
        "The gold reward per player is above the staff grant limit: a staff member who may"
        " approve large grants must send this campaign."
    )
