"""In-memory adapters for the ports, for use-case tests without a database.

A FakeStore holds the committed state; each unit of work works on a deep copy and swaps it in on
commit, so a use case that raises leaves the store exactly as it was (like a rolled-back transaction).
"""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, BinaryIO

from p2pdesk.application.errors import IdempotencyRace
from p2pdesk.application.routing import MailboxDefaultRouter, SmartRouter
from p2pdesk.application.use_cases.post_ticket_message import OutboundConfig
from p2pdesk.bootstrap import Adapters, Desk, DeskConfig, build_desk
from p2pdesk.domain.agents import Agent
from p2pdesk.domain.assignment import AgentLoad
from p2pdesk.domain.business_day import business_day, start_of_business_day
from p2pdesk.domain.calendars import BusinessCalendar
from p2pdesk.domain.events import DomainEvent
from p2pdesk.domain.messages import TicketMessage
from p2pdesk.domain.sla import SlaPolicy, Threshold
from p2pdesk.domain.teams import Team
from p2pdesk.domain.tickets import ACTIVE_STATUSES, Priority, Ticket
from p2pdesk.ports.intake import InboundRecord, MailboxConfig, QuarantinedMessage
from p2pdesk.ports.mail import OutboundEmail, ParsedMessage, StoredFile, UnparseableMessage
from p2pdesk.ports.mailboxes import (
    InvalidPushToken,
    MailboxUnavailable,
    PushSubscription,
    PushSubscriptionGone,
    StoredPushSubscription,
)
from p2pdesk.ports.queries import AgentView, Page, Scope, TeamView, TicketView
from p2pdesk.ports.repositories import ActiveTicketRef, AuditEntry, IdempotencyRecord
from p2pdesk.ports.routing import Router
from tests.fakes.routing import FakeRouting, FakeRoutingSetup, RoutingState


@dataclass
class Membership:
    available: bool = True
    assigned_on_day: int = 0
    last_assigned_at: datetime | None = None


@dataclass
class Counters:
    day: date | None = None
    assigned_today: int = 0
    resolved_today: int = 0
    total_assigned: int = 0
    total_resolved: int = 0


