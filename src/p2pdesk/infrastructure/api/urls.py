from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from p2pdesk.infrastructure.api import (
    audit,
    directory,
    health,
    hooks,
    intake,
    mailboxes,
    routing,
    sla,
    tickets,
)

urlpatterns = [
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", health.metrics),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/teams/", directory.TeamListView.as_view()),
    path("api/v1/teams/<int:team_id>/", directory.TeamDetailView.as_view()),
    path("api/v1/agents/", directory.AgentListView.as_view()),
    path("api/v1/agents/<int:agent_id>/", directory.AgentDetailView.as_view()),
    path("api/v1/tickets/", tickets.TicketListView.as_view()),
    path("api/v1/tickets/bulk-update/", tickets.TicketBulkUpdateView.as_view()),
    path("api/v1/tickets/reassign/", tickets.TicketReassignView.as_view()),
    path("api/v1/tickets/<uuid:ticket_id>/", tickets.TicketDetailView.as_view()),
    path("api/v1/tickets/<uuid:ticket_id>/messages/", intake.TicketMessagesView.as_view()),
    path("api/v1/attachments/<uuid:attachment_id>/download/", intake.AttachmentDownloadView.as_view()),
    path("api/v1/mailboxes/", mailboxes.MailboxListView.as_view()),
    path("api/v1/mailboxes/<int:mailbox_id>/", mailboxes.MailboxDetailView.as_view()),
    path("api/v1/intake/messages/", intake.IntakeMessageView.as_view()),
    path("api/v1/intake/quarantine/", intake.QuarantineListView.as_view()),
    path("api/v1/intake/quarantine/<int:quarantine_id>/retry/", intake.QuarantineRetryView.as_view()),
    path("api/v1/audit-events/", audit.AuditEventListView.as_view()),
    path("api/v1/routing-rules/", routing.RoutingRuleListView.as_view()),
    path("api/v1/routing-rules/<int:rule_id>/", routing.RoutingRuleDetailView.as_view()),
    path("api/v1/routing/explain/", routing.RoutingExplainView.as_view()),
    path("api/v1/calendars/", sla.CalendarListView.as_view()),
    path("api/v1/calendars/<int:calendar_id>/", sla.CalendarDetailView.as_view()),
    path("api/v1/sla-policies/", sla.PolicyListView.as_view()),
    path("api/v1/sla-policies/<int:policy_id>/", sla.PolicyDetailView.as_view()),
    # Push from mail providers (no desk credentials: each proves itself, see hooks.py).
    path("hooks/graph/", hooks.GraphHookView.as_view()),
    path("hooks/graph/lifecycle/", hooks.GraphHookView.as_view()),
    path("hooks/gmail/", hooks.GmailHookView.as_view()),
]
