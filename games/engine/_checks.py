"""Shared checks for configurations read from staff-edited JSON: every failure is a ValueError."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def require_int(value: object, what: str, minimum: int | None = None) -> int:
    """``value`` as an int (bools rejected), at least ``minimum`` if given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {value}")
    return value


def require_mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be an object, got {type(value).__name__}")
    return value


def require_list(value: object, what: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{what} must be a list, got {type(value).__name__}")
    return value


def parse(build: Callable[[], T], what: str) -> T:
    """Run ``build``; a missing key or a wrongly shaped value becomes a ValueError."""
    try:
        return build()
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"malformed {what} configuration: {exc!r}") from exc
