"""Ticket endpoints: thin views that parse input, call one use case and serialize the result."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from p2pdesk import bootstrap
from p2pdesk.application.errors import NotFound
from p2pdesk.application.use_cases.bulk_update_tickets import MAX_BULK_IDS, BulkUpdateTickets
from p2pdesk.application.use_cases.create_ticket import CreateTicket
from p2pdesk.application.use_cases.reassign_tickets import ReassignTickets
from p2pdesk.application.use_cases.update_ticket import UNSET, TicketChanges, UpdateTicket
from p2pdesk.domain.sla import SlaState
from p2pdesk.infrastructure.api.auth import HasDeskRole, principal_of
from p2pdesk.infrastructure.api.paging import PAGING_PARAMETERS, page_params, paged_response, paged_schema
from p2pdesk.infrastructure.api.strict import FieldsOnceMixin, StrictSerializer
from p2pdesk.ports.queries import Scope, TicketView

STATUSES = ["new", "open", "pending", "resolved", "closed"]
SLA_STATES = [state.value for state in SlaState]


class ReferenceSerializer(FieldsOnceMixin, StrictSerializer):
    type = serializers.CharField(max_length=50)
    id = serializers.CharField(max_length=200)


class FoundReferenceSerializer(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()


class RoutingOutput(serializers.Serializer):
    decided_by = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())


class TicketOutput(FieldsOnceMixin, serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.CharField()
    subject = serializers.CharField()
    description = serializers.CharField()
    team = serializers.IntegerField()
    agent = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=STATUSES)
    priority = serializers.IntegerField()
    requester_email = serializers.CharField()
    source = serializers.CharField()
    reference = ReferenceSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    references = FoundReferenceSerializer(many=True, help_text="references routing found in the message")
    routing = RoutingOutput(allow_null=True, help_text="how routing chose the team; null when one was given")
    sla_state = serializers.ChoiceField(
        choices=SLA_STATES, allow_null=True, help_text="null without SLA policy"
    )
    first_response_due = serializers.DateTimeField(allow_null=True)
    resolution_due = serializers.DateTimeField(allow_null=True)
    first_responded_at = serializers.DateTimeField(allow_null=True)


class TicketCreateInput(FieldsOnceMixin, StrictSerializer):
    subject = serializers.CharField(max_length=500)
    description = serializers.CharField(allow_blank=True, default="", max_length=100_000)
    team = serializers.IntegerField(
        min_value=1, required=False, help_text="routed by the rules and classifier when omitted"
    )
    priority = serializers.IntegerField(min_value=1, max_value=4, default=3)
    requester_email = serializers.EmailField(max_length=254)
    reference = ReferenceSerializer(required=False, allow_null=True)
    agent = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class TicketChangesInput(StrictSerializer):
    status = serializers.ChoiceField(choices=STATUSES, required=False)
    priority = serializers.IntegerField(min_value=1, max_value=4, required=False)
    team = serializers.IntegerField(min_value=1, required=False)
    agent = serializers.IntegerField(min_value=1, required=False, allow_null=True)

    def to_changes(self) -> TicketChanges:
        data = self.validated_data
        if not data:
            raise serializers.ValidationError("give at least one of status, priority, team, agent")
        return TicketChanges(
            status=data.get("status", UNSET),
            priority=data.get("priority", UNSET),
            team_id=data.get("team", UNSET),
            agent_id=data.get("agent", UNSET),
        )


TICKET_FILTERS = [
    OpenApiParameter("team", int),
    OpenApiParameter("agent", int),
    OpenApiParameter("unassigned", bool),
    OpenApiParameter("status", str, enum=STATUSES, many=True, explode=True),
    OpenApiParameter("priority", int),
    OpenApiParameter("sla_state", str, enum=SLA_STATES, many=True, explode=True),
    OpenApiParameter("requester_email", str),
    OpenApiParameter("reference_type", str),
    OpenApiParameter("reference_id", str),
    OpenApiParameter("created_after", str, description="ISO 8601 date-time, inclusive"),
    OpenApiParameter("created_before", str, description="ISO 8601 date-time, exclusive"),
    *PAGING_PARAMETERS,
]


def _fingerprint(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _full_view(view: TicketView) -> TicketView:
    """A use case's result with what the read side adds (references, routing)."""
    return bootstrap.desk().ticket_queries.get(view.id, scope=Scope()) or view


