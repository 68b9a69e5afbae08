"""Push intake: provider notifications trigger polls; subscriptions are made and renewed on schedule.

A notification carries no mail. It only says "poll this mailbox now", and that poll reads from the
mailbox's stored cursor like any scheduled one, so a forged, replayed or lost notification can at
worst cause or miss one early poll: scheduled polling stays the fallback. A notification is
answered only after the polls it asks for are queued (PollScheduler returns once they are).

- Microsoft Graph: each notification names its subscription and echoes the subscription's secret
  `clientState`, compared in constant time with the stored one. Lifecycle events ask for a renewal
  (`reauthorizationRequired`), a new subscription and a poll (`subscriptionRemoved`) or a poll
  (`missed`).
- Gmail (Cloud Pub/Sub push): the request carries an OIDC token that Pub/Sub signs for its
  service account; the notification names the mailbox address. Pub/Sub redelivers until it gets a
  2xx, which is harmless: a poll is idempotent.
- Renewal (hourly): every enabled mailbox with a push channel gets a subscription, renewed at
  half-life (Graph) or daily (Gmail); subscriptions of mailboxes that lost theirs are stopped.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from p2pdesk.application.errors import PermissionDenied, ValidationFailed
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.domain.events import DomainEvent
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.intake import MailboxConfig
from p2pdesk.ports.mailboxes import (
    InvalidPushToken,
    MailboxUnavailable,
    PollScheduler,
    PushChannel,
    PushChannels,
    PushSubscriptionGone,
    PushTokenVerifier,
    StoredPushSubscription,
)
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

GRAPH = "graph"
GMAIL = "gmail"
# Outcomes of a notification that prove nothing about its sender: it is ignored, and a batch made of
# nothing else is refused (403).
INVALID = frozenset({"malformed", "unknown_subscription", "bad_client_state"})


@dataclass(frozen=True)
class _Policy:
    lifetime: timedelta  # asked of the provider, which may grant less
    renew_every: timedelta  # at most this long between renewals


# Graph allows message subscriptions 10,080 minutes; three days, renewed at half-life, leaves two
# hourly renewal runs a day and a half to succeed. A Gmail watch lasts 7 days and Google asks for a
# new watch call every day.
POLICIES = {
    GRAPH: _Policy(lifetime=timedelta(days=3), renew_every=timedelta(days=1, hours=12)),
    GMAIL: _Policy(lifetime=timedelta(days=7), renew_every=timedelta(days=1)),
}
_DEFAULT_POLICY = _Policy(lifetime=timedelta(days=1), renew_every=timedelta(hours=12))


def _count(uow: UnitOfWork, provider: str, outcomes: Mapping[str, int]) -> None:
    """Counted by the event publisher (Prometheus) once the unit of work commits."""
    if outcomes:
        event = DomainEvent(
            "push.notification", "mailbox", provider, after={"provider": provider, "outcomes": dict(outcomes)}
        )
        uow.publish_after_commit([event])


# -- Microsoft Graph --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphNotifications:
    payload: Any  # the request's JSON body: {"value": [notification, ...]}


@dataclass(frozen=True)
class PushResult:
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome -> notifications
    polls: list[str] = field(default_factory=list)  # mailboxes whose poll was queued
    renewals: list[str] = field(default_factory=list)  # mailboxes whose renewal was queued
    recreations: list[str] = field(default_factory=list)  # mailboxes whose new subscription was queued


def _same_secret(expected: str, given: object) -> bool:
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())  # constant time for equal lengths


class HandleGraphNotifications:
    def __init__(self, uow_factory: UnitOfWorkFactory, scheduler: PollScheduler) -> None:
        self._uow_factory = uow_factory
        self._scheduler = scheduler

    def __call__(self, command: GraphNotifications) -> PushResult:
        items = command.payload.get("value") if isinstance(command.payload, dict) else None
        if not isinstance(items, list):
            raise ValidationFailed("a Graph notification body is an object with a 'value' list")
        outcomes: Counter[str] = Counter()
        polls: dict[str, None] = {}  # ordered sets: one action per mailbox and batch
        renewals: dict[str, None] = {}
        recreations: dict[str, None] = {}

        def work(uow: UnitOfWork) -> None:
            for collected in (outcomes, polls, renewals, recreations):
                collected.clear()  # run_in_transaction may run this again after a transient conflict
            named = [i for i in items if isinstance(i, dict) and _text(i.get("subscriptionId"))]
            ids = [i["subscriptionId"] for i in named]
            known = uow.subscriptions.by_external_ids(GRAPH, ids)
            mailboxes: dict[int, MailboxConfig | None] = {}
            for item in items:
                outcome, mailbox = self._check(uow, item, known, mailboxes)
                if mailbox is not None:
                    event = item.get("lifecycleEvent")
                    if event is None:
                        polls[mailbox] = None
                    elif event == "reauthorizationRequired":
                        renewals[mailbox] = None
                    elif event == "subscriptionRemoved":
                        recreations[mailbox] = None
                    elif event == "missed":
                        polls[mailbox] = None
                    else:
                        outcome = "unknown_lifecycle_event"
                outcomes[outcome] += 1
            _count(uow, GRAPH, outcomes)

        run_in_transaction(self._uow_factory, work)
        if items and all(outcome in INVALID for outcome in outcomes.elements()):
            raise PermissionDenied(
                "no notification in this batch names a known subscription with its clientState",
                details={"outcomes": dict(outcomes)},
            )
        # Queued only after the lookup's transaction: a poll run in process opens its own.
        for mailbox in recreations:
            self._scheduler.schedule_renewal(mailbox, recreate=True)  # then polls
        for mailbox in renewals:
            self._scheduler.schedule_renewal(mailbox)
        for mailbox in polls:
            if mailbox not in recreations:
                self._scheduler.schedule(mailbox)
        return PushResult(
            dict(outcomes),
            [m for m in polls if m not in recreations],
            list(renewals),
            list(recreations),
        )

    @staticmethod
    def _check(
        uow: UnitOfWork,
        item: object,
        known: Mapping[str, StoredPushSubscription],
        mailboxes: dict[int, MailboxConfig | None],
    ) -> tuple[str, str | None]:
        """The item's outcome, and the mailbox to act on when it is valid."""
        if not isinstance(item, dict) or not _text(item.get("subscriptionId")):
            log.warning("push.graph_rejected reason=malformed")
            return "malformed", None
        subscription_id = item["subscriptionId"][:200]
        stored = known.get(item["subscriptionId"])
        if stored is None:
            log.warning("push.graph_rejected reason=unknown_subscription subscription=%s", subscription_id)
            return "unknown_subscription", None
        if not _same_secret(stored.client_state, item.get("clientState")):
            log.warning("push.graph_rejected reason=bad_client_state subscription=%s", subscription_id)
            return "bad_client_state", None
        if stored.mailbox_id not in mailboxes:
            mailboxes[stored.mailbox_id] = uow.mailboxes.get(stored.mailbox_id)
        mailbox = mailboxes[stored.mailbox_id]
        if mailbox is None or not mailbox.enabled or mailbox.kind != GRAPH:
            return "mailbox_disabled", None  # genuine, but nothing to poll until renewal drops it
        return "accepted", mailbox.name


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


