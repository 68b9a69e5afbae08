"""Django admin for every model. Audit events are read-only here as in the database."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from p2pdesk.infrastructure.persistence.models import (
    AgentRecord,
    AttachmentRecord,
    AuditEventRecord,
    IdempotencyKeyRecord,
    InboundMessageRecord,
    MailboxRecord,
    MailboxSubscriptionRecord,
    MembershipRecord,
    QuarantineRecord,
    TeamRecord,
    TicketMessageRecord,
    TicketRecord,
    UserRoleRecord,
)


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