class TicketListView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(parameters=TICKET_FILTERS, responses=paged_schema(TicketOutput, "PagedTickets"))
    def get(self, request: Request) -> Response:
        cursor, limit = page_params(request)
        page = bootstrap.desk().ticket_queries.list(
            request.query_params, scope=principal_of(request).scope, cursor=cursor, limit=limit
        )
        return paged_response(request, page, lambda rows: TicketOutput(rows, many=True).data)

    @extend_schema(
        request=TicketCreateInput,
        responses={201: TicketOutput, 200: TicketOutput},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="repeat a create safely: the same key and body returns the same ticket (200)",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        body = TicketCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        reference = data.get("reference") or {}
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 1 <= len(key) <= 255:
            raise serializers.ValidationError({"Idempotency-Key": ["must be 1 to 255 characters"]})
        result = bootstrap.desk().create_ticket(
            CreateTicket(
                subject=data["subject"],
                description=data["description"],
                team_id=data.get("team"),
                requester_email=data["requester_email"],
                priority=data["priority"],
                reference_type=reference.get("type"),
                reference_id=reference.get("id"),
                agent_id=data.get("agent"),
                idempotency_key=key,
                fingerprint=_fingerprint(data),
            ),
            principal_of(request),
        )
        code = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        # A new ticket's view is complete; a replayed one is read back for its references and routing.
        view = _full_view(result.ticket) if result.replayed else result.ticket
        return Response(TicketOutput(view).data, status=code)


class TicketDetailView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=TicketOutput)
    def get(self, request: Request, ticket_id: uuid.UUID) -> Response:
        view = bootstrap.desk().ticket_queries.get(ticket_id, scope=principal_of(request).scope)
        if view is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return Response(TicketOutput(view).data)

    @extend_schema(request=TicketChangesInput, responses=TicketOutput)
    def patch(self, request: Request, ticket_id: uuid.UUID) -> Response:
        body = TicketChangesInput(data=request.data)
        body.is_valid(raise_exception=True)
        view = bootstrap.desk().update_ticket(
            UpdateTicket(ticket_id=ticket_id, changes=body.to_changes()), principal_of(request)
        )
        return Response(TicketOutput(_full_view(view)).data)


class BulkUpdateInput(StrictSerializer):
    ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False)
    set = TicketChangesInput()


class TicketBulkUpdateView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(
        request=BulkUpdateInput,
        responses=inline_serializer(
            "BulkUpdateResult", {"matched": serializers.IntegerField(), "updated": serializers.IntegerField()}
        ),
        description=(
            f"All or nothing: up to {MAX_BULK_IDS} ids; if any ticket cannot take the changes "
            "(unknown id, not visible to you, illegal transition, agent not in team) nothing is changed "
            "and the response lists the failures."
        ),
    )
    def post(self, request: Request) -> Response:
        body = BulkUpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        changes = TicketChangesInput(data=request.data["set"])
        changes.is_valid(raise_exception=True)
        result = bootstrap.desk().bulk_update_tickets(
            BulkUpdateTickets(ticket_ids=body.validated_data["ids"], changes=changes.to_changes()),
            principal_of(request),
        )
        return Response({"matched": result.matched, "updated": result.updated})


class ReassignInput(StrictSerializer):
    agents = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000
    )


class TicketReassignView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(
        request=ReassignInput,
        responses=inline_serializer(
            "ReassignResult",
            {
                "moved": serializers.IntegerField(),
                "unassigned": serializers.IntegerField(),
                "received": serializers.DictField(child=serializers.IntegerField()),
            },
        ),
    )
    def post(self, request: Request) -> Response:
        body = ReassignInput(data=request.data)
        body.is_valid(raise_exception=True)
        result = bootstrap.desk().reassign_tickets(
            ReassignTickets(agent_ids=body.validated_data["agents"]), principal_of(request)
        )
        return Response(
            {
                "moved": result.moved,
                "unassigned": result.unassigned,
                "received": {str(agent): n for agent, n in sorted(result.received.items())},
            }
        )