# -- Gmail through Cloud Pub/Sub --------------------------------------------------------------------


@dataclass(frozen=True)
class GmailPush:
    token: str | None  # the request's bearer token (an OIDC token Pub/Sub signs)
    body: bytes  # {"message": {"data": base64('{"emailAddress", "historyId"}'), ...}, "subscription"}


class HandleGmailPush:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, scheduler: PollScheduler, verifier: PushTokenVerifier
    ) -> None:
        self._uow_factory = uow_factory
        self._scheduler = scheduler
        self._verifier = verifier

    def __call__(self, command: GmailPush) -> PushResult:
        try:
            if not command.token:
                raise InvalidPushToken("no bearer token")
            self._verifier.verify(command.token)
        except InvalidPushToken as exc:
            log.warning("push.gmail_rejected reason=%s", exc)
            run_in_transaction(self._uow_factory, lambda uow: _count(uow, GMAIL, {"invalid_token": 1}))
            raise PermissionDenied("the push request's token is not valid for this endpoint") from None

        address = _gmail_address(command.body)

        def work(uow: UnitOfWork) -> list[str]:
            if address is None:
                # Authentic but unreadable: acknowledged all the same, since Pub/Sub would only
                # redeliver the same bytes; the scheduled poll still reads the mailbox.
                log.warning("push.gmail_ignored reason=malformed")
                _count(uow, GMAIL, {"malformed": 1})
                return []
            names = [
                m.name
                for m in uow.mailboxes.list_enabled()
                if m.kind == GMAIL and str(m.settings.get("user", "")).lower() == address.lower()
            ]
            if not names:
                log.warning("push.gmail_ignored reason=unknown_mailbox")
            _count(uow, GMAIL, {"accepted" if names else "unknown_mailbox": 1})
            return names

        names = run_in_transaction(self._uow_factory, work)
        # The history id in the notification is not used: the poll reads from the stored cursor.
        for name in names:
            self._scheduler.schedule(name)
        outcome = "malformed" if address is None else ("accepted" if names else "unknown_mailbox")
        return PushResult({outcome: 1}, names)


