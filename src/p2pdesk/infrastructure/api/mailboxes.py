"""Mailbox configuration for admins; the secret is write-only and never comes back."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from p2pdesk import bootstrap
from p2pdesk.application.errors import NotFound
from p2pdesk.application.use_cases.manage_mailboxes import SaveMailbox, UpdateMailbox
from p2pdesk.infrastructure.api.auth import HasDeskRole, principal_of
from p2pdesk.infrastructure.api.strict import StrictSerializer

KINDS = ["imap", "graph", "gmail", "maildir"]


class MailboxOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=KINDS)
    address = serializers.CharField()
    settings = serializers.DictField()
    default_team = serializers.IntegerField()
    enabled = serializers.BooleanField()
    acknowledge = serializers.BooleanField()
    poll_interval_seconds = serializers.IntegerField()
    has_secret = serializers.BooleanField()
    last_polled_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    healthy = serializers.BooleanField()


class MailboxInput(StrictSerializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=KINDS)
    address = serializers.EmailField(required=False, allow_blank=True)
    settings = serializers.DictField()
    secret = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=False)
    default_team = serializers.IntegerField(min_value=1)
    enabled = serializers.BooleanField(required=False)
    acknowledge = serializers.BooleanField(required=False)
    poll_interval_seconds = serializers.IntegerField(required=False, min_value=10, max_value=86_400)


_FIELD_NAMES = {"default_team": "default_team_id"}


def _command_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {_FIELD_NAMES.get(k, k): v for k, v in data.items()}


def _mailbox(mailbox_id: int) -> Response:
    view = bootstrap.desk().intake_queries.mailbox(mailbox_id)
    if view is None:
        raise NotFound(f"mailbox {mailbox_id} does not exist")
    return Response(MailboxOutput(view).data)


class MailboxListView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=MailboxOutput(many=True))
    def get(self, request: Request) -> Response:
        principal_of(request).require_directory_admin()
        views = bootstrap.desk().intake_queries.mailboxes()
        return Response({"next": None, "previous": None, "results": MailboxOutput(views, many=True).data})

    @extend_schema(request=MailboxInput, responses={201: MailboxOutput})
    def post(self, request: Request) -> Response:
        body = MailboxInput(data=request.data)
        body.is_valid(raise_exception=True)
        mailbox_id = bootstrap.desk().mailboxes.create(
            SaveMailbox(**_command_fields(body.validated_data)), principal_of(request)
        )
        response = _mailbox(mailbox_id)
        response.status_code = status.HTTP_201_CREATED
        return response


class MailboxDetailView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses=MailboxOutput)
    def get(self, request: Request, mailbox_id: int) -> Response:
        principal_of(request).require_directory_admin()
        return _mailbox(mailbox_id)

    @extend_schema(request=MailboxInput(partial=True), responses=MailboxOutput)
    def patch(self, request: Request, mailbox_id: int) -> Response:
        body = MailboxInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        bootstrap.desk().mailboxes.update(
            UpdateMailbox(mailbox_id, _command_fields(body.validated_data)), principal_of(request)
        )
        return _mailbox(mailbox_id)

    @extend_schema(responses={204: None}, description="Disables the mailbox; its intake history stays.")
    def delete(self, request: Request, mailbox_id: int) -> Response:
        bootstrap.desk().mailboxes.delete(mailbox_id, principal_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
