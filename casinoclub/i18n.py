"""Content that staff write in two languages, read in the player's.

Staff-written content (product, package, item, event, mission, achievement and season names and
descriptions) keeps its English text in the original field (``name``) and its Korean text in a
field named after the language (``name_ko``), both edited in Django admin. ``localized`` reads the
one that fits the request's active language (set by ``LocaleMiddleware`` from the language cookie
the pages' switch sets, else the ``Accept-Language`` header), falling back to English when the
translation is blank, so a half-translated catalog never shows an empty name.

Fixed vocabularies (ranks, rarities, statuses) are not content: their labels go through gettext.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation

TRANSLATED_LANGUAGES = tuple(
    code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE
)


def active_language() -> str:
    """The request's language as one of ``settings.LANGUAGES``' codes (``ko-kr`` → ``ko``)."""
    language = (translation.get_language() or settings.LANGUAGE_CODE).lower()
    base = language.split("-", 1)[0]
    return base if base in TRANSLATED_LANGUAGES else settings.LANGUAGE_CODE


def localized(source: Any, field: str, language: str | None = None) -> str:
    """``source.<field>_<language>`` when set, else the English ``source.<field>``.

    ``source`` is a model instance or a mapping (``values()`` rows); ``language`` defaults to the
    active one.
    """
    language = language or active_language()

    def read(name: str) -> str:
        value = source.get(name, "") if isinstance(source, dict) else getattr(source, name, "")
        return str(value or "")

    if language in TRANSLATED_LANGUAGES:
        translated = read(f"{field}_{language}").strip()
        if translated:
            return translated
    return read(field)


def translations(source: Any, field: str) -> dict[str, str]:
    """Every language's text of ``field`` (English filling blanks): for messages built outside a
    request (socket messages from a projection), which the page then picks from."""
    return {
        settings.LANGUAGE_CODE: localized(source, field, settings.LANGUAGE_CODE),
        **{language: localized(source, field, language) for language in TRANSLATED_LANGUAGES},
    }
