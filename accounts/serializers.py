from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from casinoclub.serializers import StrictIntegerField, StrictSerializer

from . import validators
from .items import ITEM_KIND_CHOICES
from .models import BlockKind, Rank, User
from .selectors import equipped_for_users, experience_for_next_level, rank_label, wallet_balance


def _normalized(normalize: Any, value: str) -> str:
    try:
        return str(normalize(value))
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from error


# The patterns of what each field accepts as sent; the normalizers then lower-case the site_id
# and drop the phone number's separators (validators.py holds the stored forms' rules).
SITE_ID_INPUT_PATTERN = r"^[A-Za-z0-9_]{4,32}$"
NICKNAME_INPUT_PATTERN = r"^\w{2,20}$"
PHONE_INPUT_PATTERN = r"^[\s\-().]*\+?(?:[\s\-().]*[0-9]){9,15}[\s\-().]*$"


class _NormalizedField(serializers.RegexField):
    """A string matching ``pattern`` as sent (documented in the schema), then normalized."""

    pattern = ""
    max_length_ = 0
    rule = ""  # what a value that does not match is told (the rule, as validators.py words it)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"invalid": self.rule})
        super().__init__(self.pattern, max_length=self.max_length_, **kwargs)

    def normalize(self, value: str) -> str:
        raise NotImplementedError

    def to_internal_value(self, data: Any) -> str:
        value = str(super().to_internal_value(data))
        if not re.fullmatch(self.pattern, value):
            self.fail("invalid")
        self.run_validators(value)  # maxLength applies to the value as sent
        return _normalized(self.normalize, value)


class SiteIdField(_NormalizedField):
    pattern = SITE_ID_INPUT_PATTERN
    max_length_ = 32
    rule = "4–32 characters: letters, digits and underscores."

    def normalize(self, value: str) -> str:
        return validators.normalize_site_id(value)


class NicknameField(_NormalizedField):
    pattern = NICKNAME_INPUT_PATTERN
    max_length_ = 20
    rule = "2–20 letters, digits or underscores."

    def normalize(self, value: str) -> str:
        return validators.normalize_nickname(value)


class PhoneNumberField(_NormalizedField):
    pattern = PHONE_INPUT_PATTERN
    max_length_ = 24
    rule = "9–15 digits, optionally starting with +."

    def normalize(self, value: str) -> str:
        return validators.normalize_phone_number(value)


class SignupInputSerializer(StrictSerializer):
    site_id = SiteIdField()
    nickname = NicknameField()
    phone_number = PhoneNumberField()
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    invite_code = serializers.CharField(max_length=32)
    birth_date = serializers.DateField(help_text="YYYY-MM-DD; players must be at least 18.")


class LoginInputSerializer(StrictSerializer):
    """Exactly one of ``site_id`` and ``nickname`` (the schema's ``oneOf``), and the password."""

    schema_extra = {"oneOf": [{"required": ["site_id"]}, {"required": ["nickname"]}]}

    site_id = serializers.RegexField(SITE_ID_INPUT_PATTERN, max_length=32, required=False)
    nickname = serializers.RegexField(NICKNAME_INPUT_PATTERN, max_length=20, required=False)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("site_id" in attrs) == ("nickname" in attrs):
            raise serializers.ValidationError("Give either site_id or nickname.")
        return attrs


class PasswordChangeInputSerializer(StrictSerializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class RefreshInputSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=2048)


class InviteValidateInputSerializer(StrictSerializer):
    invite_code = serializers.CharField(max_length=32)


class InviteValidateOutputSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    code = serializers.CharField(allow_null=True, help_text="Why the code is not valid.")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class EquippedItemSerializer(serializers.Serializer):
    """An item as players see it: the code is for the API, the name is what pages show."""

    item_code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(allow_null=True)
    kind_name = serializers.CharField(allow_null=True)


class ProfileSerializer(serializers.ModelSerializer):
    """The player's own profile: the one place their private fields are shown."""

    max_experience = serializers.SerializerMethodField()
    rank = serializers.ChoiceField(choices=Rank.choices)
    rank_name = serializers.SerializerMethodField(help_text="The rank in the player's language.")
    gold = serializers.SerializerMethodField()
    birth_date_required = serializers.SerializerMethodField(
        help_text=(
            "True for an account made without a birth date: it cannot play or buy until "
            "POST /api/users/me/birth-date (403 birth_date_required meanwhile)."
        )
    )
    equipped = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "site_id",
            "nickname",
            "phone_number",
            "gold",
            "rank",
            "rank_name",
            "vip_points",
            "level",
            "experience",
            "max_experience",
            "is_staff",
            "date_joined",
            "birth_date_required",
            "equipped",
            "email",
            "email_verified",
            "deletion_scheduled_for",
        ]
        read_only_fields = fields

    def get_birth_date_required(self, user: User) -> bool:
        return user.birth_date is None

    email = serializers.CharField(
        read_only=True, help_text="Your e-mail address; empty when you have given none."
    )
    email_verified = serializers.SerializerMethodField(
        help_text="True once the address was confirmed through the link sent to it."
    )
    deletion_scheduled_for = serializers.SerializerMethodField(
        help_text="When the account will be anonymised (deletion asked for); null otherwise."
    )

    def get_email_verified(self, user: User) -> bool:
        return bool(user.email) and user.email_verified_at is not None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_deletion_scheduled_for(self, user: User) -> Any:
        from .selectors import account_deletion_due_at

        due = account_deletion_due_at(user)
        return None if due is None else serializers.DateTimeField().to_representation(due)

    def get_max_experience(self, user: User) -> int:
        return experience_for_next_level(user.level)

    def get_gold(self, user: User) -> int:
        return wallet_balance(user.pk)

    def get_rank_name(self, user: User) -> str:
        return rank_label(user.rank)

    @extend_schema_field(EquippedItemSerializer(many=True))
    def get_equipped(self, user: User) -> list[dict[str, Any]]:
        return equipped_for_users([user.pk]).get(user.pk, [])


