"""Routing through the use cases on in-memory adapters: rules CRUD and audit, explain, routed
tickets from mail and the API, misroutes, and loading the shipped rule set."""

from __future__ import annotations

from typing import Any

import pytest

from p2pdesk.application.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from p2pdesk.application.principal import SYSTEM, Principal, Role
from p2pdesk.application.use_cases.create_ticket import CreateTicket
from p2pdesk.application.use_cases.explain_routing import ExplainRouting
from p2pdesk.application.use_cases.ingest_message import IngestMessage
from p2pdesk.application.use_cases.load_default_routing import parse_default_routing
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_routing_rules import RuleFields, UpdateRule
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.application.use_cases.update_ticket import TicketChanges, UpdateTicket
from p2pdesk.domain.errors import InvalidValue
from p2pdesk.infrastructure.cli.default_routing import default_routing_data
from p2pdesk.ports.mail import ParsedMessage
from tests.fakes.memory import FakeDesk
from tests.fakes.routing import FixedClassifier

LEAD = Principal(actor="user:lead@p2p.example", role=Role.TEAM_LEAD)


@pytest.fixture
def fake() -> FakeDesk:
    fake = FakeDesk(smart_routing=True)
    for name in ("Accounts Payable", "Payments", "Risk", "Triage"):
        team_id = fake.desk.teams.create(CreateTeam(name=name), SYSTEM)
        fake.desk.agents.create(
            CreateAgent(email=f"{team_id}@p2p.example", name=name, team_ids=[team_id]), SYSTEM
        )
    fake.add_mailbox("default", teams(fake)["Accounts Payable"], address="ap@p2p.example")
    return fake


def teams(fake: FakeDesk) -> dict[str, int]:
    return {t.name: t.id or 0 for t in fake.store.teams.values()}


def add_rule(fake: FakeDesk, name: str, team: str | None, phrases: list[str], **kw: Any) -> int:
    actions = {"team": teams(fake)[team] if team else None, **kw.pop("actions", {})}
    fields = RuleFields(
        name=name,
        conditions=[{"field": "body", "op": "contains_any", "value": phrases}],
        actions=actions,
        **kw,
    )
    return fake.desk.routing_rules.create(fields, SYSTEM).id


def explain(fake: FakeDesk, body: str, **kw: Any) -> Any:
    return fake.desk.explain_routing(
        ExplainRouting(subject=kw.pop("subject", "Hello"), body=body, **kw), SYSTEM
    )


def test_rule_changes_are_audited_and_reach_the_router(fake: FakeDesk) -> None:
    rule_id = add_rule(fake, "invoices", "Accounts Payable", ["invoice"])
    fake.desk.routing_rules.update(UpdateRule(rule_id, {"position": 5, "stop": True}), SYSTEM)
    fake.desk.routing_rules.delete(rule_id, SYSTEM)
    actions = [e.event.action for e in fake.store.audit if e.event.entity_type == "routing_rule"]
    assert actions == ["routing_rule.created", "routing_rule.updated", "routing_rule.deleted"]
    updated = fake.actions("routing_rule.updated")[0].event
    assert (updated.before, updated.after) == ({"position": 0, "stop": False}, {"position": 5, "stop": True})
    assert fake.routing_setup.invalidations == 3  # each committed change drops the router's cache


def test_only_admins_manage_rules_and_bad_rules_are_refused(fake: FakeDesk) -> None:
    with pytest.raises(PermissionDenied):
        fake.desk.routing_rules.list(LEAD)
    with pytest.raises(InvalidValue, match="RE2"):
        fake.desk.routing_rules.create(
            RuleFields("bad", [{"field": "body", "op": "matches", "value": "(?<=x)y"}], {"team": 1}), SYSTEM
        )
    with pytest.raises(ValidationFailed, match="team 999"):
        fake.desk.routing_rules.create(
            RuleFields("ghost", [{"field": "body", "op": "contains", "value": "x"}], {"team": 999}), SYSTEM
        )
    add_rule(fake, "invoices", "Accounts Payable", ["invoice"])
    with pytest.raises(Conflict):
        add_rule(fake, "Invoices", "Payments", ["payment"])
    with pytest.raises(NotFound):
        fake.desk.routing_rules.update(UpdateRule(999, {"position": 1}), SYSTEM)
    assert not fake.actions("routing_rule.updated")


def test_explain_names_the_deciding_rule_and_the_references(fake: FakeDesk) -> None:
    add_rule(fake, "payments", "Payments", ["not been paid"], actions={"priority": 2, "tags": ["dunning"]})
    result = explain(fake, "Invoice INV-77 has not been paid, EUR 1.200,00")
    assert (result.team_name, result.decided_by, result.priority, result.tags) == (
        "Payments",
        "rule:payments",
        2,
        ["dunning"],
    )
    assert {"type": "invoice", "value": "INV-77"} in result.references
    assert {"type": "amount", "value": "1200.00 EUR"} in result.references
    assert result.confidence is None
    assert not fake.store.tickets  # nothing created


