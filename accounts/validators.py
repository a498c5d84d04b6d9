"""Field rules shared by signup, profile edits, admin and imports."""

import re
import unicodedata

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
    if not NICKNAME_PATTERN.fullmatch(value) or len(login_skeleton(value)) < 2:
        raise ValidationError("2–20 letters, digits or underscores.", code="invalid")
    return value


def normalize_phone_number(value: str) -> str:
    value = re.sub(r"[\s\-().]", "", value)
    if not PHONE_PATTERN.fullmatch(value):
        raise ValidationError("9–15 digits, optionally starting with +.", code="invalid")
    return value


# ---------------------------------------------------------------- login-name skeletons
# Two login names that look alike must not belong to two players (docs/decisions/0135): a site_id
# may not look like anyone else's nickname or site_id, nor a nickname. "Look alike" is decided on
# a skeleton in the spirit of Unicode TR39: compatibility-normalised (NFKC: full-width, ligatures,
# mathematical letters), case-folded, accents dropped, and the usual confusables folded to one
# Latin letter. The table is deliberately small: the letters that pass for Latin ones in every
# common font, and the digits 0 and 1.
_CONFUSABLES = str.maketrans(
    {
        # digits and Latin letters that pass for one another
        "0": "o",
        "1": "l",
        "i": "l",
        "ı": "l",  # dotless i
        # Cyrillic (lower case: names are case-folded first, so capitals count too)
        "а": "a",
        "в": "b",  # В
        "е": "e",
        "к": "k",
        "м": "m",  # М
        "н": "h",  # Н
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",  # Т
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "l",
        "ј": "j",
        "һ": "h",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ӏ": "l",
        # Greek
        "α": "a",
        "β": "b",
        "γ": "y",
        "ε": "e",
        "ζ": "z",
        "η": "h",  # Η
        "ι": "l",
        "κ": "k",
        "μ": "m",  # Μ
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ϲ": "c",
        # Armenian
        "օ": "o",
        # invisible Hangul fillers (letters to Python, blank on screen)
        "\u115f": None,
        "\u1160": None,
        "\u3164": None,
        "\uffa0": None,
    }
)
_LETTER_PAIRS = (("rn", "m"), ("vv", "w"))


def login_skeleton(value: str) -> str:
    """The form two look-alike login names share: ``login_skeleton("Аdmin")`` (Cyrillic А) ==
    ``login_skeleton("admin")`` == ``login_skeleton("ADM1N")``. Stable: stored skeletons were
    computed with it (changing it needs a re-backfill of ``LoginName``)."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", value).casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.translate(_CONFUSABLES)
    for pair, letter in _LETTER_PAIRS:
        text = text.replace(pair, letter)
    return unicodedata.normalize("NFC", text)
