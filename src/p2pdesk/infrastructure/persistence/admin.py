"""Django admin for every model. Audit events are read-only here as in the database."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import HttpRequest
from django.utils import timezone

from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.events import DomainEvent
from p2pdesk.infrastructure.persistence.models import (
    AgentRecord,
    AttachmentRecord,
    AuditEventRecord,
    CalendarRecord,
    IdempotencyKeyRecord,
    InboundMessageRecord,
    MailboxRecord,
    MailboxSubscriptionRecord,
    MembershipRecord,
    QuarantineRecord,
    SlaEscalationRecord,
    SlaPolicyRecord,
    TeamRecord,
    TicketMessageRecord,
    TicketRecord,
    UserRoleRecord,
)
from p2pdesk.infrastructure.persistence.repositories import DjangoAuditLog
from p2pdesk.infrastructure.persistence.sla import calendar_of_row, policy_of_row
from p2pdesk.ports.repositories import AuditEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Teams, agents, tickets, mailboxes and audit change only through the use cases (the API),
    which validate, reassign and audit. The admin shows and searches them; a raw edit here would
    skip reassignment and the audit trail.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = MembershipRecord
    extra = 0
    readonly_fields = ["team", "assigned_on_day", "last_assigned_at", "available"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TeamRecord)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "timezone", "is_active", "deleted_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]


@admin.register(AgentRecord)
class AgentAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "email", "is_active", "assigned_today", "total_assigned", "total_resolved"]
    list_filter = ["is_active", "memberships__team"]
    search_fields = ["name", "email"]
    readonly_fields = [
        "counters_day",
        "assigned_today",
        "resolved_today",
        "total_assigned",
        "total_resolved",
    ]
    inlines = [MembershipInline]


@admin.register(TicketRecord)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["number", "subject", "team", "agent", "status", "priority", "created_at"]
    list_filter = ["status", "priority", "team"]
    search_fields = ["subject", "requester_email", "reference_id"]
    list_select_related = ["team", "agent"]


@admin.register(AuditEventRecord)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "entity_type", "entity_id"]
    list_filter = ["action", "entity_type"]
    search_fields = ["entity_id", "actor"]


@admin.register(IdempotencyKeyRecord)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["scope", "key", "ticket", "created_at"]
    search_fields = ["key"]
    raw_id_fields = ["ticket"]


@admin.register(UserRoleRecord)
class UserRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "role"]
    list_filter = ["role"]


@admin.register(MailboxRecord)
class MailboxAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "address", "default_team", "enabled", "last_polled_at", "healthy"]
    list_filter = ["kind", "enabled"]
    exclude = ["secret_encrypted"]

    @admin.display(boolean=True)
    def healthy(self, obj: MailboxRecord) -> bool:
        return not obj.last_error


@admin.register(InboundMessageRecord)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "mailbox", "outcome", "message_id", "ticket"]
    list_filter = ["outcome", "mailbox"]
    search_fields = ["message_id", "raw_sha256"]


@admin.register(TicketMessageRecord)
class TicketMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "ticket", "direction", "from_address", "subject"]
    list_filter = ["direction"]
    search_fields = ["subject", "from_address", "message_id"]


@admin.register(AttachmentRecord)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["filename", "content_type", "size", "message"]
    search_fields = ["filename", "sha256"]


@admin.register(QuarantineRecord)
class QuarantineAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "mailbox", "reason", "attempts", "resolved_at"]
    list_filter = ["mailbox"]
    search_fields = ["reason", "raw_sha256"]


@admin.register(MailboxSubscriptionRecord)
class MailboxSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["mailbox", "provider", "external_id", "expires_at", "renewed_at"]
    list_filter = ["provider"]
    exclude = ["client_state"]  # a secret: never shown


class DomainCheckedForm(forms.ModelForm):
    """Runs the domain's own validation (calendar hours, policy targets and actions) on save."""

    to_domain: Any = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            candidate = copy.copy(self.instance)
            for name, value in cleaned.items():
                setattr(candidate, name, value)
            try:
                type(self).to_domain(candidate)
            except (InvalidValue, ValueError, TypeError) as error:
                raise forms.ValidationError(str(error)) from error
        return cleaned


class AuditedAdmin(admin.ModelAdmin):
    """SLA settings edited in the admin are audited like those changed through the API."""

    entity_type = ""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = model_to_dict(type(obj).objects.get(pk=obj.pk)) if change else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            after = model_to_dict(obj)
            changed = {k for k in after if after[k] != before.get(k)}
            self._audit(request, obj, "updated" if change else "created", before, after, changed)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = model_to_dict(obj)
        with transaction.atomic():
            self._audit(request, obj, "deleted", before, {}, set(before))
            super().delete_model(request, obj)

    def _audit(
        self,
        request: HttpRequest,
        obj: Any,
        verb: str,
        before: dict[str, Any],
        after: dict[str, Any],
        changed: set[str],
    ) -> None:
        if not changed:
            return
        user = request.user
        event = DomainEvent(
            action=f"{self.entity_type}.{verb}",
            entity_type=self.entity_type,
            entity_id=str(obj.pk),
            before={k: before[k] for k in changed if k in before},
            after={k: after[k] for k in changed if k in after},
        )
        actor = f"admin:{getattr(user, 'email', '') or user.get_username()}"
        DjangoAuditLog().append([AuditEntry(actor=actor, at=timezone.now(), event=event)])


class CalendarForm(DomainCheckedForm):
    to_domain = calendar_of_row

    class Meta:
        model = CalendarRecord
        fields = ["name", "timezone", "working_days", "start_minute", "end_minute", "holidays"]
        help_texts = {
            "working_days": "JSON list of weekday numbers, 0 = Monday ... 6 = Sunday",
            "start_minute": "minutes after midnight the working day opens (540 = 09:00)",
            "end_minute": "minutes after midnight it closes (1020 = 17:00, 1440 = midnight)",
            "holidays": 'JSON list of ISO dates, e.g. ["2026-12-25"]',
        }


@admin.register(CalendarRecord)
class CalendarAdmin(AuditedAdmin):
    form = CalendarForm
    entity_type = "sla_calendar"
    list_display = ["name", "timezone", "start_minute", "end_minute"]
    search_fields = ["name"]


class PolicyForm(DomainCheckedForm):
    to_domain = policy_of_row

    class Meta:
        model = SlaPolicyRecord
        fields = [
            "team",
            "priority",
            "calendar",
            "first_response_minutes",
            "resolution_minutes",
            "at_risk_share",
            "at_risk_actions",
            "breach_actions",
            "is_active",
        ]
        help_texts = {
            "at_risk_actions": 'JSON list of "notify_team_lead", "raise_priority", "reassign"',
            "breach_actions": 'JSON list of "notify_team_lead", "raise_priority", "reassign"',
        }


@admin.register(SlaPolicyRecord)
class SlaPolicyAdmin(AuditedAdmin):
    form = PolicyForm
    entity_type = "sla_policy"
    list_display = [
        "team",
        "priority",
        "calendar",
        "first_response_minutes",
        "resolution_minutes",
        "is_active",
    ]
    list_filter = ["team", "priority", "is_active"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tickets keep counting in a policy: deactivate it instead


@admin.register(SlaEscalationRecord)
class SlaEscalationAdmin(ReadOnlyAdmin):
    list_display = ["at", "ticket", "threshold"]
    list_filter = ["threshold"]
    raw_id_fields = ["ticket"]


from p2pdesk.infrastructure.persistence import routing_admin  # noqa: E402, F401  (registers the routing admin)