@dataclass
class FakeStore:
    teams: dict[int, Team] = field(default_factory=dict)
    agents: dict[int, Agent] = field(default_factory=dict)
    tickets: dict[uuid.UUID, Ticket] = field(default_factory=dict)
    memberships: dict[tuple[int, int], Membership] = field(default_factory=dict)
    counters: dict[int, Counters] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    idempotency: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    mailboxes: dict[int, MailboxConfig] = field(default_factory=dict)
    inbound: dict[tuple[int | None, str], InboundRecord] = field(default_factory=dict)
    thread: list[TicketMessage] = field(default_factory=list)
    quarantine: dict[int, QuarantinedMessage] = field(default_factory=dict)
    subscriptions: dict[int, StoredPushSubscription] = field(default_factory=dict)
    routing: RoutingState = field(default_factory=RoutingState)
    calendars: dict[int, BusinessCalendar] = field(default_factory=dict)
    policies: dict[int, SlaPolicy] = field(default_factory=dict)
    escalations: dict[tuple[uuid.UUID, Threshold], datetime] = field(default_factory=dict)
    team_leads: dict[int, list[str]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(
        default_factory=lambda: {"team": 1, "agent": 1, "number": 1, "calendar": 1, "policy": 1}
    )

    def take_id(self, kind: str) -> int:
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value


def _copy(entity: Any) -> Any:
    clone = copy.deepcopy(entity)
    clone._events = []
    return clone


class FakeTeams:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def add(self, team: Team) -> None:
        team.id = self.store.take_id("team")
        self.store.teams[team.id] = _copy(team)

    def get(self, team_id: int) -> Team | None:
        team = self.store.teams.get(team_id)
        return _copy(team) if team else None

    def get_many(self, team_ids: Sequence[int]) -> list[Team]:
        return [_copy(self.store.teams[i]) for i in sorted(team_ids) if i in self.store.teams]

    def save(self, team: Team) -> None:
        assert team.id is not None
        self.store.teams[team.id] = _copy(team)

    def live_name_taken(self, name: str, *, exclude_id: int | None = None) -> bool:
        return any(
            t.name.lower() == name.lower() and not t.is_deleted and t.id != exclude_id
            for t in self.store.teams.values()
        )


class FakeAgents:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def add(self, agent: Agent) -> None:
        agent.id = self.store.take_id("agent")
        self.store.agents[agent.id] = _copy(agent)
        self.store.counters[agent.id] = Counters()
        for team_id in agent.team_ids:
            self.store.memberships[(team_id, agent.id)] = Membership(available=agent.is_available)

    def get(self, agent_id: int, *, for_update: bool = False) -> Agent | None:
        agent = self.store.agents.get(agent_id)
        return _copy(agent) if agent else None

    def get_many(self, agent_ids: Sequence[int]) -> list[Agent]:
        return [_copy(self.store.agents[i]) for i in sorted(agent_ids) if i in self.store.agents]

    def save(self, agent: Agent) -> None:
        assert agent.id is not None
        self.store.agents[agent.id] = _copy(agent)
        for key in [k for k in self.store.memberships if k[1] == agent.id and k[0] not in agent.team_ids]:
            del self.store.memberships[key]
        for team_id in agent.team_ids:
            self.store.memberships.setdefault((team_id, agent.id), Membership(available=False))

    def live_email_taken(self, email: str, *, exclude_id: int | None = None) -> bool:
        return any(
            a.email == email and not a.is_deleted and a.id != exclude_id for a in self.store.agents.values()
        )


def _order(ticket: Ticket) -> tuple[int, datetime, str]:
    return (int(ticket.priority), ticket.created_at, str(ticket.id))


class FakeTickets:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def next_number(self) -> int:
        return self.store.take_id("number")

    def add(self, ticket: Ticket) -> None:
        self.store.tickets[ticket.id] = _copy(ticket)

    def get(self, ticket_id: uuid.UUID, *, for_update: bool = False) -> Ticket | None:
        ticket = self.store.tickets.get(ticket_id)
        return _copy(ticket) if ticket else None

    def id_by_number(self, number: int) -> uuid.UUID | None:
        return next((t.id for t in self.store.tickets.values() if t.number == number), None)

    def get_many(self, ticket_ids: Sequence[uuid.UUID], *, for_update: bool = False) -> list[Ticket]:
        return [_copy(self.store.tickets[i]) for i in sorted(ticket_ids) if i in self.store.tickets]

    def save(self, ticket: Ticket) -> None:
        self.store.tickets[ticket.id] = _copy(ticket)

    def save_many(self, tickets: Sequence[Ticket]) -> None:
        for ticket in tickets:
            self.save(ticket)

    def active_of_agents(self, agent_ids: Sequence[int]) -> list[ActiveTicketRef]:
        held = [t for t in self.store.tickets.values() if t.agent_id in agent_ids and t.is_active]
        return [ActiveTicketRef(t.id, t.team_id, t.agent_id) for t in sorted(held, key=_order)]

    def count_opened_by(self, requester_email: str, *, source: str, since: datetime) -> int:
        return sum(
            1
            for t in self.store.tickets.values()
            if t.requester_email == requester_email and t.source.value == source and t.created_at >= since
        )

    def teams_with_active_tickets(self, agent_ids: Sequence[int]) -> set[int]:
        return {t.team_id for t in self.store.tickets.values() if t.agent_id in agent_ids and t.is_active}

    def unassigned_backlog(self, team_id: int) -> list[ActiveTicketRef]:
        backlog = [
            t
            for t in self.store.tickets.values()
            if t.team_id == team_id and t.agent_id is None and t.is_active
        ]
        return [ActiveTicketRef(t.id, t.team_id, None) for t in sorted(backlog, key=_order)]

    def active_ids_in_team(self, team_id: int) -> list[uuid.UUID]:
        return [t.id for t in self.store.tickets.values() if t.team_id == team_id and t.is_active]

    def reassign_bulk(self, changes: Sequence[tuple[uuid.UUID, int | None]], *, at: datetime) -> None:
        for ticket_id, agent_id in changes:
            ticket = self.store.tickets[ticket_id]
            ticket.agent_id = agent_id
            ticket.updated_at = at


class FakeAssignmentPool:
    """The reference pool: considers every member and lets the domain rule choose."""

    def __init__(self, store: FakeStore, desk_timezone: str) -> None:
        self.store = store
        self.desk_timezone = desk_timezone
        self.locked_teams: list[int] = []

    def lock_teams(self, team_ids: Sequence[int]) -> None:
        self.locked_teams.extend(sorted(set(team_ids)))

    def _load(self, agent_id: int, m: Membership, day_start: datetime) -> AgentLoad:
        today = m.last_assigned_at is not None and m.last_assigned_at >= day_start
        return AgentLoad(agent_id, m.assigned_on_day if today else 0, m.last_assigned_at)

    def loads(self, team_id: int, *, day_start: datetime) -> list[AgentLoad]:
        return [
            self._load(a, m, day_start)
            for (t, a), m in sorted(self.store.memberships.items())
            if t == team_id and m.available
        ]

    def best_candidates(self, team_id: int, *, day_start: datetime) -> list[AgentLoad]:
        return self.loads(team_id, day_start=day_start)

    def lock_and_reload(self, team_id: int, agent_id: int, *, day_start: datetime) -> AgentLoad | None:
        m = self.store.memberships.get((team_id, agent_id))
        return self._load(agent_id, m, day_start) if m and m.available else None

    def record_assignments(self, counts: Mapping[int, int], *, at: datetime) -> None:
        day = business_day(self.desk_timezone, at)
        for agent_id, n in counts.items():
            c = self.store.counters[agent_id]
            if c.day != day:
                c.day, c.assigned_today, c.resolved_today = day, 0, 0
            c.assigned_today += n
            c.total_assigned += n
            for (team_id, member), m in self.store.memberships.items():
                if member != agent_id:
                    continue
                start = start_of_business_day(self.store.teams[team_id].timezone, at)
                today = m.last_assigned_at is not None and m.last_assigned_at >= start
                m.assigned_on_day = (m.assigned_on_day if today else 0) + n
                m.last_assigned_at = at

    def record_resolutions(self, counts: Mapping[int, int], *, at: datetime) -> None:
        day = business_day(self.desk_timezone, at)
        for agent_id, n in counts.items():
            c = self.store.counters[agent_id]
            if c.day != day:
                c.day, c.assigned_today, c.resolved_today = day, 0, 0
            c.resolved_today += n
            c.total_resolved += n

    def sync_membership(self, agent: Agent) -> None:
        for (team_id, member), m in self.store.memberships.items():
            if member == agent.id:
                team = self.store.teams[team_id]
                m.available = agent.is_available and team_id in agent.team_ids and not team.is_deleted

    def close_team(self, team_id: int) -> None:
        for (t, _), m in self.store.memberships.items():
            if t == team_id:
                m.available = False


class FakeAudit:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def append(self, entries: Sequence[AuditEntry]) -> None:
        self.store.audit.extend(entries)


class FakeIdempotency:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self.store.idempotency.get((scope, key))

    def add(self, scope: str, key: str, record: IdempotencyRecord) -> None:
        if (scope, key) in self.store.idempotency:
            raise IdempotencyRace(key)
        self.store.idempotency[(scope, key)] = record


class FakeThread:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def add(self, message: TicketMessage) -> None:
        self.store.thread.append(message)

    def ticket_for_message_ids(self, message_ids: Sequence[str]) -> uuid.UUID | None:
        known = {m.message_id: m.ticket_id for m in self.store.thread if m.message_id}
        return next((known[i] for i in message_ids if i in known), None)

    def thread(self, ticket_id: uuid.UUID) -> list[TicketMessage]:
        return [m for m in self.store.thread if m.ticket_id == ticket_id]


class FakeInbound:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def find(self, mailbox_id: int | None, key: str) -> InboundRecord | None:
        return self.store.inbound.get((mailbox_id, key))

    def add(self, record: InboundRecord) -> None:
        if (record.mailbox_id, record.key) in self.store.inbound:
            raise IdempotencyRace(record.key)
        self.store.inbound[(record.mailbox_id, record.key)] = record


class FakeMailboxes:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def by_name(self, name: str) -> MailboxConfig | None:
        return next((m for m in self.store.mailboxes.values() if m.name == name), None)

    def get(self, mailbox_id: int) -> MailboxConfig | None:
        return self.store.mailboxes.get(mailbox_id)

    def list_enabled(self) -> list[MailboxConfig]:
        return [m for m in self.store.mailboxes.values() if m.enabled]

    def save_cursor(self, mailbox_id: int, cursor: dict[str, Any]) -> None:
        self.store.mailboxes[mailbox_id] = replace(self.store.mailboxes[mailbox_id], cursor=cursor)

    def record_poll(self, mailbox_id: int, *, error: str | None) -> None:
        return None


class FakeQuarantine:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def add(self, *, mailbox_id: int | None, raw_key: str, raw_sha256: str, reason: str, at: datetime) -> int:
        for entry in self.store.quarantine.values():
            if (entry.mailbox_id, entry.raw_sha256) == (mailbox_id, raw_sha256):
                self.store.quarantine[entry.id] = replace(
                    entry, attempts=entry.attempts + 1, reason=reason, resolved=False
                )
                return entry.id
        new_id = len(self.store.quarantine) + 1
        self.store.quarantine[new_id] = QuarantinedMessage(
            new_id, mailbox_id, raw_key, raw_sha256, reason, 1, False
        )
        return new_id

    def get(self, quarantine_id: int, *, for_update: bool = False) -> QuarantinedMessage | None:
        return self.store.quarantine.get(quarantine_id)

    def resolve(self, quarantine_id: int, *, outcome: str, at: datetime) -> None:
        self.store.quarantine[quarantine_id] = replace(self.store.quarantine[quarantine_id], resolved=True)


class FakeSubscriptions:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def for_mailbox(self, mailbox_id: int) -> StoredPushSubscription | None:
        return self.store.subscriptions.get(mailbox_id)

    def by_external_ids(
        self, provider: str, external_ids: Sequence[str]
    ) -> dict[str, StoredPushSubscription]:
        return {
            s.external_id: s
            for s in self.store.subscriptions.values()
            if s.provider == provider and s.external_id in external_ids
        }

    def all(self) -> list[StoredPushSubscription]:
        return list(self.store.subscriptions.values())

    def save(self, subscription: StoredPushSubscription) -> None:
        self.store.subscriptions[subscription.mailbox_id] = subscription

    def remove(self, mailbox_id: int) -> None:
        self.store.subscriptions.pop(mailbox_id, None)


class FakeSla:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def calendar(self, calendar_id: int) -> BusinessCalendar | None:
        return self.store.calendars.get(calendar_id)

    def calendars(self) -> list[BusinessCalendar]:
        return [self.store.calendars[i] for i in sorted(self.store.calendars)]

    def calendar_name_taken(self, name: str, *, exclude_id: int | None = None) -> bool:
        return any(
            c.name.lower() == name.lower() and i != exclude_id for i, c in self.store.calendars.items()
        )

    def add_calendar(self, calendar: BusinessCalendar) -> int:
        calendar_id = self.store.take_id("calendar")
        self.store.calendars[calendar_id] = replace(calendar, id=calendar_id)
        return calendar_id

    def save_calendar(self, calendar: BusinessCalendar) -> None:
        assert calendar.id is not None
        self.store.calendars[calendar.id] = calendar

    def delete_calendar(self, calendar_id: int) -> None:
        del self.store.calendars[calendar_id]

    def calendar_in_use(self, calendar_id: int) -> bool:
        return any(p.calendar_id == calendar_id for p in self.store.policies.values())

    def policy(self, policy_id: int) -> SlaPolicy | None:
        return self.store.policies.get(policy_id)

    def policies(self, *, team_ids: frozenset[int] | None = None) -> list[SlaPolicy]:
        return [
            p for _, p in sorted(self.store.policies.items()) if team_ids is None or p.team_id in team_ids
        ]

    def policy_for(self, team_id: int, priority: Priority) -> SlaPolicy | None:
        return next(
            (
                p
                for p in self.store.policies.values()
                if p.team_id == team_id and p.priority == priority and p.is_active
            ),
            None,
        )

    def policy_taken(self, team_id: int, priority: Priority, *, exclude_id: int | None = None) -> bool:
        return any(
            p.team_id == team_id and p.priority == priority and i != exclude_id
            for i, p in self.store.policies.items()
        )

    def add_policy(self, policy: SlaPolicy) -> int:
        policy_id = self.store.take_id("policy")
        self.store.policies[policy_id] = replace(policy, id=policy_id)
        return policy_id

    def save_policy(self, policy: SlaPolicy) -> None:
        assert policy.id is not None
        self.store.policies[policy.id] = policy

    def tickets_due_for_check(self, now: datetime, *, limit: int) -> list[uuid.UUID]:
        due = [
            (check, t.id)
            for t in self.store.tickets.values()
            if t.sla is not None and (check := t.sla.next_check_at()) is not None and check <= now
        ]
        return [ticket_id for _, ticket_id in sorted(due)[:limit]]

    def record_escalation(self, ticket_id: uuid.UUID, threshold: Threshold, *, at: datetime) -> bool:
        if (ticket_id, threshold) in self.store.escalations:
            return False
        self.store.escalations[(ticket_id, threshold)] = at
        return True

    def team_lead_emails(self, team_id: int) -> list[str]:
        return list(self.store.team_leads.get(team_id, []))


class FakeFileStore:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredFile:
        data = stream.read()
        digest = hashlib.sha256(data).hexdigest()
        self.files[digest] = data
        return StoredFile(key=digest, size=len(data), sha256=digest)

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self.files[key])

    def batch(self) -> AbstractContextManager[None]:
        return nullcontext()  # kept in memory: nothing to make durable


