"""Field rules shared by signup, profile edits, admin and imports."""

import re

from django.core.exceptions import ValidationError

SITE_ID_PATTERN = re.compile(r"^[a-z0-9_]{4,32}$")
NICKNAME_PATTERN = re.compile(r"^\w{2,20}$")
PHONE_PATTERN = re.compile(r"^\+?[0-9]{9,15}$")


def normalize_site_id(value: str) -> str:
    value = value.strip().lower()
    if not SITE_ID_PATTERN.fullmatch(value):
        raise ValidationError("4–32 characters: letters, digits and underscores.", code="invalid")
    return value


def normalize_nickname(value: str) -> str:
    value = value.strip()
    if not NICKNAME_PATTERN.fullmatch(value):
        raise ValidationError("2–20 letters, digits or underscores.", code="invalid")
    return value


def normalize_phone_number(value: str) -> str:
    value = re.sub(r"[\s\-().]", "", value)
    if not PHONE_PATTERN.fullmatch(value):
        raise ValidationError("9–15 digits, optionally starting with +.", code="invalid")
    return value
