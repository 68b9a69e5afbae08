"""Push notifications from mail providers: each one only queues a poll of its mailbox.

No desk credentials here: Graph notifications prove themselves with their subscription's
clientState, Pub/Sub pushes with an OIDC token; the use cases check both. The answer comes once the
polls are queued (with a broker; without one they have run), never before.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from p2pdesk import bootstrap
from p2pdesk.application.use_cases.push_notifications import GmailPush, GraphNotifications


def _validation_answer(token: str) -> HttpResponse:
    """Graph's handshake: the token, URL-decoded (Django's query parsing does that), as plain text."""
    response = HttpResponse(token, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@extend_schema(exclude=True)  # called by Microsoft Graph, not by API clients; see the README
class GraphHookView(APIView):
    """/hooks/graph/ (change notifications) and /hooks/graph/lifecycle/ (lifecycle events)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> HttpResponse:
        token = request.query_params.get("validationToken")
        if token is None:
            raise MethodNotAllowed("GET")
        return _validation_answer(token)

    def post(self, request: Request) -> HttpResponse:
        token = request.query_params.get("validationToken")
        if token is not None:  # sent while Graph creates a subscription, for both URLs
            return _validation_answer(token)
        result = bootstrap.desk().graph_notifications(GraphNotifications(payload=request.data))
        return Response({"outcomes": result.outcomes}, status=202)


@extend_schema(exclude=True)  # called by Cloud Pub/Sub, not by API clients; see the README
class GmailHookView(APIView):
    """/hooks/gmail/: a Pub/Sub push of a Gmail watch notification."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> HttpResponse:
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        bootstrap.desk().gmail_push(GmailPush(token=bearer, body=request.body))
        return Response(status=204)  # any 2xx acknowledges the message to Pub/Sub