def test_nothing_confident_goes_to_triage_and_a_confident_model_decides(fake: FakeDesk) -> None:
    add_rule(fake, "invoices", "Accounts Payable", ["invoice"])
    assert explain(fake, "please call me").team_name == "Triage"
    fake.routing_setup.classifier = FixedClassifier(str(teams(fake)["Payments"]), 0.9)
    confident = explain(fake, "our invoice")
    assert (confident.team_name, confident.decided_by, confident.confidence) == ("Payments", "model:v9", 0.9)
    fake.routing_setup.classifier = FixedClassifier(str(teams(fake)["Payments"]), 0.4)
    assert explain(fake, "our invoice").decided_by == "rule:invoices"


def test_bank_detail_changes_go_to_risk_whatever_the_model_says(fake: FakeDesk) -> None:
    fake.desk.load_default_routing(parse_default_routing(default_routing_data()), SYSTEM)
    fake.routing_setup.classifier = FixedClassifier(str(teams(fake)["Payments"]), 0.99)
    for body in (
        "Please note our new bank details for all future payments.",
        "Bitte beachten Sie unsere neue Bankverbindung ab sofort.",
        "Merci de noter notre nouveau RIB pour les prochains règlements.",
        "Les informamos de nuestra nueva cuenta bancaria para los pagos.",
        "We have moved to a new bank: please pay to the account below from now on.",
        "Por favor, abonen las facturas en otra cuenta, adjuntamos los nuevos datos de cuenta.",
    ):
        result = explain(fake, body, subject="Invoice 4471")
        assert (result.team_name, result.priority, result.decided_by) == (
            "Risk",
            1,
            "rule:Bank detail change requests go to Risk",
        ), body
        assert "bank-details-change" in result.tags


def test_an_api_ticket_without_a_team_is_routed_and_keeps_its_references(fake: FakeDesk) -> None:
    add_rule(fake, "payments", "Payments", ["not been paid"])
    command = CreateTicket(
        subject="Invoice INV-9 not paid",
        description="INV-9 has not been paid",
        team_id=None,
        requester_email="v@x.example",
    )
    view = fake.desk.create_ticket(command, SYSTEM).ticket
    assert view.team == teams(fake)["Payments"]
    routing = fake.store.routing.tickets[view.id]
    assert routing.decided_by == "rule:payments"
    assert [(r.type, r.value) for r in routing.references] == [("invoice", "INV-9")]


def test_an_api_ticket_with_a_team_is_not_routed(fake: FakeDesk) -> None:
    command = CreateTicket(
        subject="x", description="", team_id=teams(fake)["Risk"], requester_email="v@x.example"
    )
    view = fake.desk.create_ticket(command, SYSTEM).ticket
    assert view.team == teams(fake)["Risk"]
    assert view.id not in fake.store.routing.tickets


def test_mail_is_routed_by_the_rules(fake: FakeDesk) -> None:
    add_rule(fake, "payments", "Payments", ["not been paid"], actions={"priority": 1})
    message = ParsedMessage(
        message_id="m1@v.example",
        in_reply_to=(),
        references=(),
        subject="Reminder",
        from_address="v@v.example",
        from_name="",
        reply_to=(),
        to=(),
        cc=(),
        date=None,
        text="PO 4500012345 has not been paid.",
        new_text="PO 4500012345 has not been paid.",
        html=None,
    )
    fake.parser.messages[b"raw"] = message
    result = fake.desk.ingest_message(IngestMessage(raw=b"raw"))
    ticket = fake.ticket(result.ticket_id)
    assert (ticket.team_id, int(ticket.priority)) == (teams(fake)["Payments"], 1)
    assert fake.store.routing.tickets[ticket.id].references[0].type == "po"


def test_moving_a_routed_ticket_is_a_misroute_and_a_training_example(fake: FakeDesk) -> None:
    add_rule(fake, "payments", "Payments", ["not been paid"])
    routed = fake.desk.create_ticket(
        CreateTicket(
            subject="Not paid", description="has not been paid", team_id=None, requester_email="v@x.example"
        ),
        SYSTEM,
    ).ticket
    chosen = fake.desk.create_ticket(
        CreateTicket(
            subject="x", description="", team_id=teams(fake)["Payments"], requester_email="v@x.example"
        ),
        SYSTEM,
    ).ticket
    ap = teams(fake)["Accounts Payable"]
    for view in (routed, chosen):
        fake.desk.update_ticket(UpdateTicket(view.id, TicketChanges(team_id=ap)), SYSTEM)
    assert [(t, f, to) for t, f, to, _ in fake.store.routing.corrections] == [
        (routed.id, teams(fake)["Payments"], ap)
    ]
    misroutes = [e for e in fake.published if e.action == "routing.misroute"]
    assert [(e.entity_id, e.team_id) for e in misroutes] == [(str(routed.id), teams(fake)["Payments"])]


