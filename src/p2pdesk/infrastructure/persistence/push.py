"""Django adapter for ports.mailboxes.PushSubscriptionRepository: one push subscription per mailbox."""

from __future__ import annotations

from collections.abc import Sequence

from p2pdesk.infrastructure.persistence.models import MailboxSubscriptionRecord
from p2pdesk.ports.mailboxes import StoredPushSubscription


def _stored(row: MailboxSubscriptionRecord) -> StoredPushSubscription:
    return StoredPushSubscription(
        mailbox_id=row.mailbox_id,
        provider=row.provider,
        external_id=row.external_id,
        client_state=row.client_state,
        expires_at=row.expires_at,
        renewed_at=row.renewed_at,
        created_at=row.created_at,
    )


class DjangoPushSubscriptionRepository:
    def for_mailbox(self, mailbox_id: int) -> StoredPushSubscription | None:
        row = MailboxSubscriptionRecord.objects.filter(mailbox_id=mailbox_id).first()
        return _stored(row) if row else None

    def by_external_ids(
        self, provider: str, external_ids: Sequence[str]
    ) -> dict[str, StoredPushSubscription]:
        wanted = {i for i in external_ids if len(i) <= 255}
        if not wanted:
            return {}
        rows = MailboxSubscriptionRecord.objects.filter(provider=provider, external_id__in=wanted)
        return {row.external_id: _stored(row) for row in rows}

    def all(self) -> list[StoredPushSubscription]:
        return [_stored(row) for row in MailboxSubscriptionRecord.objects.order_by("mailbox_id")]

    def save(self, subscription: StoredPushSubscription) -> None:
        MailboxSubscriptionRecord.objects.update_or_create(
            mailbox_id=subscription.mailbox_id,
            defaults={
                "provider": subscription.provider,
                "external_id": subscription.external_id,
                "client_state": subscription.client_state,
                "expires_at": subscription.expires_at,
                "renewed_at": subscription.renewed_at,
                "created_at": subscription.created_at,
            },
        )

    def remove(self, mailbox_id: int) -> None:
        MailboxSubscriptionRecord.objects.filter(mailbox_id=mailbox_id).delete()
