"""Benchmark 2: assignment latency with 10 and with 10,000 agents in one team.

For each team size and each pool state:
  - "fresh day": every agent idle (nothing assigned today; picks use the idle index),
  - "mid-day":   every agent already has 1-20 tickets today (picks use the load index),
it times N ticket creations through the CreateTicketHandler use case (`desk().create_ticket`, the
whole transaction: team lock, number, pick, assign, insert, audit) and, separately, N calls of
`assigning.pick_agent` alone inside a transaction that is rolled back. Flat means the 10,000-agent
figures match the 10-agent ones. It also counts the SQL statements of one create and EXPLAINs
(ANALYZE) the pool's SELECTs captured from a real pick on the 10,000-agent teams.

    python bench/assignment_latency.py [--n 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import _common as common

SIZES = (10, 10_000)
STATES = ("fresh day", "mid-day")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="creations and picks per scenario (default 500)")
    parser.add_argument("--max-seconds", type=float, default=120, help="time cap per timed loop")
    args = parser.parse_args()

    common.banner("Benchmark 2: assignment latency, 10 vs 10,000 agents in one team")
    background = common.warn_if_busy("assignment_latency")
    meter = common.CpuMeter(pg_url=common.BENCH_DB)
    common.recreate_database(common.BENCH_DB)
    common.setup_django(common.BENCH_DB)
    from django.db import connection

    print(f"database {connection.settings_dict['NAME']} (fresh), {args.n} operations per scenario")

    desk = _desk()
    _warm_up(desk)

    rows: list[dict[str, Any]] = []
    explains: list[str] = []
    query_lists: dict[str, list[str]] = {}
    breakdowns: dict[str, dict[str, float]] = {}
    for size in SIZES:
        for state in STATES:
            team_id = _team_with_agents(desk, size, state)
            label = f"{size} agents, {state}"
            queries = _queries_of_one_create(desk, team_id)
            query_lists[label] = queries
            creates, sql_ms = _time_creates(desk, team_id, args.n, args.max_seconds)
            breakdowns[label] = sql_ms
            picks = _time_picks(team_id, args.n, args.max_seconds)
            spread = _spread(team_id)
            rows.append(
                {
                    "agents": size,
                    "state": state,
                    "create_n": len(creates),
                    "create_p50_ms": common.percentile(creates, 50) * 1000,
                    "create_p99_ms": common.percentile(creates, 99) * 1000,
                    "create_mean_ms": statistics.fmean(creates) * 1000,
                    "pick_n": len(picks),
                    "pick_p50_ms": common.percentile(picks, 50) * 1000,
                    "pick_p99_ms": common.percentile(picks, 99) * 1000,
                    "queries_per_create": len(queries),
                    "sql_ms_per_create": sum(sql_ms.values()),
                    **spread,
                }
            )
            print(
                f"  {label:<26} create p50 {rows[-1]['create_p50_ms']:6.2f} ms  p99 "
                f"{rows[-1]['create_p99_ms']:6.2f} ms | pick_agent p50 {rows[-1]['pick_p50_ms']:5.2f} ms"
                f"  p99 {rows[-1]['pick_p99_ms']:5.2f} ms | {len(queries)} SQL statements per create",
                flush=True,
            )
            if size == max(SIZES):
                explains.append(_explain_pick(team_id, label))

    print()
    print(
        common.table(
            [
                "agents",
                "pool state",
                "create p50 ms",
                "create p99 ms",
                "pick p50 ms",
                "pick p99 ms",
                "SQL/create",
                "unassigned",
                "today max-min",
            ],
            [
                [
                    r["agents"],
                    r["state"],
                    f"{r['create_p50_ms']:.2f}",
                    f"{r['create_p99_ms']:.2f}",
                    f"{r['pick_p50_ms']:.2f}",
                    f"{r['pick_p99_ms']:.2f}",
                    r["queries_per_create"],
                    r["unassigned"],
                    r["day_load_spread"],
                ]
                for r in rows
            ],
        )
    )
    flat = _flatness(rows)
    print(
        "\nflatness (10,000-agent p50 / 10-agent p50, same pool state): "
        + ", ".join(f"{k} x{v:.2f}" for k, v in flat.items())
    )
    first = next(iter(query_lists.values()))
    print(f"\nSQL statements of one create ({len(first)}):")
    for sql in first:
        print(f"  {sql}")
    kinds = sorted({k for b in breakdowns.values() for k in b}, key=lambda k: -breakdowns[label][k])
    print("\nwall time per create spent in each kind of statement (ms, client side incl. round trip):")
    print(
        common.table(
            ["statement", *breakdowns],
            [[k, *(f"{b.get(k, 0):.2f}" for b in breakdowns.values())] for k in kinds]
            + [
                ["all SQL", *(f"{sum(b.values()):.2f}" for b in breakdowns.values())],
                ["whole create (p50)", *(f"{r['create_p50_ms']:.2f}" for r in rows)],
            ],
        )
    )
    print("\nEXPLAIN ANALYZE of the pool's SELECTs in one pick (10,000 agents):")
    for block in explains:
        print(block)
    summary = []
    for r in rows:
        summary.append(
            [
                f"assign {r['agents']} agents ({r['state']})",
                f"create p50 {r['create_p50_ms']:.1f} / p99 {r['create_p99_ms']:.1f} ms; "
                f"pick p50 {r['pick_p50_ms']:.2f} / p99 {r['pick_p99_ms']:.2f} ms",
                "flat vs team size",
                "",
            ]
        )
    summary.append(
        [
            "assign flatness 10k/10 (create p50)",
            ", ".join(f"{k} x{v:.2f}" for k, v in flat.items()),
            "~x1",
            common.verdict(all(v < 1.5 for v in flat.values())),
        ]
    )
    path = common.write_result(
        "assignment_latency",
        {
            "n": args.n,
            "background_cores_before": background,
            "cpu_during": common.other_load_note(meter),
            "rows": rows,
            "flatness": flat,
            "sql_ms_per_create": breakdowns,
            "explain": explains,
            "summary": summary,
        },
    )
    print(f"\nresults: {path}")


def _desk() -> Any:
    from p2pdesk import bootstrap

    return bootstrap.desk()


def _uow() -> Any:
    """A unit of work from the same factory the use cases get in bootstrap.desk()."""
    return _desk().create_ticket._uow_factory()


def _warm_up(desk: Any) -> None:
    """Imports, connection and first-query costs out of the timed loops."""
    team_id = _team_with_agents(desk, 5, "fresh day", name="Bench warm-up")
    for i in range(30):
        _create(desk, team_id, i)


def _team_with_agents(desk: Any, size: int, state: str, name: str | None = None) -> int:
    """A team made by the use case, with `size` agents bulk-inserted as valid rows."""
    from django.db import connection, transaction

    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_teams import CreateTeam
    from p2pdesk.infrastructure.persistence.models import AgentRecord, MembershipRecord

    team_id = desk.teams.create(CreateTeam(name=name or f"Bench {size} agents {state}"), SYSTEM)
    started = time.perf_counter()
    with transaction.atomic():
        agents = AgentRecord.objects.bulk_create(
            [
                AgentRecord(email=f"agent{i}.t{team_id}@bench.example", name=f"Agent {i} of team {team_id}")
                for i in range(size)
            ],
            batch_size=2000,
        )
        MembershipRecord.objects.bulk_create(
            [MembershipRecord(team_id=team_id, agent_id=a.id, available=True) for a in agents],
            batch_size=2000,
        )
        if state == "mid-day":
            # Everyone has 1-20 tickets today, last one at some moment since the day began.
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    WITH day AS (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS s)
                    UPDATE p2pdesk_membership m
                       SET assigned_on_day = 1 + (m.agent_id * 7919) %% 20,
                           last_assigned_at = day.s + (now() - day.s) * ((m.agent_id * 104729) %% 997) / 997.0
                      FROM day WHERE m.team_id = %s
                    """,
                    [team_id],
                )
                cursor.execute(
                    """
                    UPDATE p2pdesk_agent a
                       SET assigned_today = m.assigned_on_day, total_assigned = m.assigned_on_day,
                           counters_day = (now() AT TIME ZONE 'UTC')::date
                      FROM p2pdesk_membership m WHERE m.agent_id = a.id AND m.team_id = %s
                    """,
                    [team_id],
                )
    with connection.cursor() as cursor:  # autocommit here: as autovacuum would have left the tables
        cursor.execute("VACUUM ANALYZE p2pdesk_membership")
        cursor.execute("VACUUM ANALYZE p2pdesk_agent")
    if size >= 1000:
        print(f"  set up team {team_id}: {size} agents ({state}) in {time.perf_counter() - started:.1f}s")
    return team_id