class FakeParser:
    """Parses by lookup: tests register the ParsedMessage each raw message stands for."""

    def __init__(self) -> None:
        self.messages: dict[bytes, ParsedMessage] = {}
        self.broken: set[bytes] = set()

    def parse(self, raw: BinaryIO) -> ParsedMessage:
        data = raw.read()
        if data in self.broken:
            raise UnparseableMessage("garbage")
        return self.messages[data]


class FakeUnitOfWork:
    def __init__(self, holder: FakeDesk) -> None:
        self.holder = holder

    def __enter__(self) -> FakeUnitOfWork:
        self.working = copy.deepcopy(self.holder.store)
        self.teams = FakeTeams(self.working)
        self.agents = FakeAgents(self.working)
        self.tickets = FakeTickets(self.working)
        self.assignment = FakeAssignmentPool(self.working, self.holder.config.time_zone)
        self.audit = FakeAudit(self.working)
        self.idempotency = FakeIdempotency(self.working)
        self.messages = FakeThread(self.working)
        self.inbound = FakeInbound(self.working)
        self.mailboxes = FakeMailboxes(self.working)
        self.quarantine = FakeQuarantine(self.working)
        self.subscriptions = FakeSubscriptions(self.working)
        self.routing = FakeRouting(self.working)
        self.sla = FakeSla(self.working)
        self.pending: list[DomainEvent] = []
        self.on_commit: list[Any] = []
        self.committed = False
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and self.committed:
            self.holder.store = self.working
            self.holder.published.extend(self.pending)
            for action in self.on_commit:
                action()

    def commit(self) -> None:
        self.committed = True

    def publish_after_commit(self, events: Sequence[DomainEvent]) -> None:
        self.pending.extend(events)

    def after_commit(self, action: Any) -> None:
        self.on_commit.append(action)