class BirthDateInputSerializer(StrictSerializer):
    birth_date = serializers.DateField(help_text="YYYY-MM-DD; players must be at least 18.")


class ProfileUpdateInputSerializer(StrictSerializer):
    nickname = NicknameField(required=False)
    phone_number = PhoneNumberField(required=False)


class PublicProfileSerializer(serializers.ModelSerializer):
    """Another player as anyone may see them: never phone, site_id or other private fields."""

    equipped = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "nickname", "level", "rank", "date_joined", "equipped"]
        read_only_fields = fields

    @extend_schema_field(EquippedItemSerializer(many=True))
    def get_equipped(self, user: User) -> list[dict[str, Any]]:
        return equipped_for_users([user.pk]).get(user.pk, [])


class PlayerItemSerializer(EquippedItemSerializer):
    quantity = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    is_equipped = serializers.BooleanField()


class PlayerItemsSerializer(serializers.Serializer):
    items = PlayerItemSerializer(many=True)
    equipped = EquippedItemSerializer(many=True)


class ItemEquipInputSerializer(StrictSerializer):
    # only a code of an equippable kind (its prefix names the slot): the schema says which
    item_code = serializers.RegexField(
        rf"^(?:{'|'.join(ITEM_KIND_CHOICES)})_[A-Za-z0-9_\-]+$",
        max_length=64,
        error_messages={"invalid": "An item of a kind that can be equipped: frame_…, emote_…."},
    )


class ItemUnequipInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ITEM_KIND_CHOICES)


class AuthResultSerializer(TokenPairSerializer):
    user = ProfileSerializer()


class GoldAdjustInputSerializer(StrictSerializer):
    amount = StrictIntegerField(min_value=-(10**12), max_value=10**12)
    reason = serializers.RegexField(r"\S", max_length=500, help_text="Not only blanks.")

    def validate_amount(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("Must not be zero.")
        return value


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField(source="wallet_id")
    delta = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    reason = serializers.CharField()
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()


class GoldGrantRequestSerializer(serializers.Serializer):
    """A grant above the staff limit, waiting for a second staff member (202 Accepted)."""

    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    amount = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class PurchaseLimitInputSerializer(StrictSerializer):
    daily_purchase_limit_cents = serializers.IntegerField(
        min_value=0, max_value=100_000_000, allow_null=True
    )


class CoolOffInputSerializer(StrictSerializer):
    duration = serializers.ChoiceField(choices=["24h", "7d"])


class SelfExclusionInputSerializer(StrictSerializer):
    days = serializers.ChoiceField(choices=[30, 180, 365, 1825])


class ResponsiblePlayStatusSerializer(serializers.Serializer):
    daily_purchase_limit_cents = serializers.IntegerField(allow_null=True)
    pending_purchase_limit_cents = serializers.IntegerField(
        allow_null=True, help_text="A raised limit waiting for its cooling-off period."
    )
    pending_limit_effective_at = serializers.DateTimeField(allow_null=True)
    blocked = serializers.BooleanField()
    block_kind = serializers.ChoiceField(choices=BlockKind.choices, allow_null=True)
    blocked_until = serializers.DateTimeField(allow_null=True)
    reality_check_minutes = serializers.IntegerField()


class EmailSetInputSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class EmailVerifyInputSerializer(StrictSerializer):
    token = serializers.CharField(max_length=500)


class EmailStatusSerializer(serializers.Serializer):
    email = serializers.CharField()
    email_verified = serializers.BooleanField()


class PasswordResetInputSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInputSerializer(StrictSerializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=100)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class RefillStatusSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    balance = serializers.IntegerField()
    threshold = serializers.IntegerField(help_text="Claimable while the balance is under this.")
    amount = serializers.IntegerField()
    interval_hours = serializers.IntegerField()
    next_available_at = serializers.DateTimeField(
        allow_null=True, help_text="When the next refill may be claimed; null: now (if under)."
    )


class RefillClaimResultSerializer(serializers.Serializer):
    amount = serializers.IntegerField()
    balance = serializers.IntegerField()
    ledger_entry_id = serializers.IntegerField()
    next_available_at = serializers.DateTimeField()


class RefillClaimInputSerializer(StrictSerializer):
    """No fields: the claim is the player's own; the Idempotency-Key header identifies it."""


class AccountDeletionInputSerializer(StrictSerializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class AccountDeletionStatusSerializer(serializers.Serializer):
    deletion_scheduled_for = serializers.DateTimeField(allow_null=True)
    grace_days = serializers.IntegerField()


class AcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What happens next (the same whatever the input).")