def _create(desk: Any, team_id: int, i: int) -> Any:
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.create_ticket import CreateTicket

    return desk.create_ticket(
        CreateTicket(
            subject=f"Invoice {i} blocked in 3-way match",
            description="bench",
            team_id=team_id,
            requester_email=f"requester{i % 500}@supplier.example",
            priority=1 + i % 4,
            reference_type="invoice",
            reference_id=f"INV-{i:07d}",
        ),
        SYSTEM,
    )


def _queries_of_one_create(desk: Any, team_id: int) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        _create(desk, team_id, 0)
    return [" ".join(q["sql"].split())[:160] for q in ctx.captured_queries]


def _time_creates(
    desk: Any, team_id: int, n: int, max_seconds: float
) -> tuple[list[float], dict[str, float]]:
    from django.db import connection

    times: list[float] = []
    timer = common.StatementTimer()
    deadline = time.monotonic() + max_seconds
    with connection.execute_wrapper(timer):
        for i in range(n):
            started = time.perf_counter()
            result = _create(desk, team_id, i)
            times.append(time.perf_counter() - started)
            if result.ticket.agent is None:
                print("  WARNING: a ticket was left unassigned", file=sys.stderr)
            if time.monotonic() > deadline:
                print(f"  time cap hit after {i + 1} creates")
                break
    per_create = {k: v / len(times) * 1000 for k, v in timer.seconds.items()}
    return times, per_create


