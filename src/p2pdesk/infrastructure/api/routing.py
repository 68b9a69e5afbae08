"""Routing endpoints: rule CRUD for admins, and explain (where would this message go, and why)."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from p2pdesk import bootstrap
from p2pdesk.application.use_cases.explain_routing import ExplainRouting
from p2pdesk.application.use_cases.manage_routing_rules import RuleFields, RuleView, UpdateRule
from p2pdesk.domain.routing_rules import FIELDS, OPS
from p2pdesk.infrastructure.api.auth import HasDeskRole, principal_of
from p2pdesk.infrastructure.api.strict import StrictSerializer


class ConditionSerializer(StrictSerializer):
    field = serializers.ChoiceField(choices=FIELDS)
    op = serializers.ChoiceField(choices=OPS)
    value = serializers.JSONField(
        help_text="a string; a list of strings for contains_any; a boolean for has_attachment"
    )


class ActionsSerializer(StrictSerializer):
    team = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    priority = serializers.IntegerField(min_value=1, max_value=4, required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=20, required=False)


class RuleInput(StrictSerializer):
    name = serializers.CharField(max_length=100)
    position = serializers.IntegerField(min_value=0, required=False)
    enabled = serializers.BooleanField(required=False)
    match = serializers.ChoiceField(choices=["all", "any"], required=False)
    conditions = ConditionSerializer(many=True, allow_empty=False, max_length=50)
    actions = ActionsSerializer()
    stop = serializers.BooleanField(required=False)


class RuleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()
    enabled = serializers.BooleanField()
    match = serializers.CharField()
    conditions = ConditionSerializer(many=True)
    actions = ActionsSerializer()
    stop = serializers.BooleanField()


def _out(view: RuleView) -> dict[str, object]:
    return dict(RuleOutput(asdict(view)).data)


class RoutingRuleListView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=RuleOutput(many=True), description="Every rule in evaluation order (admins).")
    def get(self, request: Request) -> Response:
        views = bootstrap.desk().routing_rules.list(principal_of(request))
        return Response([_out(v) for v in views])

    @extend_schema(request=RuleInput, responses={201: RuleOutput})
    def post(self, request: Request) -> Response:
        body = RuleInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        view = bootstrap.desk().routing_rules.create(
            RuleFields(
                name=data["name"],
                conditions=[dict(c) for c in data["conditions"]],
                actions=dict(data["actions"]),
                position=data.get("position", 0),
                enabled=data.get("enabled", True),
                match=data.get("match", "all"),
                stop=data.get("stop", False),
            ),
            principal_of(request),
        )
        return Response(_out(view), status=status.HTTP_201_CREATED)


class RoutingRuleDetailView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=RuleOutput)
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(_out(bootstrap.desk().routing_rules.get(rule_id, principal_of(request))))

    @extend_schema(request=RuleInput(partial=True), responses=RuleOutput)
    def patch(self, request: Request, rule_id: int) -> Response:
        body = RuleInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        if "conditions" in changes:
            changes["conditions"] = [dict(c) for c in changes["conditions"]]
        if "actions" in changes:
            changes["actions"] = dict(changes["actions"])
        view = bootstrap.desk().routing_rules.update(UpdateRule(rule_id, changes), principal_of(request))
        return Response(_out(view))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, rule_id: int) -> Response:
        bootstrap.desk().routing_rules.delete(rule_id, principal_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExplainInput(StrictSerializer):
    subject = serializers.CharField(max_length=500, allow_blank=True)
    body = serializers.CharField(max_length=100_000, allow_blank=True, default="")
    mailbox = serializers.CharField(max_length=100, required=False, allow_null=True)
    attachments = serializers.ListField(
        child=serializers.CharField(max_length=255), max_length=100, required=False, default=list
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
        return fields


class ReferenceOutput(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()


class ExplainOutput(serializers.Serializer):
    team = serializers.IntegerField()
    team_name = serializers.CharField()
    priority = serializers.IntegerField()
    tags = serializers.ListField(child=serializers.CharField())
    references = ReferenceOutput(many=True)
    decided_by = serializers.CharField(help_text='"rule:<name>", "model:<version>" or "default"')
    confidence = serializers.FloatField(allow_null=True)


class RoutingExplainView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(
        request=ExplainInput,
        responses=ExplainOutput,
        description="Where a message would be routed, and why; creates nothing (admins).",
    )
    def post(self, request: Request) -> Response:
        body = ExplainInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = bootstrap.desk().explain_routing(
            ExplainRouting(
                subject=data["subject"],
                body=data["body"],
                sender=data["from"],
                mailbox=data.get("mailbox"),
                attachments=tuple(data["attachments"]),
            ),
            principal_of(request),
        )
        return Response(ExplainOutput(asdict(result)).data)
