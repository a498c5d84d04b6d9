"""The one place that decides how a route parses its input (docs/decisions/0161).

Every input serializer of the API derives from ``StrictSerializer``, so every route parses alike:

- unknown fields are an error, not silently dropped (the schema says
  ``additionalProperties: false``);
- a JSON body value must already have the field's JSON type: a number where a string is
  required, a string where an integer is required or a boolean where a number is required is
  ``validation_error``, never coerced;
- strings are taken exactly as sent (no trimming), so the schema's ``pattern`` and
  ``maxLength`` describe exactly what is accepted;
- query parameters are strings by nature: an integer parameter must be written as an integer
  (``^-?[0-9]{1,18}$``), and a parameter given twice is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

QUERY_INTEGER = re.compile(r"^-?[0-9]{1,18}$")

_STRING_FIELDS = (
    serializers.CharField,
    serializers.DateField,
    serializers.DateTimeField,
    serializers.TimeField,
    serializers.DurationField,
)


def _json_type_error(field: serializers.Field, value: Any) -> str | None:
    """Why ``value`` (from a JSON body) does not have ``field``'s JSON type, or None."""
    if value is None:
        return None  # the field's allow_null decides
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be a boolean."
    if isinstance(field, serializers.ChoiceField):
        choice_types = {type(choice) for choice in field.choices}
        if isinstance(value, bool) or type(value) not in choice_types:
            return "Must be one of the listed values, with their JSON type."
        return None
    if isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "Must be an integer."
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "Must be a number."
    if isinstance(field, _STRING_FIELDS):
        return None if isinstance(value, str) else "Must be a string."
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return None if isinstance(value, list) else "Must be an array."
    if isinstance(field, serializers.DictField | serializers.Serializer):
        return None if isinstance(value, dict) else "Must be an object."
    return None


def _query_values(fields: Mapping[str, serializers.Field], query: QueryDict) -> dict[str, Any]:
    """Query parameters as JSON-typed values: integers parsed strictly, repeats refused."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name in query:
        given = query.getlist(name)
        if len(given) != 1:
            errors[name] = ["Give this parameter once."]
            continue
        value: Any = given[0]
        field = fields.get(name)
        if isinstance(field, serializers.IntegerField):
            if not QUERY_INTEGER.fullmatch(value):
                errors[name] = ["Must be an integer."]
                continue
            value = int(value)
        values[name] = value
    if errors:
        raise serializers.ValidationError(errors)
    return values


# Base of every input serializer (see the module docstring). No docstring of its own: the schema
# would show it as the description of every input that has none.
class StrictSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = super().get_fields()
        for field in fields.values():
            if isinstance(field, serializers.CharField):
                field.trim_whitespace = False
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, QueryDict):
            data = _query_values(self.fields, data)
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
            wrong_types = {
                name: [reason]
                for name, field in self.fields.items()
                if name in data and (reason := _json_type_error(field, data[name])) is not None
            }
            if wrong_types:
                raise serializers.ValidationError(wrong_types)
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: strings, floats and booleans are refused, not coerced."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


def query_validated(serializer_class: type[serializers.Serializer], query: QueryDict) -> Any:
    """A view's query parameters through ``serializer_class`` (a ``StrictSerializer``)."""
    serializer = serializer_class(data=query)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
