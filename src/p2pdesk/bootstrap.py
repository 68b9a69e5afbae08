"""Composition root: the one place that picks adapters and builds the use cases with them.

Entrypoints (API, CLI) call `desk()`; tests build a Desk with fakes through `build_desk`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from p2pdesk.application.principal import Principal, Role
from p2pdesk.application.routing import SmartRouter, classifier_text
from p2pdesk.application.use_cases.bulk_update_tickets import BulkUpdateTicketsHandler
from p2pdesk.application.use_cases.create_ticket import CreateTicketHandler
from p2pdesk.application.use_cases.escalate_sla import EscalateSlaHandler
from p2pdesk.application.use_cases.explain_routing import ExplainRoutingHandler
from p2pdesk.application.use_cases.ingest_message import IngestMessageHandler
from p2pdesk.application.use_cases.load_default_routing import LoadDefaultRoutingHandler
from p2pdesk.application.use_cases.manage_agents import AgentHandlers
from p2pdesk.application.use_cases.manage_mailboxes import MailboxHandlers
from p2pdesk.application.use_cases.manage_routing_rules import RoutingRuleHandlers
from p2pdesk.application.use_cases.manage_sla import SlaSettingsHandlers
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
from p2pdesk.ports.reports import ReportQueries
from p2pdesk.ports.routing import Router, RoutingSetupSource, TeamClassifier
from p2pdesk.ports.unit_of_work import CommitGroup, UnitOfWork, UnitOfWorkFactory


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
    commit_group: CommitGroup = nullcontext  # one transaction per unit of work unless set
    on_routing_change: Callable[[], None] = lambda: None  # drops cached rules after a rule changes


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
    routing_rules: RoutingRuleHandlers
    explain_routing: ExplainRoutingHandler
    load_default_routing: LoadDefaultRoutingHandler
    sla_settings: SlaSettingsHandlers
    escalate_sla: EscalateSlaHandler


def build_desk(adapters: Adapters, config: DeskConfig) -> Desk:
    a = adapters
    ingest = IngestMessageHandler(a.uow_factory, a.clock, a.parser, a.files, a.router, a.mailer, a.outbound)
    teams = TeamHandlers(a.uow_factory, a.clock, default_timezone=config.time_zone)
    rules = RoutingRuleHandlers(a.uow_factory, a.clock, a.on_routing_change)
    return Desk(
        create_ticket=CreateTicketHandler(a.uow_factory, a.clock, a.router),
        update_ticket=UpdateTicketHandler(a.uow_factory, a.clock),
        bulk_update_tickets=BulkUpdateTicketsHandler(a.uow_factory, a.clock),
        reassign_tickets=ReassignTicketsHandler(a.uow_factory, a.clock),
        teams=teams,
        agents=AgentHandlers(a.uow_factory, a.clock),
        ingest_message=ingest,
        post_ticket_message=PostTicketMessageHandler(a.uow_factory, a.clock, a.mailer, a.outbound),
        mailboxes=MailboxHandlers(a.uow_factory, a.clock),
        retry_quarantined=RetryQuarantinedHandler(a.uow_factory, a.clock, a.files, ingest),
        poll_mailboxes=PollMailboxesHandler(
            a.uow_factory, a.readers, a.files, ingest, a.poll_lock, a.commit_group
        ),
        graph_notifications=HandleGraphNotifications(a.uow_factory, a.poll_scheduler),
        gmail_push=HandleGmailPush(a.uow_factory, a.poll_scheduler, a.push_verifier),
        renew_push_subscriptions=RenewPushSubscriptionsHandler(a.uow_factory, a.clock, a.push_channels),
        ticket_queries=a.ticket_queries,
        team_queries=a.team_queries,
        agent_queries=a.agent_queries,
        audit_queries=a.audit_queries,
        intake_queries=a.intake_queries,
        files=a.files,
        routing_rules=rules,
        explain_routing=ExplainRoutingHandler(a.uow_factory, a.router),
        load_default_routing=LoadDefaultRoutingHandler(a.uow_factory, teams, rules),
        sla_settings=SlaSettingsHandlers(a.uow_factory, a.clock),
        escalate_sla=EscalateSlaHandler(a.uow_factory, a.clock, a.mailer, a.outbound),
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
        GMAIL_SCOPE,
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
        graph_token_source,
    )
    from p2pdesk.infrastructure.email.imap import ImapMailboxReader, ImapSettings
    from p2pdesk.infrastructure.email.maildir import MaildirMailboxReader, MaildirSettings
    from p2pdesk.infrastructure.email.oauth import (
        EXCHANGE_IMAP_SCOPE,
        GOOGLE_MAIL_SCOPE,
        GoogleCredentials,
        GoogleTokenSource,
        KeptPerMailbox,
        MicrosoftTokenSource,
        TokenSource,
        delegated_credentials,
    )
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
    from p2pdesk.infrastructure.persistence.unit_of_work import DjangoUnitOfWork, commit_group
    from p2pdesk.infrastructure.storage.local import LocalFileStore

    config = DeskConfig(time_zone=settings.P2PDESK_TIME_ZONE)
    clock = SystemClock()
    publisher = PrometheusEventPublisher()
    files = LocalFileStore(settings.P2PDESK_FILES_DIR)

    cipher = SecretCipher.from_settings(settings.P2PDESK_ENCRYPTION_KEY, settings.SECRET_KEY)
    routing_setup = _routing_setup()

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

    # OAuth credentials live as long as the process, one per mailbox and secret, so a poll reuses
    # the token of the last one and renews it only shortly before it expires (oauth.py).
    kept_graph_tokens: KeptPerMailbox[MicrosoftTokenSource] = KeptPerMailbox()
    kept_gmail_credentials: KeptPerMailbox[GoogleCredentials] = KeptPerMailbox()
    kept_imap_tokens: KeptPerMailbox[TokenSource] = KeptPerMailbox()

    def graph(mailbox: MailboxConfig) -> GraphMailboxReader:
        s = mailbox.settings
        graph_settings = GraphSettings(
            tenant_id=s["tenant_id"],
            client_id=s["client_id"],
            client_secret=secret_of(mailbox),
            user=s["user"],
            folder=s["folder"],
            processed_folder=s.get("processed_folder", "Processed"),
        )
        tokens = kept_graph_tokens.get(
            mailbox.id,
            {"graph": [s["tenant_id"], s["client_id"]], "secret": graph_settings.client_secret},
            lambda: graph_token_source(graph_settings),
        )
        return GraphMailboxReader(graph_settings, tokens=tokens)

    def service_account_key(mailbox: MailboxConfig) -> tuple[str, dict[str, object]]:
        secret = secret_of(mailbox)
        try:
            key = json.loads(secret)
        except ValueError:
            key = None
        if not isinstance(key, dict):
            raise MailboxUnavailable(
                f"mailbox {mailbox.name!r}: the secret is not a service-account JSON key"
            )
        return secret, key

    def gmail(mailbox: MailboxConfig) -> GmailMailboxReader:
        secret, key = service_account_key(mailbox)
        s = mailbox.settings
        credentials = kept_gmail_credentials.get(
            mailbox.id,
            {"gmail": s["user"], "secret": secret},
            lambda: delegated_credentials(key, user=s["user"], scopes=[GMAIL_SCOPE]),
        )
        return GmailMailboxReader(
            GmailSettings(
                user=s["user"],
                label=s.get("label", "INBOX"),
                processed_label=s.get("processed_label", "p2pdesk/processed"),
            ),
            credentials=credentials,
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

    def imap_tokens(mailbox: MailboxConfig) -> TokenSource:
        s = mailbox.settings
        provider = s.get("oauth_provider")
        if provider == "microsoft":
            secret = secret_of(mailbox)
            return kept_imap_tokens.get(
                mailbox.id,
                {"imap": [provider, s["tenant_id"], s["client_id"]], "secret": secret},
                lambda: MicrosoftTokenSource(
                    tenant_id=s["tenant_id"],
                    client_id=s["client_id"],
                    client_secret=secret,
                    scope=EXCHANGE_IMAP_SCOPE,
                ),
            )
        if provider == "google":
            secret, key = service_account_key(mailbox)
            return kept_imap_tokens.get(
                mailbox.id,
                {"imap": [provider, s["username"]], "secret": secret},
                lambda: GoogleTokenSource.from_key(key, user=s["username"], scopes=[GOOGLE_MAIL_SCOPE]),
            )
        # Saved before oauth_provider existed, when the secret was the access token itself.
        raise MailboxUnavailable(
            f"mailbox {mailbox.name!r}: auth xoauth2 needs oauth_provider microsoft or google in its "
            "settings (and the client secret or service-account key as its secret)"
        )

    def imap(mailbox: MailboxConfig) -> MailboxReader:
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
                password=None if xoauth2 else secret_of(mailbox),
                tokens=imap_tokens(mailbox) if xoauth2 else None,
            )
        )

    return build_desk(
        Adapters(
            uow_factory=uow_factory,
            commit_group=commit_group,
            clock=clock,
            ticket_queries=DjangoTicketQueries(),
            team_queries=DjangoTeamQueries(),
            agent_queries=DjangoAgentQueries(desk_today),
            audit_queries=DjangoAuditQueries(),
            intake_queries=DjangoIntakeQueries(),
            parser=EmailMessageParser(files, max_attachment_bytes=settings.P2PDESK_MAX_ATTACHMENT_BYTES),
            files=files,
            router=SmartRouter(
                routing_setup,
                confidence_threshold=settings.P2PDESK_ROUTER_CONFIDENCE,
                model_overrides_rules=settings.P2PDESK_ROUTER_MODEL_OVERRIDES_RULES,
            ),
            on_routing_change=routing_setup.invalidate,
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


def _model_key() -> bytes:
    from django.conf import settings

    return hashlib.sha256(b"p2pdesk-router-model:" + settings.SECRET_KEY.encode()).digest()


def _routing_setup() -> RoutingSetupSource:
    """Built with the desk (one per process); running servers see a new model within its TTL."""
    from django.conf import settings

    from p2pdesk.infrastructure.persistence.routing import DjangoRouterModelStore, DjangoRoutingSetupSource

    def load_classifier(blob: bytes, version: str) -> TeamClassifier:
        # scikit-learn is imported only once there is a model to load: processes start fast.
        from p2pdesk.infrastructure.classifier.text_model import TextClassifier

        return TextClassifier.loads(blob, version)

    return DjangoRoutingSetupSource(
        DjangoRouterModelStore(_model_key()), load_classifier, triage_team=settings.P2PDESK_TRIAGE_TEAM
    )


@dataclass(frozen=True)
class TrainedRouter:
    version: int | None  # None when trained without storing (--dry-run)
    examples: int
    imported: int  # of the examples, those imported from before the desk (now or earlier)
    newly_imported: int  # of those, how many this run's import added
    train_examples: int
    test_examples: int
    classes: int
    accuracy: float
    macro_f1: float


def train_router(
    *,
    test_share: float = 0.2,
    seed: int = 7,
    store: bool = True,
    imported: Sequence[tuple[str, str, str]] = (),
    imported_from: str = "",
) -> TrainedRouter:
    """Train the classifier on the desk's history, evaluate it on a held-out split, then retrain on
    everything and store (and activate) it as the next version. `imported` (subject, body, team
    name: mail from before the desk) is trained on and, when stored, kept for every later training."""
    from p2pdesk.infrastructure.classifier.text_model import TextClassifier, evaluate, split
    from p2pdesk.infrastructure.persistence.routing import (
        DjangoRouterModelStore,
        imported_examples,
        live_team_ids_by_name,
        store_imported_examples,
        training_examples,
    )

    resolved = _imported_examples(imported, live_team_ids_by_name())
    kept = list(dict.fromkeys(imported_examples() + resolved))  # an example imported again counts once
    examples = training_examples() + kept
    texts = [classifier_text(subject, description) for subject, description, _ in examples]
    labels = [label for _, _, label in examples]
    train, test = split(labels, test_share=test_share, seed=seed)
    held_out = TextClassifier.train([texts[i] for i in train], [labels[i] for i in train], seed=seed)
    figures = evaluate(
        [p for p, _ in held_out.predict_many([texts[i] for i in test])], [labels[i] for i in test]
    )
    version, newly_imported = None, 0
    if store:
        final = TextClassifier.train(texts, labels, seed=seed)
        # kept only now that training has worked: a refused training keeps nothing of the import
        if resolved:
            newly_imported = store_imported_examples(resolved, source=imported_from, at=SystemClock().now())
        version = DjangoRouterModelStore(_model_key()).save(
            final.dumps(),
            examples=len(examples),
            metrics={"accuracy": figures.accuracy, "macro_f1": figures.macro_f1, "test_examples": len(test)},
            at=SystemClock().now(),
            activate=True,
        )
    return TrainedRouter(
        version,
        len(examples),
        len(kept),
        newly_imported,
        len(train),
        len(test),
        len(set(labels)),
        figures.accuracy,
        figures.macro_f1,
    )


def _imported_examples(
    imported: Sequence[tuple[str, str, str]], teams: dict[str, list[int]]
) -> list[tuple[str, str, str]]:
    """(subject, body, team id) for each imported message; a name that is no live team, or more
    than one, refuses the lot (a typo would otherwise teach the model a team nobody has)."""
    unknown = sorted({team for _, _, team in imported if len(teams.get(team.casefold(), [])) != 1})
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise ValueError(f"the imported history names teams that are not exactly one live team: {names}")
    return [(subject, body, str(teams[team.casefold()][0])) for subject, body, team in imported]


def principal_for(user: object) -> Principal | None:
    from p2pdesk.infrastructure.persistence.accounts import principal_for as lookup

    return lookup(user)  # type: ignore[arg-type]


def set_login(email: str, role: Role, password: str) -> None:
    from p2pdesk.infrastructure.persistence.accounts import set_login as store

    store(email, role, password)


def issue_api_token(email: str, role: Role) -> str:
    from p2pdesk.infrastructure.persistence.accounts import issue_api_token as issue

    return issue(email, role)


@cache
def sla_metrics() -> Any:
    """A registry holding the SLA gauges (read from the database when scraped)."""
    from prometheus_client import CollectorRegistry

    from p2pdesk.infrastructure.persistence.sla_metrics import SlaMetricsCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SlaMetricsCollector(SystemClock().now))
    return registry


def reports() -> ReportQueries:
    """Aggregates for the web desk's dashboard and team leads' page."""
    from django.conf import settings

    from p2pdesk.infrastructure.persistence.reports import DjangoReportQueries

    return DjangoReportQueries(settings.P2PDESK_TIME_ZONE)


def database_ready() -> tuple[bool, str]:
    from p2pdesk.infrastructure.persistence.health import check_database

    return check_database()


def broker_ready() -> tuple[bool, str]:
    from p2pdesk.infrastructure.events.broker import check_broker

    return check_broker()


def metrics_exposition() -> tuple[bytes, str]:
    """The Prometheus text for a scrape of a web process: every gunicorn worker's metrics (or this
    process's), then the gauges read at scrape time (quarantine size, task queue depth, SLA)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    from p2pdesk.infrastructure.events.broker import queue_depths
    from p2pdesk.infrastructure.events.metrics import DeskStateCollector, process_registry
    from p2pdesk.infrastructure.persistence.health import open_quarantine_size

    state = CollectorRegistry()
    state.register(DeskStateCollector(open_quarantine_size, queue_depths))
    body = generate_latest(process_registry() or REGISTRY) + generate_latest(state)
    return body + generate_latest(sla_metrics()), CONTENT_TYPE_LATEST


def serve_worker_metrics() -> None:
    """Called in a Celery worker's main process: /metrics on P2PDESK_WORKER_METRICS_PORT, if set."""
    from django.conf import settings

    from p2pdesk.infrastructure.events.metrics import serve_metrics

    if settings.P2PDESK_WORKER_METRICS_PORT:
        serve_metrics(settings.P2PDESK_WORKER_METRICS_PORT)


def hold_scheduler_lock() -> None:
    """Called as Celery beat starts: returns once this process is the only scheduler (see
    persistence.locks.SchedulerLock); the lock is held until the process exits."""
    from p2pdesk.infrastructure.persistence.locks import SchedulerLock

    SchedulerLock.hold()


def mailbox_health() -> dict[str, str]:
    """Each enabled mailbox's state ("ok", "never polled" or its last error), for /readyz details."""
    return {
        m.name: (m.last_error or ("ok" if m.last_polled_at else "never polled"))
        for m in desk().intake_queries.mailboxes()
        if m.enabled
    }
