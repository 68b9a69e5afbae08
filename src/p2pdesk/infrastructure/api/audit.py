from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from p2pdesk import bootstrap
from p2pdesk.infrastructure.api.auth import HasDeskRole, principal_of
from p2pdesk.infrastructure.api.paging import PAGING_PARAMETERS, page_params, paged_response, paged_schema


class AuditEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    actor = serializers.CharField()
    at = serializers.DateTimeField()
    entity_type = serializers.CharField()
    entity_id = serializers.CharField()
    before = serializers.DictField()
    after = serializers.DictField()


class AuditEventListView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(
        parameters=[
            OpenApiParameter("entity_type", str, enum=["ticket", "agent", "team"]),
            OpenApiParameter("entity_id", str),
            OpenApiParameter("actor", str),
            OpenApiParameter("action", str),
            OpenApiParameter("since", str, description="ISO 8601 date-time, inclusive"),
            *PAGING_PARAMETERS,
        ],
        responses=paged_schema(AuditEventOutput, "PagedAuditEvents"),
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_audit_reader()
        cursor, limit = page_params(request)
        page = bootstrap.desk().audit_queries.list(request.query_params, cursor=cursor, limit=limit)
        return paged_response(request, page, lambda rows: AuditEventOutput(rows, many=True).data)
