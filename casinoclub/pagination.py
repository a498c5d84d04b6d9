"""Page-numbered lists of the API, with their query parsed like every other input.

DRF's ``PageNumberPagination`` quietly falls back to the default size for ``page_size=null`` or
``page_size=0`` and answers 404 for ``page=abc``. Here ``page`` and ``page_size`` go through a
``StrictSerializer`` (``casinoclub.serializers``): a malformed or out-of-range value is 400
``validation_error``; a well-formed page past the last one stays 404 ``not_found``.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from casinoclub.serializers import StrictSerializer, query_validated

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000_000


class PageQuerySerializer(StrictSerializer):
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False)


PAGE_PARAMETERS = [
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        required=False,
        description="From 1; a page past the last one is 404.",
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        required=False,
        description=f"Items per page (default {DEFAULT_PAGE_SIZE}).",
    ),
]


class StrictPageNumberPagination(PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        query = QueryDict(mutable=True)
        for name in ("page", "page_size"):
            if name in request.query_params:
                query.setlist(name, request.query_params.getlist(name))
        query_validated(PageQuerySerializer, query)
        return super().paginate_queryset(queryset, request, view)
