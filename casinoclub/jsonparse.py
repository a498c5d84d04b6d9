"""JSON from clients, read with a nesting limit: the one place request JSON is parsed.

Python's ``json`` recurses once per nesting level, so a body like ``[[[[…]]]]`` a few thousand
levels deep raises ``RecursionError`` (an unhandled 500) before any view code runs, and a body just
under the recursion limit can still blow up whatever walks the result. Every JSON reader of client
input goes through here: DRF's parser (``DepthLimitedJSONParser``, in ``DEFAULT_PARSER_CLASSES``),
the payment webhook and the socket consumer (``json_loads_limited``). Anything nested deeper than
``JSON_MAX_DEPTH`` is refused as ``400 invalid_json`` before ``json`` sees it
(docs/decisions/0136-json-nesting-limit.md).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.parsers import JSONParser

from casinoclub.errors import ApplicationError

# A JSON string (escapes included): brackets inside strings do not nest anything. An unterminated
# string runs to the end of the text, so every opening quote is consumed once: linear time, even
# for text made of escaped quotes (a pattern that needs the closing quote rescans from each one).
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class InvalidJSON(ApplicationError):
    code = "invalid_json"
    status_code = status.HTTP_400_BAD_REQUEST
    message = "The JSON body is nested too deeply."


def json_nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (0 for a scalar). Linear in the length.

    Works on malformed JSON too (an unterminated string counts its brackets): the parser refuses
    such text anyway, so over-counting can only refuse what was already invalid.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    if not brackets:
        return 0
    return max(0, max(accumulate(_BRACKET_STEP[ord(char)] for char in brackets)))


def json_depth_check(text: str, *, max_depth: int | None = None) -> None:
    """Raise ``InvalidJSON`` when ``text`` nests deeper than ``max_depth`` (default: setting)."""
    limit = settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    if json_nesting_depth(text) > limit:
        raise InvalidJSON(details={"max_depth": limit})


def json_loads_limited(data: str | bytes | bytearray) -> Any:
    """``json.loads`` for client input. Raises ``InvalidJSON`` for too deep a nesting and
    ``ValueError`` (as ``json.loads`` does) for text that is not JSON."""
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    json_depth_check(text)
    try:
        return json.loads(text)
    except RecursionError as error:  # belt and braces: a lower recursion limit than expected
        raise InvalidJSON() from error


class DepthLimitedJSONParser(JSONParser):
    """DRF's ``JSONParser`` (same errors for malformed JSON) with the nesting limit."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            text = None  # DRF's parser reports the decoding error in its own words
        if text is not None:
            json_depth_check(text)
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError as error:
            raise InvalidJSON() from error
