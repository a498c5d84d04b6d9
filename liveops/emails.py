"""Notification e-mails: only to verified addresses of players who opted in to the category."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import translation

from liveops.models import Category, Notification
from liveops.selectors import EMAIL_DEFAULTS

_OPT_IN_FIELD: dict[str, str] = {
    Category.REWARDS: "email_rewards",
    Category.EVENTS: "email_events",
    Category.MARKETING: "email_marketing",
}


def email_wanted(notification: Notification) -> bool:
    """Whether the player gets this notification by e-mail: a verified address and an opt-in
    (or, without a choice saved, the category's default) for its category."""
    user = notification.user
    if not user.email or user.email_verified_at is None:
        return False
    preference = getattr(user, "notification_preference", None)
    if preference is None:
        return EMAIL_DEFAULTS[notification.category]
    return bool(getattr(preference, _OPT_IN_FIELD[notification.category]))


def notification_emails_send(notification_ids: list[int]) -> int:
    """E-mail each notification whose player wants it, in the player's language, through Django's
    mail API (text and HTML). Returns how many were sent. Not idempotent: call once per batch."""
    messages: list[EmailMultiAlternatives] = []
    notifications = Notification.objects.filter(pk__in=notification_ids).select_related(
        "user", "user__notification_preference"
    )
    for notification in notifications:
        if not email_wanted(notification):
            continue
        language = notification.user.language or settings.LANGUAGE_CODE
        with translation.override(language):
            context = {"notification": notification, "user": notification.user}
            text = render_to_string("liveops/email/notification.txt", context)
            html = render_to_string("liveops/email/notification.html", context)
        message = EmailMultiAlternatives(
            subject=notification.title,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.user.email],
        )
        message.attach_alternative(html, "text/html")
        messages.append(message)
    if not messages:
        return 0
    with get_connection() as connection:  # one connection to the relay for the whole batch
        return int(connection.send_messages(messages) or 0)