def test_the_default_rule_set_loads_once(fake: FakeDesk) -> None:
    routing = parse_default_routing(default_routing_data())
    first = fake.desk.load_default_routing(routing, SYSTEM)
    again = fake.desk.load_default_routing(routing, SYSTEM)
    assert first.rules_created == len(routing.rules) >= 15
    assert first.teams_created == 4  # Vendor Management, Procurement, Inventory, KYC were missing
    assert (again.teams_created, again.rules_created, again.rules_kept) == (0, 0, len(routing.rules))
    assert {"KYC", "Triage", "Inventory"} <= set(teams(fake))


def test_a_malformed_default_rule_set_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        parse_default_routing({"teams": [], "rules": [{"team": "AP"}]})


def _shipped(version: int) -> dict[str, Any]:
    """A small shipped set; version 2 rewords one rule, adds one and retires one of version 1."""
    rules = [
        {"name": "Bank changes", "team": "Risk", "priority": 2, "stop": True,
         "conditions": [{"field": "body", "op": "contains_any", "value": ["new iban"]}]},
        {"name": "Old invoices rule", "team": "Accounts Payable",
         "conditions": [{"field": "body", "op": "contains", "value": "invoice"}]},
        {"name": "Payments", "team": "Payments",
         "conditions": [{"field": "body", "op": "contains", "value": "overdue"}]},
    ]  # fmt: skip
    data: dict[str, Any] = {
        "teams": [{"name": n} for n in ("Accounts Payable", "Payments", "Risk", "Triage")]
    }
    if version == 1:
        return {**data, "rules": rules}
    rules[0] = {**rules[0], "priority": 1, "conditions": [
        {"field": "text", "op": "contains_any", "value": ["new iban", "neue bankverbindung"]}]}  # fmt: skip
    rules[1] = {"name": "Invoices", "team": "Accounts Payable",
                "conditions": [{"field": "text", "op": "contains", "value": "invoice "}]}  # fmt: skip
    return {**data, "rules": rules, "retired_rules": ["Old invoices rule"]}


def test_an_update_brings_shipped_rules_to_the_new_version_audited(fake: FakeDesk) -> None:
    fake.desk.load_default_routing(parse_default_routing(_shipped(1)), SYSTEM)
    own = add_rule(fake, "my own rule", "Payments", ["remittance"])
    payments = {r.name: r for r in fake.desk.routing_rules.list(SYSTEM)}["Payments"]
    fake.desk.routing_rules.update(UpdateRule(payments.id, {"enabled": False}), SYSTEM)  # the admin's choice

    kept = fake.desk.load_default_routing(parse_default_routing(_shipped(2)), SYSTEM)
    assert (kept.rules_created, kept.rules_updated, kept.rules_retired) == (
        1,
        0,
        0,
    )  # without update: added only
    assert explain(fake, "neue Bankverbindung").team_name != "Risk"

    updated = fake.desk.load_default_routing(parse_default_routing(_shipped(2)), SYSTEM, update=True)
    assert (updated.rules_created, updated.rules_updated, updated.rules_kept, updated.rules_retired) == (
        0,
        1,
        2,
        1,
    )
    rules = {r.name: r for r in fake.desk.routing_rules.list(SYSTEM)}
    assert rules["Bank changes"].actions["priority"] == 1
    assert explain(fake, "Bitte beachten Sie unsere neue Bankverbindung").team_name == "Risk"
    assert not rules["Old invoices rule"].enabled  # retired: disabled, not deleted
    assert not rules["Payments"].enabled  # an update leaves enabled as the admin set it
    assert rules["my own rule"].id == own
    assert rules["my own rule"].enabled
    events = [e.event for e in fake.store.audit if e.event.action == "routing_rule.updated"]
    assert {(e.entity_id, tuple(sorted(e.after))) for e in events[-2:]} == {
        (str(rules["Bank changes"].id), ("actions", "conditions")),
        (str(rules["Old invoices rule"].id), ("enabled",)),
    }

    again = fake.desk.load_default_routing(parse_default_routing(_shipped(2)), SYSTEM, update=True)
    assert (again.rules_created, again.rules_updated, again.rules_retired) == (0, 0, 0)


def test_a_default_rule_set_that_ships_a_retired_rule_is_refused() -> None:
    data = _shipped(2)
    data["retired_rules"] = ["Payments"]
    with pytest.raises(ValidationFailed, match="retired"):
        parse_default_routing(data)
