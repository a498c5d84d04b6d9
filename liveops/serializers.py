from django.conf import settings
from rest_framework import serializers

from casinoclub.serializers import StrictSerializer
from liveops.models import Category


class EmptyInputSerializer(StrictSerializer):
    """No parameters: send `{}` or no body."""


class PreferencesInputSerializer(StrictSerializer):
    email_rewards = serializers.BooleanField(required=False)
    email_events = serializers.BooleanField(required=False)
    email_marketing = serializers.BooleanField(required=False)
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES], required=False
    )


# ---------------------------------------------------------------- responses (schema only)


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.ChoiceField(choices=Category.choices)
    title = serializers.CharField()
    body = serializers.CharField()
    reward_gold = serializers.IntegerField(allow_null=True)
    reward_item_code = serializers.CharField(help_text="Empty: no item.")
    reward_item_quantity = serializers.IntegerField()
    read_at = serializers.DateTimeField(allow_null=True)
    claimed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class NotificationReadResultSerializer(serializers.Serializer):
    notification = NotificationSerializer()
    unread_count = serializers.IntegerField()


class NotificationsReadAllResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are read now.")
    unread_count = serializers.IntegerField()


class NotificationClaimResultSerializer(serializers.Serializer):
    notification = NotificationSerializer()
    reward_gold = serializers.IntegerField(allow_null=True)
    reward_item_code = serializers.CharField()
    reward_item_quantity = serializers.IntegerField()
    balance = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class PreferencesSerializer(serializers.Serializer):
    email_rewards = serializers.BooleanField()
    email_events = serializers.BooleanField()
    email_marketing = serializers.BooleanField(help_text="Off until the player turns it on.")
    language = serializers.CharField(help_text="Language of the notifications and e-mails.")