class FakeClock:
    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        self._ticks = itertools.count()

    def now(self) -> datetime:
        # Each call a microsecond later, so "least recently assigned" has a strict order.
        return self.at + timedelta(microseconds=next(self._ticks))

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class FakeQueries:
    """Just enough of the query ports for use-case tests that read results back."""

    def __init__(self, holder: FakeDesk) -> None:
        self.holder = holder

    def list(self, *args: Any, cursor: str | None = None, limit: int = 50, **kwargs: Any) -> Page[TeamView]:
        teams = [t for t in self.holder.store.teams.values() if not t.is_deleted][:limit]
        views = [TeamView(t.id or 0, t.name, t.description, t.timezone, t.is_active) for t in teams]
        return Page(results=views, next_cursor=None)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("read the FakeStore directly in use-case tests")


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[OutboundEmail] = []

    def send(self, email: OutboundEmail) -> None:
        self.sent.append(email)


class FakeReaders:
    """Mailbox readers by mailbox name, for poll tests."""

    def __init__(self) -> None:
        self.readers: dict[str, Any] = {}

    def open(self, mailbox: MailboxConfig) -> Any:
        return self.readers[mailbox.name]


class FakePollLock:
    def __init__(self) -> None:
        self.held: set[int] = set()

    def try_acquire(self, mailbox_id: int) -> bool:
        if mailbox_id in self.held:
            return False
        self.held.add(mailbox_id)
        return True

    def release(self, mailbox_id: int) -> None:
        self.held.discard(mailbox_id)