def _time_picks(team_id: int, n: int, max_seconds: float) -> list[float]:
    from p2pdesk.application.assigning import pick_agent
    from p2pdesk.bootstrap import SystemClock

    clock = SystemClock()
    times: list[float] = []
    deadline = time.monotonic() + max_seconds
    for _ in range(n):
        with _uow() as uow:  # never committed: rolled back on exit
            uow.assignment.lock_teams([team_id])
            team = uow.teams.get(team_id)
            at = clock.now()
            started = time.perf_counter()
            chosen = pick_agent(uow, team, at=at)
            times.append(time.perf_counter() - started)
            if chosen is None:
                print("  WARNING: pick_agent found nobody", file=sys.stderr)
        if time.monotonic() > deadline:
            break
    return times


def _spread(team_id: int) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE agent_id IS NULL) FROM p2pdesk_ticket WHERE team_id = %s
            """,
            [team_id],
        )
        unassigned = cursor.fetchone()[0]
        cursor.execute(
            """
            SELECT coalesce(max(assigned_on_day) - min(assigned_on_day), 0)
              FROM p2pdesk_membership WHERE team_id = %s AND available
               AND last_assigned_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            """,
            [team_id],
        )
        spread = cursor.fetchone()[0]
    return {"unassigned": unassigned, "day_load_spread": spread}


def _explain_pick(team_id: int, label: str) -> str:
    """Capture the SQL of one real pick_agent and EXPLAIN ANALYZE its SELECTs on the pool."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from p2pdesk.application.assigning import pick_agent
    from p2pdesk.bootstrap import SystemClock

    lines = [f"-- {label} (team {team_id})"]
    with _uow() as uow:
        uow.assignment.lock_teams([team_id])
        team = uow.teams.get(team_id)
        with CaptureQueriesContext(connection) as ctx:
            pick_agent(uow, team, at=SystemClock().now())
        for query in ctx.captured_queries:
            sql = query["sql"]
            if "p2pdesk_membership" not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
                plan = [row[0] for row in cursor.fetchall()]
            lines.append("   " + " ".join(sql.split())[:200])
            lines.extend(f"      {p}" for p in plan)
    return "\n".join(lines)


def _flatness(rows: list[dict[str, Any]]) -> dict[str, float]:
    out = {}
    for state in STATES:
        small = next(r for r in rows if r["agents"] == min(SIZES) and r["state"] == state)
        big = next(r for r in rows if r["agents"] == max(SIZES) and r["state"] == state)
        out[state] = big["create_p50_ms"] / small["create_p50_ms"]
    return out


if __name__ == "__main__":
    main()
