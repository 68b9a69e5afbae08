"""Composition root: the one place that picks adapters and builds the use cases with them.

Entrypoints (API, CLI) call `desk()`; tests build a Desk with fakes through `build_desk`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from p2pdesk.application.principal import Principal, Role
from p2pdesk.application.routing import MailboxDefaultRouter
from p2pdesk.application.use_cases.bulk_update_tickets import BulkUpdateTicketsHandler
from p2pdesk.application.use_cases.create_ticket import CreateTicketHandler
from p2pdesk.application.use_cases.ingest_message import IngestMessageHandler
from p2pdesk.application.use_cases.manage_agents import AgentHandlers
from p2pdesk.application.use_cases.manage_mailboxes import MailboxHandlers
from p2pdesk.application.use_cases.manage_teams import TeamHandlers
from p2pdesk.application.use_cases.poll_mailboxes import PollMailboxesHandler
from p2pdesk.application.use_cases.post_ticket_message import OutboundConfig, PostTicketMessageHandler
from p2pdesk.application.use_cases.push_notifications import (
    HandleGmailPush,
    HandleGraphNotifications,
    RenewPushSubscriptionsHandler,
)
from p2pdesk.application.use_cases.reassign_tickets import ReassignTicketsHandler
from p2pdesk.application.use_cases.retry_quarantined import RetryQuarantinedHandler
from p2pdesk.application.use_cases.update_ticket import UpdateTicketHandler
from p2pdesk.domain.business_day import business_day
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.intake import MailboxConfig
from p2pdesk.ports.mail import FileStore, Mailer, MessageParser
from p2pdesk.ports.mailboxes import (
    MailboxReader,
    MailboxReaders,
    MailboxUnavailable,
    PollLock,
    PollScheduler,
    PushChannel,
    PushChannels,
    PushTokenVerifier,
)
from p2pdesk.ports.queries import AgentQueries, AuditQueries, IntakeQueries, TeamQueries, TicketQueries
from p2pdesk.ports.routing import Router
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class DeskConfig:
    time_zone: str = "UTC"  # the desk's business day for agent counters and new teams


@dataclass(frozen=True)
class Adapters:
    """Everything the use cases and queries are built from; the composition root picks them."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ticket_queries: TicketQueries
    team_queries: TeamQueries
    agent_queries: AgentQueries
    audit_queries: AuditQueries
    intake_queries: IntakeQueries
    parser: MessageParser
    files: FileStore
    router: Router
    readers: MailboxReaders
    poll_lock: PollLock
    mailer: Mailer
    outbound: OutboundConfig
    push_channels: PushChannels
    poll_scheduler: PollScheduler
    push_verifier: PushTokenVerifier


@dataclass(frozen=True)
class Desk:
    create_ticket: CreateTicketHandler
    update_ticket: UpdateTicketHandler
    bulk_update_tickets: BulkUpdateTicketsHandler
    reassign_tickets: ReassignTicketsHandler
    teams: TeamHandlers
    agents: AgentHandlers
    ingest_message: IngestMessageHandler
    post_ticket_message: PostTicketMessageHandler
    mailboxes: MailboxHandlers
    retry_quarantined: RetryQuarantinedHandler
    poll_mailboxes: PollMailboxesHandler
    graph_notifications: HandleGraphNotifications
    gmail_push: HandleGmailPush
    renew_push_subscriptions: RenewPushSubscriptionsHandler
    ticket_queries: TicketQueries
    team_queries: TeamQueries
    agent_queries: AgentQueries
    audit_queries: AuditQueries
    intake_queries: IntakeQueries
    files: FileStore


def build_desk(adapters: Adapters, config: DeskConfig) -> Desk:
    a = adapters
    ingest = IngestMessageHandler(a.uow_factory, a.clock, a.parser, a.files, a.router, a.mailer, a.outbound)
    return Desk(
        create_ticket=CreateTicketHandler(a.uow_factory, a.clock),
        update_ticket=UpdateTicketHandler(a.uow_factory, a.clock),
        bulk_update_tickets=BulkUpdateTicketsHandler(a.uow_factory, a.clock),
        reassign_tickets=ReassignTicketsHandler(a.uow_factory, a.clock),
        teams=TeamHandlers(a.uow_factory, a.clock, default_timezone=config.time_zone),
        agents=AgentHandlers(a.uow_factory, a.clock),
        ingest_message=ingest,
        post_ticket_message=PostTicketMessageHandler(a.uow_factory, a.clock, a.mailer, a.outbound),
        mailboxes=MailboxHandlers(a.uow_factory, a.clock),
        retry_quarantined=RetryQuarantinedHandler(a.uow_factory, a.clock, a.files, ingest),
        poll_mailboxes=PollMailboxesHandler(a.uow_factory, a.readers, a.files, ingest, a.poll_lock),
        graph_notifications=HandleGraphNotifications(a.uow_factory, a.poll_scheduler),
        gmail_push=HandleGmailPush(a.uow_factory, a.poll_scheduler, a.push_verifier),
        renew_push_subscriptions=RenewPushSubscriptionsHandler(a.uow_factory, a.clock, a.push_channels),
        ticket_queries=a.ticket_queries,
        team_queries=a.team_queries,
        agent_queries=a.agent_queries,
        audit_queries=a.audit_queries,
        intake_queries=a.intake_queries,
        files=a.files,
    )


