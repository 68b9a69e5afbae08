"""Benchmark 3: redistributing 100,000 active tickets away from the agents being removed.

A team of 40 agents (created through the AgentHandlers use case); 100,000 active tickets (new, open,
pending; all priorities) are bulk-inserted in SQL held by 20 of them, plus 20,000 resolved/closed ones
that must stay put. The 20 receivers start the day with uneven loads (0-49 tickets already assigned
today), so "within one ticket" afterwards shows the least-loaded-first leveling, not just an even
split. Then:

  A. `desk().reassign_tickets(ReassignTickets(agent_ids=the 20), SYSTEM)`, one transaction: timed,
     with the wall time of each kind of SQL statement run through Django's cursor;
  B. (same set-up in a second team) the 20 agents deactivated one by one through
     `desk().agents.update(UpdateAgent(id, is_active=False), SYSTEM)`: total and slowest call.

Afterwards it prints, among the receivers: min/max tickets_assigned_today (the agents API's figure),
min/max active tickets held, and checks that the removed agents hold no active ticket.

    python bench/redistribute.py [--tickets 100000] [--skip-deactivate]
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

import _common as common

AGENTS = 40
REMOVED = 20
TARGET_SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000, help="active tickets held by the removed")
    parser.add_argument("--inactive", type=int, default=20_000, help="resolved/closed tickets they hold")
    parser.add_argument("--skip-deactivate", action="store_true", help="skip variant B")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run A once more under cProfile (own team) and print hot spots",
    )
    args = parser.parse_args()

    common.banner(
        f"Benchmark 3: redistribute {args.tickets:,} active tickets from {REMOVED} of {AGENTS} agents"
    )
    background = common.warn_if_busy("redistribute")
    meter = common.CpuMeter(pg_url=common.BENCH_DB)
    common.recreate_database(common.BENCH_DB)
    common.setup_django(common.BENCH_DB)
    from p2pdesk import bootstrap

    desk = bootstrap.desk()

    results: dict[str, Any] = {"tickets": args.tickets, "background_cores_before": background}
    team_a, removed_a, receivers_a = _set_up(desk, "Bench redistribution A", args.tickets, args.inactive)
    results["reassign"] = _run_reassign(desk, team_a, removed_a, receivers_a, args.tickets)
    if not args.skip_deactivate:
        team_b, removed_b, receivers_b = _set_up(desk, "Bench redistribution B", args.tickets, args.inactive)
        results["deactivate"] = _run_deactivate(desk, team_b, removed_b, receivers_b)

    if args.profile:
        _, removed_c, _ = _set_up(desk, "Bench redistribution C (profiled)", args.tickets, args.inactive)
        results["profile"] = _profile_reassign(desk, removed_c)

    a = results["reassign"]
    summary = [
        [
            f"redistribute {a['moved']:,} (reassign_tickets)",
            f"{a['seconds']:.2f} s",
            f"< {TARGET_SECONDS:.0f} s",
            common.verdict(a["seconds"] < TARGET_SECONDS),
        ],
        [
            "  receivers' assigned today max-min",
            f"{a['today_spread']} (min {a['today_min']}, max {a['today_max']})",
            "<= 1",
            common.verdict(a["today_spread"] <= 1),
        ],
        [
            "  receivers' active held min/max",
            f"{a['held_min']}/{a['held_max']}; removed hold {a['removed_still_active']} active",
            "",
            "",
        ],
    ]
    if "deactivate" in results:
        b = results["deactivate"]
        summary.append(
            [
                f"deactivate {REMOVED} agents one by one",
                f"{b['seconds']:.2f} s total, slowest call {b['slowest']:.2f} s",
                "",
                "",
            ]
        )
        summary.append(
            [
                "  receivers' assigned today max-min",
                f"{b['today_spread']} (min {b['today_min']}, max {b['today_max']})",
                "<= 1",
                common.verdict(b["today_spread"] <= 1),
            ]
        )
    results["summary"] = summary
    results["cpu_during"] = common.other_load_note(meter)
    print()
    print(common.table(["figure", "measured", "target", ""], summary))
    print(f"\nresults: {common.write_result('redistribute', results)}")


def _set_up(desk: Any, name: str, tickets: int, inactive: int) -> tuple[int, list[int], list[int]]:
    from django.db import connection

    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_agents import CreateAgent
    from p2pdesk.application.use_cases.manage_teams import CreateTeam

    started = time.perf_counter()
    team_id = desk.teams.create(CreateTeam(name=name), SYSTEM)
    agents = [
        desk.agents.create(
            CreateAgent(email=f"agent{i}.t{team_id}@bench.example", name=f"Agent {i}", team_ids=[team_id]),
            SYSTEM,
        )
        for i in range(AGENTS)
    ]
    removed, receivers = agents[:REMOVED], agents[REMOVED:]
    with connection.cursor() as cursor:
        # Receivers: 0-49 tickets already assigned today (a valid pool row and agent counter).
        cursor.execute(
            """
            WITH day AS (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS s)
            UPDATE p2pdesk_membership m
               SET assigned_on_day = (m.agent_id * 37) %% 50,
                   last_assigned_at = CASE WHEN (m.agent_id * 37) %% 50 = 0 THEN m.last_assigned_at
                                           ELSE day.s + (now() - day.s) / 2 END
              FROM day WHERE m.team_id = %s AND m.agent_id = ANY(%s)
            """,
            [team_id, receivers],
        )
        cursor.execute(
            """
            UPDATE p2pdesk_agent a
               SET assigned_today = m.assigned_on_day, total_assigned = m.assigned_on_day,
                   counters_day = (now() AT TIME ZONE 'UTC')::date
              FROM p2pdesk_membership m WHERE m.agent_id = a.id AND m.team_id = %s AND a.id = ANY(%s)
            """,
            [team_id, receivers],
        )
        # Tickets held by the agents to remove; each takes a number from the ticket-number table.
        _insert_tickets(cursor, team_id, removed, tickets, ["new", "open", "pending"])
        _insert_tickets(cursor, team_id, removed, inactive, ["resolved", "closed"])
        cursor.execute("VACUUM ANALYZE p2pdesk_ticket")
        cursor.execute("VACUUM ANALYZE p2pdesk_ticket_number")
    print(
        f"  set up team {team_id}: {AGENTS} agents, {tickets:,} active + {inactive:,} resolved/closed"
        f" tickets held by {REMOVED} of them in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return team_id, removed, receivers


def _insert_tickets(cursor: Any, team_id: int, agents: list[int], n: int, statuses: list[str]) -> None:
    if n <= 0:
        return
    cursor.execute(
        """
        WITH nums AS (
            INSERT INTO p2pdesk_ticket_number (id)
            SELECT nextval(pg_get_serial_sequence('p2pdesk_ticket_number', 'id')) FROM generate_series(1, %s)
            RETURNING id
        )
        INSERT INTO p2pdesk_ticket (id, number, subject, description, team_id, agent_id, status, priority,
                                    requester_email, source, reference_type, reference_id,
                                    created_at, updated_at, resolved_at,
                                    sla_state, sla_resolved, sla_breached, sla_escalated)
        SELECT gen_random_uuid(), n.id, 'Bench backlog ticket ' || n.id, '', %s,
               (%s::bigint[])[1 + n.id %% %s], s.status, 1 + (n.id / 7) %% 4,
               'requester' || (n.id %% 5000) || '@supplier.example', 'api', 'invoice', 'INV-' || n.id,
               c.at, c.at + interval '1 hour',
               CASE WHEN s.status IN ('resolved', 'closed') THEN c.at + interval '1 hour' END,
               '', false, '[]'::jsonb, '[]'::jsonb  -- no SLA policy: the team has none here
          FROM nums n
         CROSS JOIN LATERAL (SELECT (%s::text[])[1 + n.id %% %s] AS status) s
         CROSS JOIN LATERAL (
               SELECT now() - interval '2 hours' - (n.id %% 86400) * interval '1 minute' AS at
         ) c
        """,
        [n, team_id, agents, len(agents), statuses, len(statuses)],
    )


def _run_reassign(
    desk: Any, team_id: int, removed: list[int], receivers: list[int], n: int
) -> dict[str, Any]:
    from django.db import connection

    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.reassign_tickets import ReassignTickets

    print(f"  A. reassign_tickets({REMOVED} agents) ...", flush=True)
    timer = common.StatementTimer()
    rss_before = _peak_rss_mb()
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        result = desk.reassign_tickets(ReassignTickets(agent_ids=removed), SYSTEM)
        seconds = time.perf_counter() - started
    out = {
        "seconds": seconds,
        "moved": result.moved,
        "unassigned": result.unassigned,
        "receivers_got": len(result.received),
        "sql_seconds": dict(sorted(timer.seconds.items(), key=lambda kv: -kv[1])),
        "sql_counts": timer.counts,
        "peak_rss_mb": _peak_rss_mb(),
        "peak_rss_mb_before": rss_before,
        **_spread(desk, team_id, removed, receivers),
    }
    sql_total = sum(timer.seconds.values())
    print(
        f"     {seconds:.2f} s for {result.moved:,} moved ({result.moved / seconds:,.0f} tickets/s),"
        f" {result.unassigned} left unassigned; peak RSS {out['peak_rss_mb']:.0f} MB"
    )
    print(
        f"     {sql_total:.2f} s in SQL run through Django's cursor (statements issued on the raw psycopg"
        " connection, e.g. COPY or binary-bound arrays, are not seen here), by statement kind (s, count):"
    )
    for kind, secs in out["sql_seconds"].items():
        print(f"       {secs:7.3f}  x{timer.counts[kind]:<5} {kind}")
    _print_spread(out)
    if result.moved != n:
        print(f"     NOTE: moved {result.moved:,}, expected {n:,}")
    return out


def _profile_reassign(desk: Any, removed: list[int]) -> str:
    import cProfile
    import io
    import pstats

    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.reassign_tickets import ReassignTickets

    print("  C. reassign_tickets under cProfile (slower than A; for where the time goes) ...", flush=True)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(desk.reassign_tickets, ReassignTickets(agent_ids=removed), SYSTEM)
    seconds = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    text = f"profiled run: {seconds:.2f} s\n" + out.getvalue()
    print(text)
    return text


def _run_deactivate(desk: Any, team_id: int, removed: list[int], receivers: list[int]) -> dict[str, Any]:
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_agents import UpdateAgent

    print(f"  B. deactivating {REMOVED} agents one by one through AgentHandlers.update ...", flush=True)
    calls = []
    started = time.perf_counter()
    for agent_id in removed:
        t0 = time.perf_counter()
        desk.agents.update(UpdateAgent(agent_id=agent_id, is_active=False), SYSTEM)
        calls.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    out = {
        "seconds": seconds,
        "slowest": max(calls),
        "calls": calls,
        **_spread(desk, team_id, removed, receivers),
    }
    print(f"     {seconds:.2f} s in total; per call min {min(calls):.2f} s, max {max(calls):.2f} s")
    _print_spread(out)
    return out


def _spread(desk: Any, team_id: int, removed: list[int], receivers: list[int]) -> dict[str, Any]:
    from django.db import connection

    page = desk.agent_queries.list({"team": str(team_id)}, cursor=None, limit=500)
    today = {a.id: a.tickets_assigned_today for a in page.results if a.id in receivers}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT agent_id, count(*) FROM p2pdesk_ticket
             WHERE team_id = %s AND status IN ('new', 'open', 'pending') AND agent_id IS NOT NULL
             GROUP BY agent_id
            """,
            [team_id],
        )
        held = dict(cursor.fetchall())
    return {
        "today_min": min(today.values()),
        "today_max": max(today.values()),
        "today_spread": max(today.values()) - min(today.values()),
        "held_min": min(held.get(a, 0) for a in receivers),
        "held_max": max(held.get(a, 0) for a in receivers),
        "removed_still_active": sum(held.get(a, 0) for a in removed),
        "assigned_today": today,
    }


def _print_spread(out: dict[str, Any]) -> None:
    print(
        f"     receivers: tickets_assigned_today min {out['today_min']} max {out['today_max']}"
        f" (max-min {out['today_spread']}); active tickets held min {out['held_min']} max {out['held_max']};"
        f" removed agents still hold {out['removed_still_active']} active"
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
