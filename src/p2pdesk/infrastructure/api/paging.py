"""Cursor pagination for views over query ports: `{"next", "previous", "results"}`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from p2pdesk.ports.queries import Page

V = TypeVar("V")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

PAGING_PARAMETERS = [
    OpenApiParameter("cursor", str, description="opaque cursor from the previous page's `next`"),
    OpenApiParameter("limit", int, description=f"page size, default {DEFAULT_LIMIT}, at most {MAX_LIMIT}"),
]


class PageQuery(serializers.Serializer):
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=500)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)


def page_params(request: Request) -> tuple[str | None, int]:
    query = PageQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("cursor") or None, query.validated_data["limit"]


def paged_response(request: Request, page: Page[V], serialize: Callable[[list[V]], Any]) -> Response:
    url = request.build_absolute_uri()
    next_url = replace_query_param(url, "cursor", page.next_cursor) if page.next_cursor else None
    return Response({"next": next_url, "previous": None, "results": serialize(page.results)})


def paged_schema(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
