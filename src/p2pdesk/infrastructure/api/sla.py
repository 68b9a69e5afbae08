"""Business calendars and SLA policies: admins manage all, team leads their own teams' policies."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from p2pdesk import bootstrap
from p2pdesk.application.use_cases.manage_sla import (
    SaveCalendar,
    SavePolicy,
    calendar_fields,
    policy_fields,
)
from p2pdesk.domain.calendars import BusinessCalendar
from p2pdesk.domain.sla import EscalationAction, SlaPolicy
from p2pdesk.infrastructure.api.auth import HasDeskRole, principal_of
from p2pdesk.infrastructure.api.strict import StrictSerializer

ACTIONS = [a.value for a in EscalationAction]
CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


class CalendarOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    working_days = serializers.ListField(
        child=serializers.IntegerField(), help_text="0 = Monday ... 6 = Sunday"
    )
    start = serializers.CharField(help_text="HH:MM, local time")
    end = serializers.CharField(help_text="HH:MM, local time; 24:00 is midnight")
    holidays = serializers.ListField(child=serializers.DateField())


class CalendarInput(StrictSerializer):
    name = serializers.CharField(max_length=100)
    timezone = serializers.CharField(max_length=64)
    working_days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), allow_empty=False, max_length=7
    )
    start = serializers.RegexField(CLOCK)
    end = serializers.RegexField(CLOCK)
    holidays = serializers.ListField(child=serializers.DateField(), required=False, max_length=1000)


class PolicyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.IntegerField()
    priority = serializers.IntegerField()
    calendar = serializers.IntegerField()
    first_response_minutes = serializers.IntegerField()
    resolution_minutes = serializers.IntegerField()
    at_risk_share = serializers.FloatField()
    at_risk_actions = serializers.ListField(child=serializers.ChoiceField(choices=ACTIONS))
    breach_actions = serializers.ListField(child=serializers.ChoiceField(choices=ACTIONS))
    is_active = serializers.BooleanField()


class PolicyInput(StrictSerializer):
    team = serializers.IntegerField(min_value=1)
    priority = serializers.IntegerField(min_value=1, max_value=4)
    calendar = serializers.IntegerField(min_value=1)
    first_response_minutes = serializers.IntegerField(min_value=1)
    resolution_minutes = serializers.IntegerField(min_value=1)
    at_risk_share = serializers.FloatField(required=False, min_value=0.01, max_value=0.99)
    at_risk_actions = serializers.ListField(child=serializers.ChoiceField(choices=ACTIONS), required=False)
    breach_actions = serializers.ListField(child=serializers.ChoiceField(choices=ACTIONS), required=False)
    is_active = serializers.BooleanField(required=False)


_POLICY_FIELDS = {"team": "team_id", "calendar": "calendar_id"}


def _policy_command_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {_POLICY_FIELDS.get(k, k): v for k, v in data.items()}


def _calendar_out(calendar: BusinessCalendar) -> dict[str, Any]:
    return {"id": calendar.id, **calendar_fields(calendar)}


def _policy_out(policy: SlaPolicy) -> dict[str, Any]:
    return {"id": policy.id, **policy_fields(policy)}


class CalendarListView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=CalendarOutput(many=True))
    def get(self, request: Request) -> Response:
        calendars = bootstrap.desk().sla_settings.calendars(principal_of(request))
        results = CalendarOutput([_calendar_out(c) for c in calendars], many=True).data
        return Response({"next": None, "previous": None, "results": results})

    @extend_schema(request=CalendarInput, responses={201: CalendarOutput})
    def post(self, request: Request) -> Response:
        body = CalendarInput(data=request.data)
        body.is_valid(raise_exception=True)
        settings = bootstrap.desk().sla_settings
        principal = principal_of(request)
        calendar_id = settings.create_calendar(SaveCalendar(**body.validated_data), principal)
        calendar = settings.calendar(calendar_id, principal)
        return Response(CalendarOutput(_calendar_out(calendar)).data, status=status.HTTP_201_CREATED)


class CalendarDetailView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=CalendarOutput)
    def get(self, request: Request, calendar_id: int) -> Response:
        calendar = bootstrap.desk().sla_settings.calendar(calendar_id, principal_of(request))
        return Response(CalendarOutput(_calendar_out(calendar)).data)

    @extend_schema(request=CalendarInput(partial=True), responses=CalendarOutput)
    def patch(self, request: Request, calendar_id: int) -> Response:
        body = CalendarInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        settings = bootstrap.desk().sla_settings
        principal = principal_of(request)
        settings.update_calendar(calendar_id, dict(body.validated_data), principal)
        return Response(CalendarOutput(_calendar_out(settings.calendar(calendar_id, principal))).data)

    @extend_schema(responses={204: None}, description="Refused (409) while an SLA policy uses the calendar.")
    def delete(self, request: Request, calendar_id: int) -> Response:
        bootstrap.desk().sla_settings.delete_calendar(calendar_id, principal_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PolicyListView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=PolicyOutput(many=True), description="Team leads see their teams' policies.")
    def get(self, request: Request) -> Response:
        policies = bootstrap.desk().sla_settings.policies(principal_of(request))
        results = PolicyOutput([_policy_out(p) for p in policies], many=True).data
        return Response({"next": None, "previous": None, "results": results})

    @extend_schema(request=PolicyInput, responses={201: PolicyOutput})
    def post(self, request: Request) -> Response:
        body = PolicyInput(data=request.data)
        body.is_valid(raise_exception=True)
        settings = bootstrap.desk().sla_settings
        principal = principal_of(request)
        policy_id = settings.create_policy(
            SavePolicy(**_policy_command_fields(body.validated_data)), principal
        )
        policy = settings.policy(policy_id, principal)
        return Response(PolicyOutput(_policy_out(policy)).data, status=status.HTTP_201_CREATED)


class PolicyDetailView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=PolicyOutput)
    def get(self, request: Request, policy_id: int) -> Response:
        policy = bootstrap.desk().sla_settings.policy(policy_id, principal_of(request))
        return Response(PolicyOutput(_policy_out(policy)).data)

    @extend_schema(request=PolicyInput(partial=True), responses=PolicyOutput)
    def patch(self, request: Request, policy_id: int) -> Response:
        body = PolicyInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        settings = bootstrap.desk().sla_settings
        principal = principal_of(request)
        settings.update_policy(policy_id, _policy_command_fields(dict(body.validated_data)), principal)
        return Response(PolicyOutput(_policy_out(settings.policy(policy_id, principal))).data)

    @extend_schema(
        responses={204: None},
        description="Deactivates the policy: new tickets get no SLA from it; open tickets keep their clocks.",
    )
    def delete(self, request: Request, policy_id: int) -> Response:
        bootstrap.desk().sla_settings.deactivate_policy(policy_id, principal_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