def _gmail_address(body: bytes) -> str | None:
    try:
        envelope = json.loads(body)
        data = envelope["message"]["data"]
        # Pub/Sub sends standard base64; the Gmail guide says base64url: take either, padded or not.
        raw = base64.b64decode(data.replace("-", "+").replace("_", "/") + "=" * (-len(data) % 4))
        address = json.loads(raw)["emailAddress"]
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        return None
    return address if isinstance(address, str) and "@" in address else None


# -- creating and renewing subscriptions ------------------------------------------------------------


@dataclass(frozen=True)
class RenewPushSubscriptions:
    mailbox: str | None = None  # every enabled mailbox when None (and stale subscriptions are stopped)
    force: bool = False  # renew even before half-life (Graph's reauthorizationRequired)
    recreate: bool = False  # replace the subscription with a new one (Graph's subscriptionRemoved)


@dataclass(frozen=True)
class PushRenewal:
    mailbox: str
    outcome: str  # created, renewed, current, removed, skipped, failed
    expires_at: datetime | None = None
    error: str | None = None


class RenewPushSubscriptionsHandler:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, channels: PushChannels) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._channels = channels

    def __call__(self, command: RenewPushSubscriptions) -> list[PushRenewal]:
        if not self._channels.enabled:
            return []  # push is off: polling alone runs
        with self._uow_factory() as uow:
            if command.mailbox is None:
                mailboxes, stored = uow.mailboxes.list_enabled(), uow.subscriptions.all()
            else:
                named = uow.mailboxes.by_name(command.mailbox)
                if named is None or not named.enabled:
                    return [PushRenewal(command.mailbox, "skipped", error="no such enabled mailbox")]
                mailboxes, stored = [named], []
        results, kept = [], set()
        for mailbox in mailboxes:
            result = self._renew(mailbox, command)
            if result is None:
                if command.mailbox is not None:
                    results.append(PushRenewal(mailbox.name, "skipped", error="this mailbox has no push"))
                continue
            kept.add(mailbox.id)
            results.append(result)
        results += [self._drop(s) for s in stored if s.mailbox_id not in kept]
        return results

    def _renew(self, mailbox: MailboxConfig, command: RenewPushSubscriptions) -> PushRenewal | None:
        try:
            channel = self._channels.open(mailbox)
            if channel is None:
                return None
            try:
                return self._renew_on(channel, mailbox, command)
            finally:
                channel.close()
        except MailboxUnavailable as error:
            log.warning("push.renewal_failed mailbox=%s error=%s", mailbox.name, error)
            return PushRenewal(mailbox.name, "failed", error=str(error))

    def _renew_on(
        self, channel: PushChannel, mailbox: MailboxConfig, command: RenewPushSubscriptions
    ) -> PushRenewal:
        now = self._clock.now()
        policy = POLICIES.get(mailbox.kind, _DEFAULT_POLICY)
        with self._uow_factory() as uow:
            stored = uow.subscriptions.for_mailbox(mailbox.id)
        if stored is not None and stored.provider != mailbox.kind:
            stored = None  # the mailbox changed kind: the old provider's subscription is not ours to renew
        if stored is None:
            return self._create(channel, mailbox, now, policy)
        if command.recreate:
            self._delete_quietly(channel, mailbox.name, stored.external_id)
            return self._create(channel, mailbox, now, policy)
        half_life = min((stored.expires_at - stored.renewed_at) / 2, policy.renew_every)
        if not command.force and now < stored.renewed_at + half_life:
            return PushRenewal(mailbox.name, "current", stored.expires_at)
        try:
            granted = channel.renew(stored.external_id, expires_at=now + policy.lifetime)
        except PushSubscriptionGone:
            return self._create(channel, mailbox, now, policy)
        renewed = replace(
            stored, external_id=granted.external_id, expires_at=granted.expires_at, renewed_at=now
        )
        self._save(renewed)
        return PushRenewal(mailbox.name, "renewed", granted.expires_at)

    def _create(
        self, channel: PushChannel, mailbox: MailboxConfig, now: datetime, policy: _Policy
    ) -> PushRenewal:
        # A new secret for every subscription; 43 URL-safe characters, within Graph's 128.
        client_state = secrets.token_urlsafe(32)
        granted = channel.subscribe(client_state=client_state, expires_at=now + policy.lifetime)
        # Stored right after the provider granted it. Should this fail, the orphan at the provider
        # expires by itself and its notifications are refused as unknown meanwhile.
        self._save(
            StoredPushSubscription(
                mailbox_id=mailbox.id,
                provider=mailbox.kind,
                external_id=granted.external_id,
                client_state=client_state,
                expires_at=granted.expires_at,
                renewed_at=now,
                created_at=now,
            )
        )
        return PushRenewal(mailbox.name, "created", granted.expires_at)

    def _drop(self, stored: StoredPushSubscription) -> PushRenewal:
        """Stop the subscription of a mailbox that is disabled or has no push any more."""
        with self._uow_factory() as uow:
            mailbox = uow.mailboxes.get(stored.mailbox_id)
        name = mailbox.name if mailbox is not None else str(stored.mailbox_id)
        if mailbox is not None and mailbox.kind == stored.provider:
            try:
                channel = self._channels.open(mailbox)
                if channel is not None:
                    try:
                        self._delete_quietly(channel, name, stored.external_id)
                    finally:
                        channel.close()
            except MailboxUnavailable as error:
                # It expires by itself, and its notifications are refused once its record is gone.
                log.warning("push.stop_failed mailbox=%s error=%s", name, error)

        def work(uow: UnitOfWork) -> None:
            uow.subscriptions.remove(stored.mailbox_id)

        run_in_transaction(self._uow_factory, work)
        return PushRenewal(name, "removed")

    @staticmethod
    def _delete_quietly(channel: PushChannel, mailbox: str, external_id: str) -> None:
        try:
            channel.delete(external_id)
        except MailboxUnavailable as error:
            log.warning("push.stop_failed mailbox=%s error=%s", mailbox, error)

    def _save(self, subscription: StoredPushSubscription) -> None:
        def work(uow: UnitOfWork) -> None:
            uow.subscriptions.save(subscription)

        run_in_transaction(self._uow_factory, work)


def renewal_summary(results: Iterable[PushRenewal]) -> dict[str, str]:
    """mailbox -> outcome, for task results and logs."""
    return {r.mailbox: r.outcome if r.error is None else f"{r.outcome}: {r.error}" for r in results}
