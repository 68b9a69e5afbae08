"""Assignment under real concurrency on PostgreSQL: several OS processes create tickets at once.

Each worker is a fresh interpreter (multiprocessing, 'spawn') that points Django at the test database
pytest-django created and calls the real use cases (or the HTTP API), so the team advisory locks, the
agent row locks and the idempotency unique key are what keep the results straight, not the test.

The load that decides assignment is an agent's *combined* load of the day: `record_assignments` adds
every assignment to all of the agent's memberships, so an agent serving two teams carries the other
team's tickets into each team's pick. Per-team ticket counts of such an agent are therefore not
within one of its colleagues', and that is not asserted. What holds, and what is asserted, is:

  (R) when a team gives an agent a ticket, that agent has the lowest combined load among the team's
      available members, and loads only grow. So the agent's combined load just after the *last*
      ticket a team T gave it is at most one above the final combined load of every other member
      of T. For an agent serving T alone that is its final load: single-team agents end within one
      of each other and at most one above anyone in the team. A two-team agent may end further
      ahead of one team's members, but only through tickets of its other team.

Module-level imports stay free of Django: the spawned workers import this module before setting up
Django against the test database.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import pytest

# Transactional: no test-wide transaction, so the worker processes see what the test commits.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKER_TIMEOUT = 600  # seconds for all workers: a deadlock fails the test instead of hanging


# --- worker side (runs in the spawned processes) -------------------------------------------------------


def _create_tickets(team_id: int, count: int, tag: str) -> dict[str, Any]:
    """Create `count` tickets through the real use case; report what each call returned."""
    from p2pdesk import bootstrap
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.create_ticket import CreateTicket

    desk = bootstrap.desk()
    created: list[tuple[str, str, int | None]] = []
    errors: list[str] = []
    for i in range(count):
        command = CreateTicket(
            subject=f"{tag}: invoice INV-{i:05d} not paid",
            description="Payment run skipped this invoice.",
            team_id=team_id,
            requester_email=f"ap+{tag}@vendor.example",
            priority=1 + i % 4,
        )
        try:
            ticket = desk.create_ticket(command, SYSTEM).ticket
        except Exception:
            errors.append(traceback.format_exc(limit=3))
            continue
        created.append((str(ticket.id), ticket.number, ticket.agent))
    return {"created": created, "errors": errors}


def _post_same_keys(token: str, team_id: int, keys: list[str]) -> dict[str, Any]:
    """POST the same body under each of `keys`, through the real HTTP stack."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    responses = []
    for key in keys:
        body = {
            "subject": f"Duplicate payment for {key}",
            "description": "Vendor was paid twice.",
            "team": team_id,
            "requester_email": "treasury@vendor.example",
            "priority": 2,
        }
        response = client.post("/api/v1/tickets/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        data = response.json()
        responses.append((key, response.status_code, data.get("id"), data))
    return {"responses": responses}


_JOBS: dict[str, Callable[..., dict[str, Any]]] = {
    "create_tickets": _create_tickets,
    "post_same_keys": _post_same_keys,
}


def _worker_main(
    index: int, database_url: str, job: str, kwargs: dict[str, Any], barrier: Any, results: Any
) -> None:
    try:
        os.environ["DATABASE_URL"] = database_url  # the test database, not the one in the environment
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        os.environ["LOG_LEVEL"] = "WARNING"
        os.environ["DEBUG"] = "0"
        import django

        django.setup()
        from django.db import connections

        try:
            barrier.wait(timeout=60)  # start together: every worker is set up and connected by now
            results.put((index, "ok", _JOBS[job](**kwargs)))
        finally:
            connections.close_all()
    except BaseException:
        results.put((index, "error", traceback.format_exc()))


# --- test side -------------------------------------------------------------------------------------


def _test_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created (test_p2pdesk, or test_p2pdesk_gwN)."""
    from django.db import connection

    s = connection.settings_dict
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{quote(s['USER'], safe='')}{password}@{s['HOST']}{port}/{quote(s['NAME'], safe='')}"


class Workers:
    def __init__(self, processes: list[Any], results: Any) -> None:
        self._processes = processes
        self._results = results

    def wait(self) -> list[dict[str, Any]]:
        """Each worker's result, in the order the jobs were given; fails on any worker error."""
        outcomes: dict[int, tuple[str, Any]] = {}
        deadline = time.monotonic() + WORKER_TIMEOUT
        while len(outcomes) < len(self._processes):
            try:
                index, status, payload = self._results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(
                    f"workers still running after {WORKER_TIMEOUT}s (deadlock?); done: {sorted(outcomes)}"
                )
            outcomes[index] = (status, payload)
        failed = {i: payload for i, (status, payload) in outcomes.items() if status != "ok"}
        assert not failed, "workers crashed:\n" + "\n".join(failed.values())
        return [outcomes[i][1] for i in range(len(self._processes))]


@contextmanager
def workers(jobs: list[tuple[str, dict[str, Any]]]) -> Iterator[Workers]:
    """Start one spawned process per job; they begin work together once all are set up."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs))
    results = context.Queue()
    url = _test_database_url()
    processes = [
        context.Process(target=_worker_main, args=(i, url, job, kwargs, barrier, results), daemon=True)
        for i, (job, kwargs) in enumerate(jobs)
    ]
    for process in processes:
        process.start()
    try:
        yield Workers(processes, results)
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():  # only after a failure: stop the processes this test started
                process.terminate()
                process.join(timeout=5)


def _create_team(name: str) -> int:
    from p2pdesk import bootstrap
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_teams import CreateTeam

    return bootstrap.desk().teams.create(CreateTeam(name=f"{name} {uuid.uuid4().hex[:8]}"), SYSTEM)


def _create_agent(label: str, team_ids: list[int]) -> int:
    from p2pdesk import bootstrap
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_agents import CreateAgent

    email = f"{label}.{uuid.uuid4().hex[:8]}@p2pdesk.example"
    return bootstrap.desk().agents.create(CreateAgent(email=email, name=label, team_ids=team_ids), SYSTEM)


def _desk_today() -> date:
    """The desk's business day: agents' counters and (teams created in the desk's timezone) loads."""
    from django.conf import settings

    from p2pdesk.domain.business_day import business_day

    return business_day(settings.P2PDESK_TIME_ZONE, datetime.now(UTC))


Event = tuple[int, str, dict[str, Any], dict[str, Any]]  # audit id, action, before, after


def _ticket_events(ticket_ids: list[str]) -> dict[str, list[Event]]:
    """Audit events per ticket id: (event id, action, before, after) in insertion order."""
    from p2pdesk.infrastructure.persistence.models import AuditEventRecord

    events: dict[str, list[Event]] = defaultdict(list)
    rows = (
        AuditEventRecord.objects.filter(entity_type="ticket", entity_id__in=ticket_ids)
        .order_by("id")
        .values_list("id", "entity_id", "action", "before", "after")
    )
    for event_id, entity_id, action, before, after in rows:
        events[entity_id].append((event_id, action, before, after))
    return events


def _assignments_per_agent(events: dict[str, list[Event]]) -> Counter[int]:
    """How many `ticket.assigned` events name each agent as the new holder."""
    return Counter(
        after["agent"]
        for evs in events.values()
        for _, action, _, after in evs
        if action == "ticket.assigned"
    )


def _assert_counters_match(agent_ids: list[int], assigned_events: Counter[int], day: date) -> None:
    """Each agent's counters, and its load in each of its teams, equal the assignments it received."""
    from p2pdesk.infrastructure.persistence.models import AgentRecord, MembershipRecord

    agents = {a.id: a for a in AgentRecord.objects.filter(id__in=agent_ids)}
    counters = {
        a: (agents[a].total_assigned, agents[a].assigned_today, agents[a].counters_day) for a in agent_ids
    }
    n = assigned_events
    expected = {a: (n[a], n[a], day if n[a] else None) for a in agent_ids}  # day set by the first one
    assert counters == expected, "AgentRecord (total_assigned, assigned_today, counters_day) vs audit"
    # The teams use the desk's timezone, so a membership's day load is the agent's whole day load.
    memberships = {
        (m.team_id, m.agent_id): m.assigned_on_day
        for m in MembershipRecord.objects.filter(agent_id__in=agent_ids)
    }
    assert memberships == {key: assigned_events[key[1]] for key in memberships}, "assigned_on_day vs audit"


def _assert_rule_r(
    events: dict[str, list[Event]], team_of: dict[str, int], teams: dict[int, set[int]]
) -> dict[int, int]:
    """Rule (R) of the module docstring; `teams` maps each team to its available members.

    An agent's load after each of its assignments is its rank among them in audit-id order: a worker
    holds the chosen agent's row lock from before it writes the audit rows until it commits, so two
    assignments to one agent get their audit ids in the order they happened. Returns final loads.
    """
    received: dict[int, list[tuple[int, int]]] = defaultdict(list)  # agent -> [(audit id, team)]
    for ticket_id, evs in events.items():
        for event_id, action, _, after in evs:
            if action == "ticket.assigned":
                received[after["agent"]].append((event_id, team_of[ticket_id]))
    agents = set().union(*teams.values())
    assert set(received) <= agents, f"tickets went to non-members: {set(received) - agents}"
    loads = {a: len(received[a]) for a in agents}
    for agent in sorted(agents):
        load_after_last = {team: rank for rank, (_, team) in enumerate(sorted(received[agent]), start=1)}
        for team, load in load_after_last.items():
            floor = min(loads[other] for other in teams[team] - {agent})
            assert load <= floor + 1, (
                f"team {team} gave agent {agent} a ticket taking its load to {load}, but a colleague "
                f"ended at {floor}: it was not the least-loaded member (final loads: {loads})"
            )
    for team, members in teams.items():
        single = {a: loads[a] for a in members if all(a not in teams[t] for t in teams if t != team)}
        assert max(single.values()) - min(single.values()) <= 1, f"team {team}'s single-team agents: {single}"
    return loads


def test_thousands_of_concurrent_creates_are_assigned_fairly_and_counted_exactly() -> None:
    from p2pdesk.infrastructure.persistence.models import TicketRecord

    payables = _create_team("Accounts Payable")
    vendors = _create_team("Vendor Master")
    payables_only = [_create_agent(f"ap{i}", [payables]) for i in range(1, 6)]
    shared = [_create_agent(f"shared{i}", [payables, vendors]) for i in range(1, 3)]
    vendors_only = [_create_agent(f"vm{i}", [vendors]) for i in range(1, 3)]
    members = {payables: set(payables_only + shared), vendors: set(shared + vendors_only)}
    agent_ids = payables_only + shared + vendors_only
    per_worker = {payables: [520] * 4, vendors: [260]}  # 2,080 tickets into one team, 260 into the other
    attempted = sum(sum(counts) for counts in per_worker.values())
    day = _desk_today()

    jobs = [
        ("create_tickets", {"team_id": team, "count": count, "tag": f"w{team}-{n}"})
        for team, counts in per_worker.items()
        for n, count in enumerate(counts)
    ]
    with workers(jobs) as running:
        results = running.wait()
    if _desk_today() != day:
        pytest.skip("the desk's day changed during the run: today's counters restarted")

    errors = [e for r in results for e in r["errors"]]
    assert errors == [], f"{len(errors)} creates failed, first: {errors[0]}"
    returned = {ticket_id: (number, agent) for r in results for ticket_id, number, agent in r["created"]}
    assert len(returned) == attempted

    rows = {
        str(t.id): t for t in TicketRecord.objects.filter(team_id__in=[payables, vendors]).order_by("number")
    }
    # No ticket lost or duplicated, every number unique, each as the use case returned it.
    assert len(rows) == attempted
    assert set(rows) == set(returned)
    assert len({t.number for t in rows.values()}) == attempted
    assert {i: (f"P2P-{t.number:06d}", t.agent_id) for i, t in rows.items()} == returned
    # Every ticket went to an available member of its own team.
    unassigned = [i for i, t in rows.items() if t.agent_id is None]
    assert unassigned == [], f"{len(unassigned)} tickets left unassigned while every agent was active"
    strays = [(i, t.team_id, t.agent_id) for i, t in rows.items() if t.agent_id not in members[t.team_id]]
    assert strays == []
    per_team = Counter(t.team_id for t in rows.values())
    assert per_team == {team: sum(counts) for team, counts in per_worker.items()}

    # Exactly one created and one assigned event per ticket, the assigned one naming the holder.
    events = _ticket_events(list(rows))
    actions = Counter((ticket_id, action) for ticket_id, evs in events.items() for _, action, _, _ in evs)
    assert actions == Counter({(i, a): 1 for i in rows for a in ("ticket.created", "ticket.assigned")})
    for ticket_id, evs in events.items():
        (after,) = [after for _, action, _, after in evs if action == "ticket.assigned"]
        assert after["agent"] == rows[ticket_id].agent_id

    # Counters equal the truth: nothing was reassigned, so events received == tickets held.
    assigned_events = _assignments_per_agent(events)
    held = Counter(t.agent_id for t in rows.values())
    assert held == assigned_events
    _assert_counters_match(agent_ids, assigned_events, day)

    # Fairness. Single-team agents hold only their team's tickets, so for them tickets held in the
    # team == combined load, and those are within one per team; rule (R) covers the two-team agents.
    loads = _assert_rule_r(events, {i: t.team_id for i, t in rows.items()}, members)
    assert loads == {a: held[a] for a in agent_ids}
    team_loads = Counter((t.team_id, t.agent_id) for t in rows.values())
    payables_only_held = [team_loads[payables, a] for a in payables_only]
    assert max(payables_only_held) - min(payables_only_held) <= 1, payables_only_held
    # The two-team agents took Accounts Payable tickets too, on top of whatever Vendor Master gave them
    # (whose 260 tickets cannot outweigh 2,080 shared by 7), and their Vendor Master memberships
    # counted those: the cross-team path was taken (_assert_counters_match checked assigned_on_day).
    assert all(team_loads[payables, a] > 0 for a in shared), team_loads


def test_concurrent_creates_with_one_idempotency_key_make_one_ticket() -> None:
    from p2pdesk import bootstrap
    from p2pdesk.application.principal import Role
    from p2pdesk.infrastructure.persistence.models import IdempotencyKeyRecord, TicketRecord

    team = _create_team("Treasury")
    agent_ids = [_create_agent(f"tr{i}", [team]) for i in range(1, 4)]
    token = bootstrap.issue_api_token(f"erp.{uuid.uuid4().hex[:8]}@p2pdesk.example", Role.INTEGRATION)
    keys = [f"erp-dup-{uuid.uuid4()}" for _ in range(12)]
    callers = 5
    day = _desk_today()

    # Every caller sends the same keys in the same order, so each key is raced by all of them.
    with workers([("post_same_keys", {"token": token, "team_id": team, "keys": keys})] * callers) as running:
        results = running.wait()

    by_key: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for result in results:
        for key, code, ticket_id, data in result["responses"]:
            assert code in (200, 201), (key, code, data)
            by_key[key].append((code, ticket_id))
    assert sorted(by_key) == sorted(keys)
    for key, answers in by_key.items():
        assert sorted(code for code, _ in answers) == [200] * (callers - 1) + [201], (key, answers)
        assert len({ticket_id for _, ticket_id in answers}) == 1, (key, answers)

    tickets = {str(t.id): t for t in TicketRecord.objects.filter(team_id=team)}
    assert sorted(tickets) == sorted(answers[0][1] for answers in by_key.values())
    stored = dict(IdempotencyKeyRecord.objects.filter(key__in=keys).values_list("key", "ticket_id"))
    assert {k: str(v) for k, v in stored.items()} == {k: answers[0][1] for k, answers in by_key.items()}
    events = _ticket_events(list(tickets))
    actions = Counter((ticket_id, action) for ticket_id, evs in events.items() for _, action, _, _ in evs)
    assert actions == Counter({(i, a): 1 for i in tickets for a in ("ticket.created", "ticket.assigned")})
    # The losing transactions rolled back their counter increments along with their tickets.
    assigned_events = _assignments_per_agent(events)
    assert sum(assigned_events.values()) == len(keys)
    _assert_counters_match(agent_ids, assigned_events, day)
    held = [sum(1 for t in tickets.values() if t.agent_id == a) for a in agent_ids]
    assert max(held) - min(held) <= 1, held


def test_deactivating_an_agent_while_other_processes_create_hands_over_all_its_tickets() -> None:
    from p2pdesk import bootstrap
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_agents import UpdateAgent
    from p2pdesk.infrastructure.persistence.models import AgentRecord, MembershipRecord, TicketRecord

    team = _create_team("Invoice Processing")
    agent_ids = [_create_agent(f"ip{i}", [team]) for i in range(1, 6)]
    leaving, staying = agent_ids[0], agent_ids[1:]
    counts = [300, 300, 300]
    day = _desk_today()

    with workers(
        [("create_tickets", {"team_id": team, "count": n, "tag": f"d{i}"}) for i, n in enumerate(counts)]
    ) as running:
        deadline = time.monotonic() + WORKER_TIMEOUT
        while TicketRecord.objects.filter(team_id=team).count() < 250:
            assert time.monotonic() < deadline, "workers did not get going"
            time.sleep(0.05)
        bootstrap.desk().agents.update(UpdateAgent(agent_id=leaving, is_active=False), SYSTEM)
        created_by_then = TicketRecord.objects.filter(team_id=team).count()
        results = running.wait()
    if _desk_today() != day:
        pytest.skip("the desk's day changed during the run: today's counters restarted")

    errors = [e for r in results for e in r["errors"]]
    assert errors == [], f"{len(errors)} creates failed, first: {errors[0]}"
    rows = {str(t.id): t for t in TicketRecord.objects.filter(team_id=team)}
    returned = {ticket_id for r in results for ticket_id, _, _ in r["created"]}
    assert len(rows) == sum(counts)
    assert set(rows) == returned
    assert created_by_then < sum(counts), "the deactivation must land while creates are still running"

    assert AgentRecord.objects.get(id=leaving).is_active is False
    assert not MembershipRecord.objects.get(team_id=team, agent_id=leaving).available
    # The deactivated agent keeps no active ticket; every ticket is with an active agent.
    holders = Counter(t.agent_id for t in rows.values())
    assert holders[leaving] == 0
    assert set(holders) <= set(staying), holders
    assert all(t.status == "new" for t in rows.values())

    events = _ticket_events(list(rows))
    assigned_events = _assignments_per_agent(events)
    handed_over = [
        (before["agent"], after["agent"])
        for evs in events.values()
        for _, action, before, after in evs
        if action == "ticket.assigned" and after["reason"] == "agent unavailable"
    ]
    # It had work when it left, and exactly that work was handed over, to the others.
    assert assigned_events[leaving] > 0
    assert len(handed_over) == assigned_events[leaving]
    assert {before for before, _ in handed_over} == {leaving}
    for ticket_id, evs in events.items():
        actions = [action for _, action, _, _ in evs]
        assert actions.count("ticket.created") == 1, (ticket_id, actions)
        assert actions.count("ticket.unassigned") == 0, (ticket_id, actions)
        last = [after for _, action, _, after in evs if action == "ticket.assigned"][-1]
        assert last["agent"] == rows[ticket_id].agent_id, (ticket_id, evs)

    # Counters follow every assignment, the handed-over ones included; those who stayed lost nothing,
    # so what they hold is what they received.
    _assert_counters_match(agent_ids, assigned_events, day)
    assert {a: holders[a] for a in staying} == {a: assigned_events[a] for a in staying}
    held = [holders[a] for a in staying]
    assert max(held) - min(held) <= 1, dict(zip(staying, held, strict=True))


def test_audit_table_rejects_update_delete_and_truncate() -> None:
    from django.db import DatabaseError, connection, transaction

    from p2pdesk.infrastructure.persistence.models import AuditEventRecord

    team = _create_team("Audit Probe")
    event = AuditEventRecord.objects.get(entity_type="team", entity_id=str(team), action="team.created")
    # p2pdesk.audit_maintenance=on lets TRUNCATE through (retention purges; the test database sets it
    # so pytest-django can flush); UPDATE and DELETE are refused whatever it says.
    attempts = [
        ("UPDATE", "on", "UPDATE p2pdesk_audit_event SET actor = %s WHERE id = %s", ["intruder", event.id]),
        ("UPDATE", "off", "UPDATE p2pdesk_audit_event SET actor = %s WHERE id = %s", ["intruder", event.id]),
        ("DELETE", "on", "DELETE FROM p2pdesk_audit_event WHERE id = %s", [event.id]),
        ("DELETE", "off", "DELETE FROM p2pdesk_audit_event WHERE id = %s", [event.id]),
        ("TRUNCATE", "off", "TRUNCATE p2pdesk_audit_event", []),
        ("TRUNCATE", "", "TRUNCATE p2pdesk_audit_event", []),
    ]
    for operation, maintenance, sql, params in attempts:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('p2pdesk.audit_maintenance', %s, true)", [maintenance])
            with pytest.raises(DatabaseError) as raised, transaction.atomic():  # a savepoint
                cursor.execute(sql, params)
        cause = raised.value.__cause__
        assert getattr(cause, "sqlstate", None) == "42501", (operation, maintenance, repr(raised.value))
        assert f"p2pdesk_audit_event is append-only: {operation}" in str(raised.value), str(raised.value)

    # The row is untouched, and appending still works.
    event.refresh_from_db()
    assert (event.actor, event.action) == ("system", "team.created")
    AuditEventRecord.objects.create(
        at=event.at, actor="system", action="probe", entity_type="team", entity_id=str(team)
    )
    assert AuditEventRecord.objects.filter(entity_type="team", entity_id=str(team)).count() == 2