class KindReaders:
    """Picks a mailbox's reader by its kind; each adapter registers a factory here."""

    def __init__(self, factories: dict[str, Callable[[MailboxConfig], MailboxReader]]) -> None:
        self._factories = factories

    def open(self, mailbox: MailboxConfig) -> MailboxReader:
        factory = self._factories.get(mailbox.kind)
        if factory is None:
            raise MailboxUnavailable(f"mailboxes of kind {mailbox.kind!r} cannot be read yet")
        return factory(mailbox)


class KindPushChannels:
    """Opens a mailbox's push channel by its kind; push is off (polling alone) when `enabled` is False."""

    def __init__(self, factories: dict[str, Callable[[MailboxConfig], PushChannel | None]], *, enabled: bool):
        self._factories = factories
        self.enabled = enabled

    def open(self, mailbox: MailboxConfig) -> PushChannel | None:
        factory = self._factories.get(mailbox.kind)
        return factory(mailbox) if self.enabled and factory is not None else None


@cache
def desk() -> Desk:
    """The desk wired to Django persistence; built on first use, never at import time."""
    from django.conf import settings

    from p2pdesk.infrastructure.email.gmail import (
        GmailMailboxReader,
        GmailPushChannel,
        GmailSettings,
        PubSubPushVerifier,
    )
    from p2pdesk.infrastructure.email.graph import (
        GraphMailboxReader,
        GraphPushChannel,
        GraphPushUrls,
        GraphSettings,
    )
    from p2pdesk.infrastructure.email.imap import ImapMailboxReader, ImapSettings
    from p2pdesk.infrastructure.email.maildir import MaildirMailboxReader, MaildirSettings
    from p2pdesk.infrastructure.email.parsing import EmailMessageParser
    from p2pdesk.infrastructure.events.metrics import PrometheusEventPublisher
    from p2pdesk.infrastructure.events.scheduling import CeleryPollScheduler
    from p2pdesk.infrastructure.notifications.mail import DjangoMailer
    from p2pdesk.infrastructure.persistence.intake_queries import DjangoIntakeQueries
    from p2pdesk.infrastructure.persistence.locks import DatabasePollLock
    from p2pdesk.infrastructure.persistence.queries import (
        DjangoAgentQueries,
        DjangoAuditQueries,
        DjangoTeamQueries,
        DjangoTicketQueries,
    )
    from p2pdesk.infrastructure.persistence.secrets import SecretCipher
    from p2pdesk.infrastructure.persistence.unit_of_work import DjangoUnitOfWork
    from p2pdesk.infrastructure.storage.local import LocalFileStore

    config = DeskConfig(time_zone=settings.P2PDESK_TIME_ZONE)
    clock = SystemClock()
    publisher = PrometheusEventPublisher()
    files = LocalFileStore(settings.P2PDESK_FILES_DIR)

    cipher = SecretCipher.from_settings(settings.P2PDESK_ENCRYPTION_KEY, settings.SECRET_KEY)

    def uow_factory() -> UnitOfWork:
        return DjangoUnitOfWork(desk_timezone=config.time_zone, publisher=publisher, cipher=cipher)

    def desk_today() -> date:
        return business_day(config.time_zone, clock.now())

    def maildir(mailbox: MailboxConfig) -> MailboxReader:
        return MaildirMailboxReader(MaildirSettings(path=Path(mailbox.settings["path"])))

    def secret_of(mailbox: MailboxConfig) -> str:
        with uow_factory() as uow:
            secret = uow.mailboxes.secret(mailbox.id)
        if secret is None:
            raise MailboxUnavailable(f"mailbox {mailbox.name!r} has no usable secret; set it again")
        return secret

    def graph(mailbox: MailboxConfig) -> GraphMailboxReader:
        s = mailbox.settings
        return GraphMailboxReader(
            GraphSettings(
                tenant_id=s["tenant_id"],
                client_id=s["client_id"],
                client_secret=secret_of(mailbox),
                user=s["user"],
                folder=s["folder"],
                processed_folder=s.get("processed_folder", "Processed"),
            )
        )

    def gmail(mailbox: MailboxConfig) -> GmailMailboxReader:
        try:
            service_account = json.loads(secret_of(mailbox))
        except ValueError:
            raise MailboxUnavailable(
                f"mailbox {mailbox.name!r}: the secret is not a service-account JSON key"
            ) from None
        s = mailbox.settings
        return GmailMailboxReader(
            GmailSettings(
                user=s["user"],
                label=s.get("label", "INBOX"),
                processed_label=s.get("processed_label", "p2pdesk/processed"),
                service_account_info=service_account,
            )
        )

    # Push (P2PDESK_PUBLIC_URL set): Graph subscriptions notify the hooks under that URL; a Gmail
    # mailbox pushes when its settings name a Pub/Sub `topic`, whose push subscription is set up in
    # Google Cloud to call /hooks/gmail/ with an OIDC token.
    public_url = settings.P2PDESK_PUBLIC_URL.rstrip("/")
    graph_urls = GraphPushUrls(
        notification_url=f"{public_url}/hooks/graph/", lifecycle_url=f"{public_url}/hooks/graph/lifecycle/"
    )

    def graph_push(mailbox: MailboxConfig) -> PushChannel:
        return GraphPushChannel(graph(mailbox), graph_urls)

    def gmail_push(mailbox: MailboxConfig) -> PushChannel | None:
        topic = mailbox.settings.get("topic")
        return GmailPushChannel(gmail(mailbox), topic) if topic else None

    def imap(mailbox: MailboxConfig) -> MailboxReader:
        secret = secret_of(mailbox)
        s = mailbox.settings
        xoauth2 = s.get("auth") == "xoauth2"
        return ImapMailboxReader(
            ImapSettings(
                host=s["host"],
                port=int(s["port"]),
                security=s["security"],
                username=s["username"],
                folder=s["folder"],
                processed_folder=s["processed_folder"],
                password=None if xoauth2 else secret,
                oauth2_token=secret if xoauth2 else None,
            )
        )

    return build_desk(
        Adapters(
            uow_factory=uow_factory,
            clock=clock,
            ticket_queries=DjangoTicketQueries(),
            team_queries=DjangoTeamQueries(),
            agent_queries=DjangoAgentQueries(desk_today),
            audit_queries=DjangoAuditQueries(),
            intake_queries=DjangoIntakeQueries(),
            parser=EmailMessageParser(files, max_attachment_bytes=settings.P2PDESK_MAX_ATTACHMENT_BYTES),
            files=files,
            router=MailboxDefaultRouter(),
            readers=KindReaders({"maildir": maildir, "imap": imap, "graph": graph, "gmail": gmail}),
            poll_lock=DatabasePollLock(),
            mailer=DjangoMailer(),
            outbound=OutboundConfig(
                reply_from=settings.P2PDESK_REPLY_FROM, mail_domain=settings.P2PDESK_MAIL_DOMAIN
            ),
            push_channels=KindPushChannels(
                {"graph": graph_push, "gmail": gmail_push}, enabled=bool(public_url)
            ),
            poll_scheduler=CeleryPollScheduler(),
            push_verifier=PubSubPushVerifier(
                audience=settings.P2PDESK_GMAIL_PUSH_AUDIENCE,
                service_account_email=settings.P2PDESK_GMAIL_PUSH_SERVICE_ACCOUNT,
                certs_url=settings.P2PDESK_GOOGLE_CERTS_URL,
            ),
        ),
        config,
    )


def principal_for(user: object) -> Principal | None:
    from p2pdesk.infrastructure.persistence.accounts import principal_for as lookup

    return lookup(user)  # type: ignore[arg-type]


def issue_api_token(email: str, role: Role) -> str:
    from p2pdesk.infrastructure.persistence.accounts import issue_api_token as issue

    return issue(email, role)


def database_ready() -> tuple[bool, str]:
    from p2pdesk.infrastructure.persistence.health import check_database

    return check_database()


def mailbox_health() -> dict[str, str]:
    """Each enabled mailbox's state ("ok", "never polled" or its last error), for /readyz details."""
    return {
        m.name: (m.last_error or ("ok" if m.last_polled_at else "never polled"))
        for m in desk().intake_queries.mailboxes()
        if m.enabled
    }
