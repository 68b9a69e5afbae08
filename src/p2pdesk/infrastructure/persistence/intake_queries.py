"""Read side of intake: a ticket's thread, attachments for download, the quarantine list."""

from __future__ import annotations

import uuid

from p2pdesk.infrastructure.persistence.models import (
    AttachmentRecord,
    MailboxRecord,
    QuarantineRecord,
    TicketMessageRecord,
    TicketRecord,
)
from p2pdesk.infrastructure.persistence.queries import int_cursor, page
from p2pdesk.ports.queries import AttachmentView, MailboxView, MessageView, Page, QuarantineView, Scope


def _attachment(row: AttachmentRecord, ticket_id: uuid.UUID) -> AttachmentView:
    return AttachmentView(
        id=row.id,
        ticket_id=ticket_id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        storage_key=row.storage_key or None,
        inline=row.inline,
        skipped_reason=row.skipped_reason or None,
    )


def _mailbox(row: MailboxRecord) -> MailboxView:
    return MailboxView(
        id=row.id,
        name=row.name,
        kind=row.kind,
        address=row.address,
        settings=dict(row.settings),
        default_team=row.default_team_id,
        enabled=row.enabled,
        acknowledge=row.acknowledge,
        poll_interval_seconds=row.poll_interval_seconds,
        has_secret=bool(row.secret_encrypted),
        last_polled_at=row.last_polled_at,
        last_error=row.last_error,
        healthy=not row.last_error,
    )


class DjangoIntakeQueries:
    def mailboxes(self) -> list[MailboxView]:
        return [_mailbox(row) for row in MailboxRecord.objects.order_by("name")]

    def mailbox(self, mailbox_id: int) -> MailboxView | None:
        row = MailboxRecord.objects.filter(id=mailbox_id).first()
        return _mailbox(row) if row else None

    def thread(self, ticket_id: uuid.UUID, *, scope: Scope) -> list[MessageView] | None:
        tickets = TicketRecord.objects.filter(id=ticket_id)
        if scope.team_ids is not None:
            tickets = tickets.filter(team_id__in=scope.team_ids)
        if not tickets.exists():
            return None
        rows = (
            TicketMessageRecord.objects.filter(ticket_id=ticket_id)
            .order_by("created_at", "id")
            .prefetch_related("attachments")
        )
        return [
            MessageView(
                id=row.id,
                direction=row.direction,
                from_address=row.from_address,
                to=list(row.to),
                cc=list(row.cc),
                subject=row.subject,
                text=row.text,
                html=row.html or None,
                message_id=row.message_id or None,
                author=row.author,
                created_at=row.created_at,
                attachments=[_attachment(a, ticket_id) for a in row.attachments.all()],
            )
            for row in rows
        ]

    def attachment(self, attachment_id: uuid.UUID, *, scope: Scope) -> AttachmentView | None:
        rows = AttachmentRecord.objects.filter(id=attachment_id).select_related("message")
        if scope.team_ids is not None:
            rows = rows.filter(message__ticket__team_id__in=scope.team_ids)
        row = rows.first()
        return _attachment(row, row.message.ticket_id) if row else None

    def quarantine(self, *, cursor: str | None, limit: int, include_resolved: bool) -> Page[QuarantineView]:
        rows = QuarantineRecord.objects.select_related("mailbox")
        if not include_resolved:
            rows = rows.filter(resolved_at__isnull=True)
        after = int_cursor(cursor)
        if after is not None:
            rows = rows.filter(id__lt=after)
        found = list(rows.order_by("-id")[: limit + 1])
        return page(
            found,
            limit,
            lambda r: [r.id],
            lambda r: QuarantineView(
                id=r.id,
                mailbox=r.mailbox.name,
                raw_sha256=r.raw_sha256,
                reason=r.reason,
                attempts=r.attempts,
                resolved_at=r.resolved_at,
                outcome=r.outcome,
                created_at=r.created_at,
                updated_at=r.updated_at,
            ),
        )