class FakeScheduler:
    """Records what the use cases queue: polls, and renewals as (mailbox, recreate)."""

    def __init__(self) -> None:
        self.polls: list[str] = []
        self.renewals: list[tuple[str, bool]] = []

    def schedule(self, mailbox: str) -> None:
        self.polls.append(mailbox)

    def schedule_renewal(self, mailbox: str, *, recreate: bool = False) -> None:
        self.renewals.append((mailbox, recreate))


class FakePushChannel:
    """A provider's subscriptions for one mailbox: ids s1, s2, ...; renewing one not live is 'gone'."""

    def __init__(self) -> None:
        self.live: dict[str, datetime] = {}
        self.client_states: list[str] = []
        self.calls: list[tuple[str, str]] = []
        self.failure: str | None = None
        self.closed = 0
        self._ids = itertools.count(1)

    def _granted(self, external_id: str, expires_at: datetime) -> PushSubscription:
        if self.failure:
            raise MailboxUnavailable(self.failure)
        self.live[external_id] = expires_at
        return PushSubscription(external_id, expires_at)

    def subscribe(self, *, client_state: str, expires_at: datetime) -> PushSubscription:
        self.calls.append(("subscribe", ""))
        self.client_states.append(client_state)
        return self._granted(f"s{next(self._ids)}", expires_at)

    def renew(self, external_id: str, *, expires_at: datetime) -> PushSubscription:
        self.calls.append(("renew", external_id))
        if external_id not in self.live and not self.failure:
            raise PushSubscriptionGone(external_id)
        return self._granted(external_id, expires_at)

    def delete(self, external_id: str) -> None:
        self.calls.append(("delete", external_id))
        if self.failure:
            raise MailboxUnavailable(self.failure)
        self.live.pop(external_id, None)

    def close(self) -> None:
        self.closed += 1


