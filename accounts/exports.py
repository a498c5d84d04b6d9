"""``Export my data``: the sections of a player's data, registered by the app that holds each.

accounts cannot import the product apps, so each app registers its section in its
``AppConfig.ready`` (``export_section_register("rounds", games.selectors.rounds_for_export)``);
the export asks every registered section for the player's rows. A section function takes the
player and returns JSON-serialisable data about that player only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

ExportSection = Callable[[Any], Any]

_SECTIONS: dict[str, ExportSection] = {}


def export_section_register(name: str, section: ExportSection) -> None:
    """Add (or replace, e.g. on a second ``ready``) the section ``name`` of the export."""
    _SECTIONS[name] = section


def export_section_names() -> list[str]:
    return sorted(_SECTIONS)


def user_data_export(user: Any) -> dict[str, Any]:
    """Every registered section for ``user``, by name (sorted), as plain JSON values."""
    import json

    data = {name: _SECTIONS[name](user) for name in export_section_names()}
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))
