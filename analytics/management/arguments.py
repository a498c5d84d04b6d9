"""Command-line arguments the analytics commands share."""

from __future__ import annotations

import argparse
from datetime import date


def iso_day(value: str) -> date:
    """An argparse ``type``: a day as YYYY-MM-DD (a bad one is a usage error naming the option)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
