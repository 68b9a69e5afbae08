"""Use cases on in-memory adapters: the rules of assignment, redistribution, audit and permissions."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from p2pdesk.application.errors import (
    Conflict,
    IdempotencyConflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from p2pdesk.application.principal import SYSTEM, Principal, Role
from p2pdesk.application.use_cases.bulk_update_tickets import MAX_BULK_IDS, BulkUpdateTickets
from p2pdesk.application.use_cases.create_ticket import CreateTicket
from p2pdesk.application.use_cases.manage_agents import CreateAgent, UpdateAgent
from p2pdesk.application.use_cases.manage_teams import CreateTeam, DeleteTeam, UpdateTeam
from p2pdesk.application.use_cases.reassign_tickets import ReassignTickets
from p2pdesk.application.use_cases.update_ticket import TicketChanges, UpdateTicket
from p2pdesk.domain.errors import IllegalTransition, TeamUnavailable
from p2pdesk.domain.tickets import TicketStatus
from tests.fakes.memory import FakeDesk


@pytest.fixture
def fake() -> FakeDesk:
    return FakeDesk()


def team(fake: FakeDesk, name: str = "Accounts Payable", **kw: object) -> int:
    return fake.desk.teams.create(CreateTeam(name=name, **kw), SYSTEM)  # type: ignore[arg-type]


def agent(fake: FakeDesk, teams: list[int], n: int, **kw: object) -> int:
    return fake.desk.agents.create(
        CreateAgent(email=f"a{n}@p2pdesk.example", name=f"Agent {n}", team_ids=teams, **kw),  # type: ignore[arg-type]
        SYSTEM,
    )


def ticket(fake: FakeDesk, team_id: int, principal: Principal = SYSTEM, **kw: object) -> uuid.UUID:
    fields: dict[str, object] = {
        "subject": "Payment not received",
        "description": "",
        "requester_email": "v@x.example",
    }
    fields.update(kw)
    return fake.desk.create_ticket(CreateTicket(team_id=team_id, **fields), principal).ticket.id  # type: ignore[arg-type]


def held(fake: FakeDesk, agents: list[int]) -> list[int]:
    return [fake.active_held(a) for a in agents]


def test_tickets_go_round_the_team_least_assigned_first(fake: FakeDesk) -> None:
    ap = team(fake)
    agents = [agent(fake, [ap], n) for n in range(3)]
    owners = [fake.ticket(ticket(fake, ap)).agent_id for _ in range(7)]
    assert owners[:3] == agents  # nobody had any: never-assigned first, then by id
    assert Counter(owners) == {agents[0]: 3, agents[1]: 2, agents[2]: 2}
    assert [fake.store.counters[a].assigned_today for a in agents] == [3, 2, 2]


def test_an_agent_in_two_teams_carries_one_load(fake: FakeDesk) -> None:
    ap, payments = team(fake), team(fake, "Payments")
    agent(fake, [ap, payments], 1)
    only_ap = agent(fake, [ap], 2)
    ticket(fake, payments)  # goes to `shared`, the only Payments agent
    assert fake.ticket(ticket(fake, ap)).agent_id == only_ap


def test_a_ticket_without_available_agents_waits_unassigned(fake: FakeDesk) -> None:
    ap = team(fake)
    ticket_id = ticket(fake, ap)
    assert fake.ticket(ticket_id).agent_id is None
    assert fake.actions("ticket.created")
    assert not fake.actions("ticket.assigned")


def test_creating_in_an_inactive_or_unknown_team_is_refused_and_writes_nothing(fake: FakeDesk) -> None:
    ap = team(fake, is_active=False)
    with pytest.raises(TeamUnavailable):
        ticket(fake, ap)
    with pytest.raises(ValidationFailed):
        ticket(fake, 999)
    assert fake.store.tickets == {}
    assert [e.event.action for e in fake.store.audit] == ["team.created"]


def test_forcing_an_agent_requires_an_active_member_of_the_team(fake: FakeDesk) -> None:
    ap, kyc = team(fake), team(fake, "KYC")
    member, outsider = agent(fake, [ap], 1), agent(fake, [kyc], 2)
    agent(fake, [ap], 3)
    assert fake.ticket(ticket(fake, ap, agent_id=member)).agent_id == member
    assert fake.ticket(ticket(fake, ap, agent_id=member)).agent_id == member  # forced, not fair
    with pytest.raises(ValidationFailed, match="not a member"):
        ticket(fake, ap, agent_id=outsider)
    with pytest.raises(ValidationFailed, match="does not exist"):
        ticket(fake, ap, agent_id=404)


def test_the_same_idempotency_key_and_body_returns_the_same_ticket(fake: FakeDesk) -> None:
    ap = team(fake)
    command = CreateTicket(
        subject="s",
        description="",
        team_id=ap,
        requester_email="v@x.example",
        idempotency_key="k1",
        fingerprint="f1",
    )
    first = fake.desk.create_ticket(command, SYSTEM)
    again = fake.desk.create_ticket(command, SYSTEM)
    assert (first.replayed, again.replayed) == (False, True)
    assert first.ticket.id == again.ticket.id
    assert len(fake.store.tickets) == 1
    with pytest.raises(IdempotencyConflict):
        fake.desk.create_ticket(
            CreateTicket(
                subject="other",
                description="",
                team_id=ap,
                requester_email="v@x.example",
                idempotency_key="k1",
                fingerprint="f2",
            ),
            SYSTEM,
        )
    assert len(fake.store.tickets) == 1


def test_illegal_transition_changes_nothing(fake: FakeDesk) -> None:
    ap = team(fake)
    agent(fake, [ap], 1)
    ticket_id = ticket(fake, ap)
    fake.desk.update_ticket(UpdateTicket(ticket_id, TicketChanges(status="closed")), SYSTEM)
    audit_before = len(fake.store.audit)
    with pytest.raises(IllegalTransition, match="cannot go from closed to open"):
        fake.desk.update_ticket(UpdateTicket(ticket_id, TicketChanges(status="open", priority=1)), SYSTEM)
    assert fake.ticket(ticket_id).status is TicketStatus.CLOSED
    assert int(fake.ticket(ticket_id).priority) == 3
    assert len(fake.store.audit) == audit_before


def test_resolving_counts_for_the_agent_and_each_change_is_audited(fake: FakeDesk) -> None:
    ap = team(fake)
    a = agent(fake, [ap], 1)
    ticket_id = ticket(fake, ap)
    fake.desk.update_ticket(UpdateTicket(ticket_id, TicketChanges(status="resolved", priority=2)), SYSTEM)
    counters = fake.store.counters[a]
    assert (counters.resolved_today, counters.total_resolved, counters.assigned_today) == (1, 1, 1)
    actions = [e.event.action for e in fake.store.audit if e.event.entity_id == str(ticket_id)]
    assert actions == [
        "ticket.created",
        "ticket.assigned",
        "ticket.priority_changed",
        "ticket.status_changed",
    ]
    changed = fake.actions("ticket.status_changed")[0]
    assert (changed.event.before, changed.event.after["status"]) == ({"status": "new"}, "resolved")


def test_moving_a_ticket_to_another_team_reassigns_it_there(fake: FakeDesk) -> None:
    ap, payments = team(fake), team(fake, "Payments")
    agent(fake, [ap], 1)
    payer = agent(fake, [payments], 2)
    ticket_id = ticket(fake, ap)
    view = fake.desk.update_ticket(UpdateTicket(ticket_id, TicketChanges(team_id=payments)), SYSTEM)
    assert (view.team, view.agent) == (payments, payer)


def test_deactivating_an_agent_spreads_their_tickets_least_loaded_first(fake: FakeDesk) -> None:
    ap = team(fake)
    leaving, a, b = agent(fake, [ap], 1), agent(fake, [ap], 2), agent(fake, [ap], 3)
    for _ in range(9):
        ticket(fake, ap)
    fake.desk.agents.update(UpdateAgent(agent_id=a, is_active=False), SYSTEM)  # a's 3 go to leaving and b
    fake.desk.agents.update(UpdateAgent(agent_id=a, is_active=True), SYSTEM)
    fake.desk.agents.update(UpdateAgent(agent_id=leaving, is_active=False), SYSTEM)
    assert fake.active_held(leaving) == 0
    assert sum(held(fake, [a, b])) == 9
    loads = [fake.store.counters[x].assigned_today for x in (a, b)]
    assert max(loads) - min(loads) <= 1
    assert all(t.agent_id in (a, b) for t in fake.store.tickets.values())


def test_a_team_with_nobody_left_keeps_tickets_unassigned_until_someone_comes_back(fake: FakeDesk) -> None:
    ap = team(fake)
    only = agent(fake, [ap], 1)
    ids = [ticket(fake, ap) for _ in range(3)]
    fake.desk.agents.update(UpdateAgent(agent_id=only, is_active=False), SYSTEM)
    assert [fake.ticket(i).agent_id for i in ids] == [None, None, None]
    newcomer = agent(fake, [ap], 2)
    assert [fake.ticket(i).agent_id for i in ids] == [newcomer] * 3
    assert fake.store.counters[newcomer].total_assigned == 3


def test_leaving_one_team_hands_over_only_that_teams_tickets(fake: FakeDesk) -> None:
    ap, payments = team(fake), team(fake, "Payments")
    both = agent(fake, [ap, payments], 1)
    ap_ticket, pay_ticket = ticket(fake, ap), ticket(fake, payments)
    other = agent(fake, [ap], 2)
    fake.desk.agents.update(UpdateAgent(agent_id=both, team_ids=[payments]), SYSTEM)
    assert fake.ticket(ap_ticket).agent_id == other
    assert fake.ticket(pay_ticket).agent_id == both


def test_deleting_an_agent_is_soft_and_reassigns(fake: FakeDesk) -> None:
    ap = team(fake)
    gone, stays = agent(fake, [ap], 1), agent(fake, [ap], 2)
    ids = [ticket(fake, ap) for _ in range(4)]
    fake.desk.agents.delete(gone, SYSTEM)
    assert fake.store.agents[gone].is_deleted
    assert {fake.ticket(i).agent_id for i in ids} == {stays}
    assert fake.actions("agent.deleted")
    agent(fake, [ap], 1)  # the email is free again among live agents


def test_reassign_reports_how_many_each_agent_received(fake: FakeDesk) -> None:
    ap, kyc = team(fake), team(fake, "KYC")
    leaving = agent(fake, [ap, kyc], 1)
    ids = [ticket(fake, ap) for _ in range(5)] + [ticket(fake, kyc) for _ in range(2)]
    a, b = agent(fake, [ap], 2), agent(fake, [ap], 3)
    result = fake.desk.reassign_tickets(ReassignTickets(agent_ids=[leaving]), SYSTEM)
    assert result.moved == 5
    assert result.unassigned == 2
    assert result.received == {a: 3, b: 2}
    assert fake.ticket(ids[-1]).agent_id is None


def test_bulk_update_is_all_or_nothing(fake: FakeDesk) -> None:
    ap = team(fake)
    agent(fake, [ap], 1)
    ids = [ticket(fake, ap) for _ in range(4)]
    fake.desk.update_ticket(UpdateTicket(ids[0], TicketChanges(status="closed")), SYSTEM)
    with pytest.raises(ValidationFailed) as error:
        fake.desk.bulk_update_tickets(BulkUpdateTickets(ids, TicketChanges(status="pending")), SYSTEM)
    assert error.value.details["failed"] == 1
    assert error.value.details["failures"][0]["id"] == str(ids[0])
    assert [fake.ticket(i).status for i in ids[1:]] == [TicketStatus.NEW] * 3
    result = fake.desk.bulk_update_tickets(
        BulkUpdateTickets(ids[1:], TicketChanges(status="pending")), SYSTEM
    )
    assert (result.matched, result.updated) == (3, 3)
    with pytest.raises(NotFound):
        fake.desk.bulk_update_tickets(BulkUpdateTickets([uuid.uuid4()], TicketChanges(priority=1)), SYSTEM)


def test_bulk_update_refuses_more_than_the_limit(fake: FakeDesk) -> None:
    ids = [uuid.uuid4() for _ in range(MAX_BULK_IDS + 1)]
    with pytest.raises(ValidationFailed, match="at most 10000"):
        fake.desk.bulk_update_tickets(BulkUpdateTickets(ids, TicketChanges(priority=1)), SYSTEM)


def test_team_names_are_unique_among_live_teams(fake: FakeDesk) -> None:
    ap = team(fake)
    with pytest.raises(Conflict):
        team(fake, "accounts payable")
    fake.desk.teams.delete(DeleteTeam(ap), SYSTEM)
    team(fake, "Accounts Payable")


def test_deleting_a_team_with_active_tickets_needs_somewhere_to_move_them(fake: FakeDesk) -> None:
    ap, triage = team(fake), team(fake, "Triage")
    agent(fake, [ap], 1)
    t = agent(fake, [triage], 2)
    ticket_id = ticket(fake, ap)
    with pytest.raises(Conflict, match="1 active tickets"):
        fake.desk.teams.delete(DeleteTeam(ap), SYSTEM)
    fake.desk.teams.delete(DeleteTeam(ap, move_open_tickets_to=triage), SYSTEM)
    assert (fake.ticket(ticket_id).team_id, fake.ticket(ticket_id).agent_id) == (triage, t)
    assert fake.store.teams[ap].is_deleted


def test_reactivating_a_team_drains_its_backlog(fake: FakeDesk) -> None:
    ap = team(fake)
    ticket_id = ticket(fake, ap)
    fake.desk.teams.update(UpdateTeam(ap, is_active=False), SYSTEM)
    a = agent(fake, [ap], 1)  # joins an inactive team: the backlog stays
    assert fake.ticket(ticket_id).agent_id is None
    fake.desk.teams.update(UpdateTeam(ap, is_active=True), SYSTEM)
    assert fake.ticket(ticket_id).agent_id == a


def test_agents_work_only_on_their_teams_and_integrations_only_create(fake: FakeDesk) -> None:
    ap, kyc = team(fake), team(fake, "KYC")
    agent(fake, [ap], 1)
    agent(fake, [kyc], 2)
    kyc_ticket = ticket(fake, kyc)
    ap_agent = Principal("user:a1@p2pdesk.example", Role.AGENT, frozenset({ap}))
    integration = Principal("user:erp@x.example", Role.INTEGRATION)
    with pytest.raises(NotFound):
        fake.desk.update_ticket(UpdateTicket(kyc_ticket, TicketChanges(priority=1)), ap_agent)
    with pytest.raises(PermissionDenied):
        ticket(fake, kyc, principal=ap_agent)
    with pytest.raises(PermissionDenied):
        fake.desk.update_ticket(UpdateTicket(kyc_ticket, TicketChanges(priority=1)), integration)
    with pytest.raises(PermissionDenied):
        fake.desk.teams.create(CreateTeam(name="X"), ap_agent)
    assert fake.ticket(ticket(fake, kyc, principal=integration)).team_id == kyc


def test_audit_entries_name_the_actor_and_events_publish_after_commit(fake: FakeDesk) -> None:
    ap = team(fake)
    lead = Principal("user:lead@p2pdesk.example", Role.TEAM_LEAD)
    fake.desk.teams.update(UpdateTeam(ap, description="Invoices and credit notes"), lead)
    entry = fake.store.audit[-1]
    assert (entry.actor, entry.event.action) == ("user:lead@p2pdesk.example", "team.updated")
    assert entry.event.before == {"description": ""}
    assert [e.action for e in fake.published] == ["team.created", "team.updated"]
    with pytest.raises(Conflict):
        fake.desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
    assert len(fake.published) == 2  # a failed use case publishes nothing


def test_a_new_business_day_starts_every_load_from_zero(fake: FakeDesk) -> None:
    ap = team(fake)
    a, b = agent(fake, [ap], 1), agent(fake, [ap], 2)
    for _ in range(3):
        ticket(fake, ap, agent_id=a)
    fake.clock.advance(days=1)
    owners = [fake.ticket(ticket(fake, ap)).agent_id for _ in range(2)]
    assert owners == [b, a]  # both at zero today; b was assigned less recently (never)
    assert fake.store.counters[a].assigned_today == 1


def test_bulk_resolving_credits_each_agent_once_per_ticket(fake: FakeDesk) -> None:
    ap = team(fake)
    a, b = agent(fake, [ap], 1), agent(fake, [ap], 2)
    ids = [ticket(fake, ap) for _ in range(5)]
    fake.desk.bulk_update_tickets(BulkUpdateTickets(ids, TicketChanges(status="resolved")), SYSTEM)
    assert (fake.store.counters[a].total_resolved, fake.store.counters[b].total_resolved) == (3, 2)
    assert fake.store.counters[a].resolved_today == 3
