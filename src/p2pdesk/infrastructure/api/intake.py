"""Mail intake over HTTP: raw RFC 5322 messages in, the quarantine, and a ticket's thread out."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, UnsupportedMediaType
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from p2pdesk import bootstrap
from p2pdesk.application.errors import NotFound, PermissionDenied
from p2pdesk.application.principal import Role
from p2pdesk.application.use_cases.ingest_message import IngestMessage, IngestResult
from p2pdesk.application.use_cases.post_ticket_message import PostTicketMessage
from p2pdesk.application.use_cases.retry_quarantined import RetryQuarantined
from p2pdesk.infrastructure.api.auth import HasDeskRole, principal_of
from p2pdesk.infrastructure.api.paging import PAGING_PARAMETERS, page_params, paged_response, paged_schema
from p2pdesk.infrastructure.api.strict import StrictSerializer

_CHUNK = 64 * 1024
OUTCOMES = ("created", "threaded", "duplicate", "ignored", "quarantined")


class MessageTooLarge(APIException):
    status_code = 413
    default_code = "message_too_large"
    default_detail = "the message is larger than the configured limit"


class RawMessageParser(BaseParser):
    """Reads a message/rfc822 body in chunks, refusing it as soon as it passes the size limit."""

    media_type = "message/rfc822"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> bytes:
        limit = settings.P2PDESK_MAX_MESSAGE_BYTES
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > limit:
            raise MessageTooLarge(f"the message is {declared} bytes; the limit is {limit}")
        if stream is None:
            return b""
        chunks, size = [], 0
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise MessageTooLarge(f"the message is over the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)


IngestOutput = inline_serializer(
    "IngestResult",
    {
        "outcome": serializers.ChoiceField(choices=list(OUTCOMES)),
        "ticket": serializers.UUIDField(allow_null=True),
        "reason": serializers.CharField(allow_null=True),
    },
)

_STATUS = {"created": 201, "quarantined": 202}


def _ingest_response(result: IngestResult) -> Response:
    body = {"outcome": result.outcome, "ticket": result.ticket_id, "reason": result.reason}
    if result.quarantine_id is not None:
        body["quarantine_id"] = result.quarantine_id
    return Response(body, status=_STATUS.get(result.outcome, 200))


class IntakeMessageView(APIView):
    permission_classes = [HasDeskRole]
    parser_classes = [RawMessageParser]

    @extend_schema(
        request={"message/rfc822": OpenApiTypes.BINARY},
        parameters=[OpenApiParameter("mailbox", str, description="mailbox name; 'default' when omitted")],
        responses={201: IngestOutput, 200: IngestOutput, 202: IngestOutput},
        description=(
            "Take in one raw RFC 5322 message, as an MTA pipe or script would. 201 created, 200 threaded, "
            "duplicate or ignored (auto-replies, bounces, lists), 202 quarantined (kept with the reason, "
            "retryable). 4xx only for a wrong request: empty body, wrong content type, too large."
        ),
    )
    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        if principal.role not in (Role.ADMIN, Role.TEAM_LEAD, Role.INTEGRATION):
            raise PermissionDenied("only admins, team leads and integrations post raw mail")
        if request.content_type.split(";")[0].strip().lower() != "message/rfc822":
            raise UnsupportedMediaType(
                request.content_type, "send the message as Content-Type: message/rfc822"
            )
        raw = request.data if isinstance(request.data, bytes) else b""  # DRF gives {} for no body
        mailbox = request.query_params.get("mailbox") or None
        return _ingest_response(bootstrap.desk().ingest_message(IngestMessage(raw=raw, mailbox=mailbox)))


class QuarantineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    mailbox = serializers.CharField()
    raw_sha256 = serializers.CharField()
    reason = serializers.CharField()
    attempts = serializers.IntegerField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class QuarantineListView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(
        parameters=[OpenApiParameter("include_resolved", bool), *PAGING_PARAMETERS],
        responses=paged_schema(QuarantineOutput, "PagedQuarantine"),
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_directory_admin()
        cursor, limit = page_params(request)
        include = request.query_params.get("include_resolved", "").lower() in ("1", "true", "yes")
        queries = bootstrap.desk().intake_queries
        page = queries.quarantine(cursor=cursor, limit=limit, include_resolved=include)
        return paged_response(request, page, lambda rows: QuarantineOutput(rows, many=True).data)


class QuarantineRetryView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(request=None, responses={201: IngestOutput, 200: IngestOutput, 202: IngestOutput})
    def post(self, request: Request, quarantine_id: int) -> Response:
        principal_of(request).require_directory_admin()
        return _ingest_response(bootstrap.desk().retry_quarantined(RetryQuarantined(quarantine_id)))


class AttachmentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    inline = serializers.BooleanField()
    skipped_reason = serializers.CharField(allow_null=True)
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, attachment: Any) -> str | None:
        if attachment.storage_key is None:
            return None
        request = self.context["request"]
        return request.build_absolute_uri(f"/api/v1/attachments/{attachment.id}/download/")


class MessageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    direction = serializers.ChoiceField(choices=["inbound", "outbound", "note"])
    from_address = serializers.CharField()  # served as "from" (a Python keyword)
    to = serializers.ListField(child=serializers.CharField())
    cc = serializers.ListField(child=serializers.CharField())
    subject = serializers.CharField()
    text = serializers.CharField()
    html = serializers.CharField(allow_null=True)
    message_id = serializers.CharField(allow_null=True)
    author = serializers.CharField()
    created_at = serializers.DateTimeField()
    attachments = AttachmentOutput(many=True)

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        data["from"] = data.pop("from_address")
        return data


class PostMessageInput(StrictSerializer):
    body = serializers.CharField(max_length=100_000, trim_whitespace=False)
    internal = serializers.BooleanField(default=False)


class TicketMessagesView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(
        request=PostMessageInput,
        responses={
            201: inline_serializer(
                "PostedMessage",
                {
                    "id": serializers.UUIDField(),
                    "direction": serializers.CharField(),
                    "message_id": serializers.CharField(allow_null=True),
                },
            )
        },
        description=(
            "Reply to the requester by email (`internal` false), threaded with In-Reply-To/References and "
            "sent after the reply is committed, or add an internal note (`internal` true)."
        ),
    )
    def post(self, request: Request, ticket_id: uuid.UUID) -> Response:
        body = PostMessageInput(data=request.data)
        body.is_valid(raise_exception=True)
        posted = bootstrap.desk().post_ticket_message(
            PostTicketMessage(ticket_id, body.validated_data["body"], body.validated_data["internal"]),
            principal_of(request),
        )
        return Response(
            {"id": posted.id, "direction": posted.direction, "message_id": posted.message_id}, status=201
        )

    @extend_schema(responses=MessageOutput(many=True))
    def get(self, request: Request, ticket_id: uuid.UUID) -> Response:
        thread = bootstrap.desk().intake_queries.thread(ticket_id, scope=principal_of(request).scope)
        if thread is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return Response({"results": MessageOutput(thread, many=True, context={"request": request}).data})


class AttachmentDownloadView(APIView):
    permission_classes = [HasDeskRole]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, attachment_id: uuid.UUID) -> FileResponse:
        desk = bootstrap.desk()
        attachment = desk.intake_queries.attachment(attachment_id, scope=principal_of(request).scope)
        if attachment is None or attachment.storage_key is None:
            raise NotFound(f"attachment {attachment_id} does not exist or was not stored")
        response = FileResponse(
            desk.files.open(attachment.storage_key),
            as_attachment=True,
            filename=attachment.filename,
            content_type=attachment.content_type or "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox"
        return response