class FakePushChannels:
    """Push channels by mailbox name; a mailbox without one has no push."""

    def __init__(self) -> None:
        self.enabled = True
        self.channels: dict[str, FakePushChannel] = {}

    def open(self, mailbox: MailboxConfig) -> FakePushChannel | None:
        return self.channels.get(mailbox.name) if self.enabled else None


class FakeTokenVerifier:
    def __init__(self) -> None:
        self.valid: set[str] = set()

    def verify(self, token: str) -> None:
        if token not in self.valid:
            raise InvalidPushToken("not one of the valid test tokens")


class FakeDesk:
    """A Desk wired to in-memory adapters, with the store and published events at hand."""

    def __init__(
        self, config: DeskConfig | None = None, clock: FakeClock | None = None, *, smart_routing: bool = False
    ) -> None:
        self.store = FakeStore()
        self.published: list[DomainEvent] = []
        self.config = config or DeskConfig(time_zone="UTC")
        self.clock = clock or FakeClock()
        self.parser = FakeParser()
        self.files = FakeFileStore()
        self.readers = FakeReaders()
        self.mailer = FakeMailer()
        self.scheduler = FakeScheduler()
        self.push = FakePushChannels()
        self.verifier = FakeTokenVerifier()
        queries: Any = FakeQueries(self)
        self.routing_setup = FakeRoutingSetup(self)
        router: Router = (
            SmartRouter(self.routing_setup, confidence_threshold=0.6)
            if smart_routing
            else MailboxDefaultRouter()
        )
        self.desk: Desk = build_desk(
            Adapters(
                uow_factory=lambda: FakeUnitOfWork(self),
                clock=self.clock,
                ticket_queries=queries,
                team_queries=queries,
                agent_queries=queries,
                audit_queries=queries,
                intake_queries=queries,
                parser=self.parser,
                files=self.files,
                router=router,
                readers=self.readers,
                poll_lock=FakePollLock(),
                mailer=self.mailer,
                outbound=OutboundConfig(reply_from="desk@p2p.example", mail_domain="p2p.example"),
                push_channels=self.push,
                poll_scheduler=self.scheduler,
                push_verifier=self.verifier,
                on_routing_change=self.routing_setup.invalidate,
            ),
            self.config,
        )

    def add_mailbox(self, name: str, team_id: int, **fields: Any) -> MailboxConfig:
        mailbox = MailboxConfig(
            id=len(self.store.mailboxes) + 1,
            name=name,
            kind=fields.pop("kind", "maildir"),
            settings=fields.pop("settings", {}),
            default_team_id=team_id,
            enabled=fields.pop("enabled", True),
            acknowledge=fields.pop("acknowledge", False),
            poll_interval_seconds=60,
            **fields,
        )
        self.store.mailboxes[mailbox.id] = mailbox
        return mailbox

    def ticket(self, ticket_id: uuid.UUID) -> Ticket:
        return self.store.tickets[ticket_id]

    def active_held(self, agent_id: int) -> int:
        return sum(
            1 for t in self.store.tickets.values() if t.agent_id == agent_id and t.status in ACTIVE_STATUSES
        )

    def actions(self, action: str) -> list[AuditEntry]:
        return [e for e in self.store.audit if e.event.action == action]


__all__ = ["AgentView", "FakeDesk", "Scope", "TicketView"]
