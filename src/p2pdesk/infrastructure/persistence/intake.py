"""Django adapters for the intake ports: mailboxes, inbound log, thread and quarantine."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import F
from django.utils import timezone

from p2pdesk.application.errors import IdempotencyRace
from p2pdesk.domain.messages import AttachmentRef, Direction, TicketMessage
from p2pdesk.infrastructure.persistence import fast_sql
from p2pdesk.infrastructure.persistence.group import (
    current_group,
    held_back,
    insert_by_group_end,
    see_held_back,
)
from p2pdesk.infrastructure.persistence.models import (
    AttachmentRecord,
    InboundMessageRecord,
    MailboxRecord,
    QuarantineRecord,
    TicketMessageRecord,
)
from p2pdesk.infrastructure.persistence.secrets import SecretCipher
from p2pdesk.ports.intake import InboundRecord, MailboxConfig, MailboxDraft, QuarantinedMessage


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def mailbox_config(row: MailboxRecord) -> MailboxConfig:
    return MailboxConfig(
        id=row.id,
        name=row.name,
        kind=row.kind,
        settings=dict(row.settings),
        default_team_id=row.default_team_id,
        enabled=row.enabled,
        acknowledge=row.acknowledge,
        poll_interval_seconds=row.poll_interval_seconds,
        cursor=dict(row.cursor),
        address=row.address,
    )


class DjangoMailboxRepository:
    def __init__(self, cipher: SecretCipher) -> None:
        self._cipher = cipher

    def add(self, draft: MailboxDraft) -> int:
        row = MailboxRecord.objects.create(
            **_draft_fields(draft), secret_encrypted=self._cipher.encrypt(draft.secret or "")
        )
        return row.id

    def draft(self, mailbox_id: int) -> MailboxDraft | None:
        row = MailboxRecord.objects.filter(id=mailbox_id).first()
        if row is None:
            return None
        return MailboxDraft(
            name=row.name,
            kind=row.kind,
            settings=dict(row.settings),
            default_team_id=row.default_team_id,
            address=row.address,
            enabled=row.enabled,
            acknowledge=row.acknowledge,
            poll_interval_seconds=row.poll_interval_seconds,
            has_secret=bool(row.secret_encrypted),
        )

    def update(self, mailbox_id: int, draft: MailboxDraft) -> None:
        fields = _draft_fields(draft)
        if draft.secret is not None:
            fields["secret_encrypted"] = self._cipher.encrypt(draft.secret)
        MailboxRecord.objects.filter(id=mailbox_id).update(**fields)

    def secret(self, mailbox_id: int) -> str | None:
        token = MailboxRecord.objects.filter(id=mailbox_id).values_list("secret_encrypted", flat=True).first()
        return self._cipher.decrypt(token or "")

    def by_name(self, name: str) -> MailboxConfig | None:
        row = MailboxRecord.objects.filter(name=name).first()
        return mailbox_config(row) if row else None

    def get(self, mailbox_id: int) -> MailboxConfig | None:
        row = MailboxRecord.objects.filter(id=mailbox_id).first()
        return mailbox_config(row) if row else None

    def list_enabled(self) -> list[MailboxConfig]:
        return [mailbox_config(row) for row in MailboxRecord.objects.filter(enabled=True).order_by("id")]

    def save_cursor(self, mailbox_id: int, cursor: dict[str, Any]) -> None:
        MailboxRecord.objects.filter(id=mailbox_id).update(cursor=cursor)

    def record_poll(self, mailbox_id: int, *, error: str | None) -> None:
        MailboxRecord.objects.filter(id=mailbox_id).update(
            last_polled_at=timezone.now(), last_error=error or ""
        )


def _draft_fields(draft: MailboxDraft) -> dict[str, Any]:
    return {
        "name": draft.name,
        "kind": draft.kind,
        "settings": draft.settings,
        "default_team_id": draft.default_team_id,
        "address": draft.address,
        "enabled": draft.enabled,
        "acknowledge": draft.acknowledge,
        "poll_interval_seconds": draft.poll_interval_seconds,
    }


class DjangoInboundLog:
    """The once-per-(mailbox, key) log. Plain SQL for the statements every incoming message runs (see
    fast_sql).

    In a commit group (a poll) the rows are held back till the group's end (group.py), and `find`
    only looks among them: a message polled from a mailbox is new but for a re-delivery after a crash
    or a failed acknowledgement, and its row then meets the unique (mailbox, key) index when the group
    writes its rows; the group rolls back and is redone one message at a time, where `find` reads the
    table and reports the duplicate. That spares every polled message a round trip, for a group done
    twice after a crash. (A concurrent worker taking the same message in meets the same index: there
    was a race to lose already.)
    """

    def find(self, mailbox_id: int | None, key: str) -> InboundRecord | None:
        key_sha256 = digest(key)
        for held in held_back(InboundMessageRecord):  # this group's own, not in the table yet
            if held.mailbox_id == mailbox_id and held.key_sha256 == key_sha256:
                row: tuple[Any, ...] | None = (
                    held.mailbox_id,
                    held.message_id,
                    held.raw_sha256,
                    held.raw_key,
                    held.outcome,
                    held.reason,
                    held.ticket_id,
                    held.received_at,
                )
                break
        else:
            if mailbox_id is not None and current_group() is not None:
                return None  # the group's INSERT will tell (above)
            row = fast_sql.fetch_one(
                "SELECT mailbox_id, message_id, raw_sha256, raw_key, outcome, reason, ticket_id, received_at"
                " FROM p2pdesk_inbound_message WHERE mailbox_id = %s AND key_sha256 = %s",
                [mailbox_id, key_sha256],
            )
        if row is None:
            return None
        mailbox, message_id, raw_sha256, raw_key, outcome, reason, ticket_id, received_at = row
        received = fast_sql.aware(received_at)
        assert received is not None
        return InboundRecord(
            mailbox_id=mailbox,
            key=key,
            message_id=message_id or None,
            raw_sha256=raw_sha256,
            raw_key=raw_key or None,
            outcome=outcome,
            reason=reason or None,
            ticket_id=fast_sql.as_uuid(ticket_id),
            received_at=received,
        )

    def add(self, record: InboundRecord) -> None:
        row = InboundMessageRecord(
            mailbox_id=record.mailbox_id,
            key_sha256=digest(record.key),
            message_id=record.message_id or "",
            raw_sha256=record.raw_sha256,
            raw_key=record.raw_key or "",
            outcome=record.outcome,
            reason=record.reason or "",
            ticket_id=record.ticket_id,
            received_at=record.received_at,
        )
        if current_group() is not None:
            # Held back: a row another worker wrote meanwhile fails the group's INSERT, and the group
            # is redone one message at a time, where the race is seen below.
            insert_by_group_end([row])
        # ON CONFLICT rather than catching the error: no savepoint per message.
        elif fast_sql.insert([row], skip_conflicts=True) == 0:
            raise IdempotencyRace(record.key)


class DjangoThreadRepository:
    def add(self, message: TicketMessage) -> None:
        row = TicketMessageRecord(
            id=message.id,
            ticket_id=message.ticket_id,
            direction=message.direction.value,
            message_id=message.message_id or "",
            message_id_sha256=digest(message.message_id) if message.message_id else "",
            in_reply_to=message.in_reply_to or "",
            from_address=message.from_address,
            to=list(message.to),
            cc=list(message.cc),
            subject=message.subject,
            text=message.text,
            html=message.html or "",
            author=message.author,
            created_at=message.created_at,
        )
        insert_by_group_end([row])
        insert_by_group_end(
            [
                AttachmentRecord(
                    message=row,
                    position=position,
                    filename=a.filename[:255],
                    content_type=a.content_type[:255],
                    size=a.size,
                    sha256=a.sha256,
                    storage_key=a.storage_key or "",
                    inline=a.inline,
                    content_id=(a.content_id or "")[:255],
                    skipped_reason=(a.skipped_reason or "")[:255],
                )
                for position, a in enumerate(message.attachments)
            ]
        )

    def ticket_for_message_ids(self, message_ids: Sequence[str]) -> uuid.UUID | None:
        wanted = list(dict.fromkeys(digest(m) for m in message_ids if m))[:500]
        if not wanted:
            return None
        # A reply to a message of this very group: its entry is held back (group.py), not in the table.
        held = {row.message_id_sha256: row.ticket_id for row in held_back(TicketMessageRecord)}
        if wanted[0] in held:  # the id that counts most: nothing in the table can beat it
            return fast_sql.as_uuid(held[wanted[0]])
        marks = ", ".join(["%s"] * len(wanted))
        found = dict(
            fast_sql.fetch_all(
                "SELECT message_id_sha256, ticket_id FROM p2pdesk_ticket_message"  # noqa: S608 (only marks)
                f" WHERE message_id_sha256 IN ({marks})",
                wanted,
            )
        )
        found.update((d, held[d]) for d in wanted if d in held)
        return next((fast_sql.as_uuid(found[d]) for d in wanted if d in found), None)

    def thread(self, ticket_id: uuid.UUID) -> list[TicketMessage]:
        see_held_back(TicketMessageRecord, AttachmentRecord)
        rows = TicketMessageRecord.objects.filter(ticket_id=ticket_id).order_by("created_at", "id")
        return [ticket_message(row) for row in rows.prefetch_related("attachments")]


def ticket_message(row: TicketMessageRecord) -> TicketMessage:
    return TicketMessage(
        id=row.id,
        ticket_id=row.ticket_id,
        direction=Direction(row.direction),
        message_id=row.message_id or None,
        from_address=row.from_address,
        to=tuple(row.to),
        cc=tuple(row.cc),
        subject=row.subject,
        text=row.text,
        html=row.html or None,
        created_at=row.created_at,
        in_reply_to=row.in_reply_to or None,
        author=row.author,
        attachments=tuple(
            AttachmentRef(
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                sha256=a.sha256,
                storage_key=a.storage_key or None,
                inline=a.inline,
                content_id=a.content_id or None,
                skipped_reason=a.skipped_reason or None,
            )
            for a in row.attachments.all()
        ),
    )


class DjangoQuarantineRepository:
    def add(self, *, mailbox_id: int | None, raw_key: str, raw_sha256: str, reason: str, at: datetime) -> int:
        row, created = QuarantineRecord.objects.get_or_create(
            mailbox_id=mailbox_id,
            raw_sha256=raw_sha256,
            defaults={"raw_key": raw_key, "reason": reason, "created_at": at, "updated_at": at},
        )
        if not created:
            QuarantineRecord.objects.filter(id=row.id).update(
                attempts=F("attempts") + 1, reason=reason, updated_at=at, resolved_at=None, outcome=""
            )
        return row.id

    def get(self, quarantine_id: int, *, for_update: bool = False) -> QuarantinedMessage | None:
        rows = QuarantineRecord.objects.filter(id=quarantine_id)
        if for_update:
            rows = rows.select_for_update()
        row = rows.first()
        if row is None:
            return None
        return QuarantinedMessage(
            id=row.id,
            mailbox_id=row.mailbox_id,
            raw_key=row.raw_key,
            raw_sha256=row.raw_sha256,
            reason=row.reason,
            attempts=row.attempts,
            resolved=row.resolved_at is not None,
        )

    def resolve(self, quarantine_id: int, *, outcome: str, at: datetime) -> None:
        QuarantineRecord.objects.filter(id=quarantine_id).update(
            resolved_at=at, outcome=outcome, updated_at=at
        )
