"""Events and missions failures, each with a stable code."""

from rest_framework import status

from casinoclub.errors import ApplicationError


class EventNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such event."


class MissionNotFound(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "No such mission."


class EventNotOpen(ApplicationError):
    code = "event_not_open"
    status_code = status.HTTP_403_FORBIDDEN
    message = "This event is not open for joining now."


class NotJoined(ApplicationError):
    code = "not_joined"
    status_code = status.HTTP_409_CONFLICT
    message = "Join the event first."


class NotCompleted(ApplicationError):
    code = "not_completed"
    status_code = status.HTTP_409_CONFLICT
    message = "The requirement is not completed yet."


class AlreadyClaimed(ApplicationError):
    code = "already_claimed"
    status_code = status.HTTP_409_CONFLICT
    message = "This reward was already claimed."
