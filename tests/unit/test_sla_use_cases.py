"""SLA through the use cases on in-memory adapters: dues on open, pause/resume, first response, met,
escalations once per threshold, and who may manage calendars and policies."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from p2pdesk.application.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from p2pdesk.application.principal import SYSTEM, Principal, Role
from p2pdesk.application.use_cases.create_ticket import CreateTicket
from p2pdesk.application.use_cases.escalate_sla import EscalateSla
from p2pdesk.application.use_cases.ingest_message import IngestMessage
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_sla import SaveCalendar, SavePolicy
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.application.use_cases.post_ticket_message import PostTicketMessage
from p2pdesk.application.use_cases.update_ticket import TicketChanges, UpdateTicket
from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.sla import Threshold
from p2pdesk.domain.tickets import Priority
from p2pdesk.ports.mail import ParsedMessage
from tests.fakes.memory import FakeDesk

LEAD = Principal(actor="user:lea@p2p.example", role=Role.TEAM_LEAD, team_ids=frozenset({1}))


@pytest.fixture
def fake() -> FakeDesk:
    fake = FakeDesk()
    team = fake.desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
    for n in (1, 2):
        fake.desk.agents.create(CreateAgent(email=f"a{n}@p2p.example", name=f"A{n}", team_ids=[team]), SYSTEM)
    always = fake.desk.sla_settings.create_calendar(
        SaveCalendar(name="24/7", timezone="UTC", working_days=list(range(7)), start="00:00", end="24:00"),
        SYSTEM,
    )
    fake.desk.sla_settings.create_policy(
        SavePolicy(
            team_id=team,
            priority=3,
            calendar_id=always,
            first_response_minutes=60,
            resolution_minutes=600,
            breach_actions=["notify_team_lead", "raise_priority", "reassign"],
        ),
        SYSTEM,
    )
    fake.store.team_leads[team] = ["lea@p2p.example"]
    return fake


def open_ticket(fake: FakeDesk, priority: int = 3) -> uuid.UUID:
    command = CreateTicket(
        subject="Invoice INV-1 unpaid",
        description="",
        team_id=1,
        requester_email="v@x.example",
        priority=priority,
    )
    return fake.desk.create_ticket(command, SYSTEM).ticket.id


def status(fake: FakeDesk, ticket_id: uuid.UUID, value: str) -> None:
    fake.desk.update_ticket(UpdateTicket(ticket_id, TicketChanges(status=value)), SYSTEM)


def test_a_new_ticket_gets_its_policys_dues(fake: FakeDesk) -> None:
    ticket = fake.ticket(open_ticket(fake))
    assert ticket.sla is not None
    assert ticket.sla.first_response.due - ticket.created_at == timedelta(hours=1)
    assert ticket.sla.resolution.due - ticket.created_at == timedelta(hours=10)
    assert ticket.sla_state == "ok"
    [created] = fake.actions("ticket.created")
    assert created.event.after["sla_state"] == "ok"
    assert created.event.after["resolution_due"] == ticket.sla.resolution.due.isoformat()


def test_no_policy_no_sla(fake: FakeDesk) -> None:
    ticket = fake.ticket(open_ticket(fake, priority=1))
    assert (ticket.sla, ticket.sla_state) == (None, None)
    assert fake.desk.escalate_sla(EscalateSla()).checked == 0


def test_pending_pauses_and_reopening_resumes_with_the_time_left(fake: FakeDesk) -> None:
    ticket_id = open_ticket(fake)
    due = fake.ticket(ticket_id).sla.resolution.due  # type: ignore[union-attr]
    fake.clock.advance(minutes=30)
    status(fake, ticket_id, "pending")
    assert fake.ticket(ticket_id).sla_state == "paused"
    fake.clock.advance(hours=30)
    status(fake, ticket_id, "open")
    ticket = fake.ticket(ticket_id)
    assert ticket.sla_state == "ok"
    shift = ticket.sla.resolution.due - due  # type: ignore[union-attr]
    assert abs(shift - timedelta(hours=30)) < timedelta(milliseconds=1)  # the fake clock ticks in µs
    assert [e.event.after["sla_state"] for e in fake.actions("ticket.sla_changed")] == ["paused", "ok"]


def test_the_requesters_reply_by_mail_resumes_a_pending_ticket(fake: FakeDesk) -> None:
    fake.add_mailbox("default", 1, address="ap@p2p.example")
    ticket_id = open_ticket(fake)
    fake.desk.post_ticket_message(PostTicketMessage(ticket_id, "Which PO is it?"), SYSTEM)
    status(fake, ticket_id, "pending")
    asked = fake.store.thread[-1].message_id
    fake.clock.advance(hours=5)
    reply = _reply(in_reply_to=(asked,))
    fake.parser.messages[b"reply"] = reply
    assert fake.desk.ingest_message(IngestMessage(raw=b"reply")).outcome == "threaded"
    ticket = fake.ticket(ticket_id)
    assert (ticket.status.value, ticket.sla_state) == ("open", "ok")
    assert ticket.sla.stopped_at is None  # type: ignore[union-attr]


def test_the_first_outbound_reply_is_the_first_response_and_notes_are_not(fake: FakeDesk) -> None:
    ticket_id = open_ticket(fake)
    fake.clock.advance(minutes=10)
    fake.desk.post_ticket_message(PostTicketMessage(ticket_id, "Checking with AP", internal=True), SYSTEM)
    assert fake.ticket(ticket_id).sla.first_responded_at is None  # type: ignore[union-attr]
    fake.clock.advance(minutes=10)
    fake.desk.post_ticket_message(PostTicketMessage(ticket_id, "We are on it"), SYSTEM)
    sla = fake.ticket(ticket_id).sla
    assert sla is not None
    assert sla.first_responded_at is not None
    assert sla.first_responded_at - fake.ticket(ticket_id).created_at >= timedelta(minutes=20)


def test_resolving_in_time_is_met_and_nothing_escalates(fake: FakeDesk) -> None:
    ticket_id = open_ticket(fake)
    fake.desk.post_ticket_message(PostTicketMessage(ticket_id, "Paid today"), SYSTEM)
    status(fake, ticket_id, "resolved")
    assert fake.ticket(ticket_id).sla_state == "met"
    fake.clock.advance(days=3)
    assert fake.desk.escalate_sla(EscalateSla()).checked == 0


def test_at_risk_emails_the_team_lead_once(fake: FakeDesk) -> None:
    ticket_id = open_ticket(fake)
    fake.clock.advance(minutes=50)  # 80% of the hour to first response
    run = fake.desk.escalate_sla(EscalateSla())
    assert [(e.threshold, e.outcomes) for e in run.escalations] == [
        ("first_response.at_risk", {"notify_team_lead": "emailed lea@p2p.example"})
    ]
    [email] = fake.mailer.sent
    assert email.to == ("lea@p2p.example",)
    assert "at risk of missing its first response target" in email.text
    assert fake.ticket(ticket_id).sla_state == "at_risk"
    [audited] = fake.actions("ticket.sla_escalated")
    assert audited.actor == "system:sla"
    assert fake.desk.escalate_sla(EscalateSla()).escalations == []
    assert len(fake.mailer.sent) == 1


def test_a_breach_raises_the_priority_and_hands_the_ticket_to_another_agent(fake: FakeDesk) -> None:
    ticket_id = open_ticket(fake)
    before = fake.ticket(ticket_id).agent_id
    fake.clock.advance(minutes=61)
    run = fake.desk.escalate_sla(EscalateSla())
    assert [e.threshold for e in run.escalations] == ["first_response.at_risk", "first_response.breached"]
    ticket = fake.ticket(ticket_id)
    assert ticket.sla_state == "breached"
    assert ticket.priority == Priority.HIGH
    assert ticket.agent_id not in (before, None)
    assert run.escalations[1].outcomes["reassign"] == f"agent {before} -> {ticket.agent_id}"
    assert set(fake.store.escalations) == {
        (ticket_id, Threshold.FIRST_RESPONSE_AT_RISK),
        (ticket_id, Threshold.FIRST_RESPONSE_BREACHED),
    }
    # The resolution clock runs on: its thresholds come later, each once.
    fake.clock.advance(hours=10)
    later = fake.desk.escalate_sla(EscalateSla())
    assert [e.threshold for e in later.escalations] == ["resolution.at_risk", "resolution.breached"]
    assert fake.ticket(ticket_id).priority == Priority.URGENT


def test_an_escalation_claimed_elsewhere_is_not_run_again(fake: FakeDesk) -> None:
    ticket_id = open_ticket(fake)
    fake.store.escalations[(ticket_id, Threshold.FIRST_RESPONSE_AT_RISK)] = fake.clock.now()
    fake.clock.advance(minutes=50)
    assert fake.desk.escalate_sla(EscalateSla()).escalations == []
    assert fake.mailer.sent == []
    assert fake.ticket(ticket_id).sla.next_check_at() == fake.ticket(ticket_id).sla.first_response.due  # type: ignore[union-attr]


def test_without_a_team_lead_the_escalation_says_so(fake: FakeDesk) -> None:
    fake.store.team_leads.clear()
    open_ticket(fake)
    fake.clock.advance(minutes=50)
    [escalation] = fake.desk.escalate_sla(EscalateSla()).escalations
    assert escalation.outcomes == {"notify_team_lead": "no team lead to email"}


def test_calendars_and_policies_are_managed_by_admins_and_the_teams_leads(fake: FakeDesk) -> None:
    agent = Principal(actor="user:a1@p2p.example", role=Role.AGENT, team_ids=frozenset({1}))
    other_lead = Principal(actor="user:x@p2p.example", role=Role.TEAM_LEAD, team_ids=frozenset({2}))
    with pytest.raises(PermissionDenied):
        fake.desk.sla_settings.calendars(agent)
    command = SavePolicy(
        team_id=1, priority=1, calendar_id=1, first_response_minutes=15, resolution_minutes=240
    )
    with pytest.raises(PermissionDenied):
        fake.desk.sla_settings.create_policy(command, other_lead)
    policy_id = fake.desk.sla_settings.create_policy(command, LEAD)
    assert [p.id for p in fake.desk.sla_settings.policies(other_lead)] == []
    with pytest.raises(Conflict):
        fake.desk.sla_settings.create_policy(command, LEAD)
    fake.desk.sla_settings.update_policy(policy_id, {"resolution_minutes": 480}, LEAD)
    [updated] = fake.actions("sla_policy.updated")
    assert (updated.event.before, updated.event.after) == (
        {"resolution_minutes": 240},
        {"resolution_minutes": 480},
    )
    fake.desk.sla_settings.deactivate_policy(policy_id, LEAD)
    assert fake.ticket(open_ticket(fake, priority=1)).sla is None


def test_bad_settings_are_refused_and_calendars_in_use_stay(fake: FakeDesk) -> None:
    settings = fake.desk.sla_settings
    with pytest.raises(InvalidValue):
        settings.create_calendar(SaveCalendar("Office", "Europe/Berlin", [0, 1], "17:00", "09:00"), SYSTEM)
    with pytest.raises(Conflict):
        settings.create_calendar(SaveCalendar("24/7", "UTC", [0], "00:00", "24:00"), SYSTEM)
    with pytest.raises(ValidationFailed):
        settings.create_policy(SavePolicy(1, 4, 99, 10, 20), SYSTEM)
    with pytest.raises(InvalidValue):
        settings.create_policy(SavePolicy(1, 4, 1, 10, 20, breach_actions=["shout"]), SYSTEM)
    with pytest.raises(Conflict, match="used by SLA policies"):
        settings.delete_calendar(1, SYSTEM)
    office = settings.create_calendar(
        SaveCalendar("Office", "Europe/Berlin", [0, 1, 2, 3, 4], "09:00", "17:00", [date(2026, 12, 24)]),
        SYSTEM,
    )
    settings.update_calendar(office, {"end": "18:00"}, SYSTEM)
    assert settings.calendar(office, SYSTEM).end_minute == 18 * 60
    settings.delete_calendar(office, SYSTEM)
    with pytest.raises(NotFound):
        settings.calendar(office, SYSTEM)
    assert [e.event.action for e in fake.store.audit if e.event.entity_type == "sla_calendar"][-3:] == [
        "sla_calendar.created",
        "sla_calendar.updated",
        "sla_calendar.deleted",
    ]


def _reply(**fields: Any) -> ParsedMessage:
    message = ParsedMessage(
        message_id="r1@x.example",
        in_reply_to=(),
        references=(),
        subject="Re: Invoice INV-1 unpaid",
        from_address="v@x.example",
        from_name="Vendor",
        reply_to=(),
        to=("ap@p2p.example",),
        cc=(),
        date=None,
        text="PO 4711",
        new_text="PO 4711",
        html=None,
        raw_sha256="f" * 64,
        raw_size=10,
    )
    return replace(message, **fields)


def test_a_ticket_that_cannot_be_checked_does_not_stop_the_others(fake: FakeDesk) -> None:
    broken, fine = open_ticket(fake), open_ticket(fake)
    ticket = fake.store.tickets[broken]
    assert ticket.sla is not None
    ticket.sla = replace(ticket.sla, policy_id=999)  # a policy that is not there
    fake.clock.advance(minutes=50)
    run = fake.desk.escalate_sla(EscalateSla())
    assert [f[0] for f in run.failures] == [broken]
    assert [e.ticket_id for e in run.escalations] == [fine]
    assert fake.ticket(broken).sla.next_check_at() is not None  # type: ignore[union-attr]  # retried next run


def test_a_ticket_opened_by_mail_gets_its_dues_and_the_acknowledgement_is_no_first_response(
    fake: FakeDesk,
) -> None:
    fake.add_mailbox("default", 1, address="ap@p2p.example", acknowledge=True)
    fake.parser.messages[b"new"] = _reply(message_id="n1@x.example", subject="Invoice INV-9 unpaid")
    result = fake.desk.ingest_message(IngestMessage(raw=b"new"))
    assert result.outcome == "created"
    ticket = fake.ticket(result.ticket_id)
    assert len(fake.mailer.sent) == 1  # the acknowledgement went out
    assert ticket.sla is not None
    assert ticket.sla.first_responded_at is None
    assert ticket.sla.first_response.due - ticket.created_at == timedelta(hours=1)
