"""Benchmark 1: ticket creation through the HTTP API (POST /api/v1/tickets/) under gunicorn.

A fresh bench database with one team of 10 agents (created through the use cases) and an admin API
token (`p2pdesk create_api_token`). gunicorn serves config.wsgi with the project's gunicorn.conf.py
on a free loopback port (default 4 sync workers of one thread: gunicorn.conf.py's 4 threads would
turn a sync worker into gthread). The load generator is one asyncio loop in this process writing
raw HTTP/1.1 on `concurrency` loopback connections, a different JSON body each time, for a fixed
time at each client concurrency (1, 4, 16, then 32 if 16 ran without errors); sync workers close
the connection after each response and the generator opens a new one. Counted: 201 responses
(creates/s, p50/p99 latency), every other status or socket error as an error, 201s without an
agent. Reported with them: the CPU the machine, gunicorn, PostgreSQL, the generator and anything
else used, and gunicorn workers started (recycled) during the level. After each level, the spread
of the team's load is read from GET /api/v1/agents/ (max - min of tickets_assigned_today). A last
diagnostic run at concurrency 16 spreads the posts over 4 teams, to tell the per-team assignment
lock apart from CPU as the limit. `--client threads` runs the former generator (a thread per
connection, stdlib http.client), to compare its CPU.

The load generator, gunicorn and PostgreSQL share this machine's cores (2 on the reference machine):
the figures are for the three together.

    python bench/api_create.py [--duration 15] [--concurrency 1,4,16,32] [--workers 4]
        [--worker-class sync|gthread] [--threads 4] [--no-multi-team] [--client asyncio|threads]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time
from collections import Counter
from typing import Any

import _common as common

TARGET_RPS = 300.0
AGENTS_PER_TEAM = 10


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per concurrency level")
    parser.add_argument("--concurrency", default="1,4,16,32", help="comma-separated client concurrencies")
    parser.add_argument("--workers", type=int, default=4)
    # sync by default: with gthread, the thread holding a team's assignment lock also waits for its
    # process's GIL behind the other threads. (Until 2026-12-02 "sync" here ran as gthread x 4 threads:
    # gunicorn.conf.py's threads=4 turns a sync worker into gthread; the bench now passes --threads 1.)
    parser.add_argument("--worker-class", default="sync", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--no-multi-team", action="store_true", help="skip the 4-team diagnostic run")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap per level")
    parser.add_argument(
        "--client",
        default="asyncio",
        choices=["asyncio", "threads"],
        help="load generator: raw HTTP on one asyncio loop (default), or a thread per connection with"
        " http.client (the former generator; it takes more of the CPU the server needs)",
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]

    common.banner("Benchmark 1: POST /api/v1/tickets/ through gunicorn")
    print(common.SHARED_CPU_NOTE)
    background = common.warn_if_busy("api_create")
    meter = common.CpuMeter(pg_url=common.BENCH_DB)
    common.recreate_database(common.BENCH_DB)
    common.setup_django(common.BENCH_DB)
    teams = [_team_with_agents(f"Bench API team {i + 1}") for i in range(1 if args.no_multi_team else 4)]
    token = common.issue_token(common.BENCH_DB)

    results: list[dict[str, Any]] = []
    with common.gunicorn(
        common.BENCH_DB,
        name="api_create",
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
    ) as server:
        print(f"{server.description} on 127.0.0.1:{server.port}; {args.duration:.0f}s per level")
        _run_level(server, token, [teams[0]], 8, 3.0, args.max_requests, args.client)  # warm-up, not reported
        for concurrency in levels:
            previous = results[-1] if results else None
            if concurrency > 16 and previous and previous["errors"]:
                print(f"  c={concurrency}: skipped, c={previous['concurrency']} had errors")
                continue
            level = _run_level(
                server, token, [teams[0]], concurrency, args.duration, args.max_requests, args.client
            )
            level.update(_spread(server.port, token, teams[0]))
            results.append(level)
            _print_level(level)
        multi = None
        if len(teams) > 1:
            multi = _run_level(server, token, teams, 16, args.duration, args.max_requests, args.client)
            multi["label"] = f"c=16 over {len(teams)} teams (diagnostic)"
            multi.update(_spread(server.port, token, teams[1]))
            _print_level(multi)

    print()
    rows = [
        [
            r.get("label", f"c={r['concurrency']}"),
            f"{r['rps']:.0f}",
            common.ms(r["p50"]),
            common.ms(r["p99"]),
            r["errors"],
            r["requests"],
            f"{r['cpu']['machine_cores']:.2f}",
            f"{r['cpu']['server_cores']:.2f}",
            f"{r['cpu']['postgres_cores']:.2f}",
            f"{r['cpu']['loadgen_cores']:.2f}",
            f"{r['cpu']['other_cores']:.2f}",
            r["spread"],
        ]
        for r in [*results, *([multi] if multi else [])]
    ]
    print(
        common.table(
            [
                "concurrency",
                "creates/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "requests",
                "CPU machine",
                "gunicorn",
                "postgres",
                "loadgen",
                "other",
                "today max-min",
            ],
            rows,
        )
    )
    print(
        f"CPU columns: average cores busy (of {os.cpu_count()}): the machine, gunicorn (master+workers),"
        " PostgreSQL (the bench DB's backends + server background processes), this load generator, and"
        " other (anything else on the machine: other people's work)."
    )
    print(common.SHARED_CPU_NOTE)
    best = max(results, key=lambda r: r["rps"]) if results else None
    summary = []
    for r in results:
        summary.append(
            [
                f"API create c={r['concurrency']}",
                f"{r['rps']:.0f}/s, p50 {common.ms(r['p50'])} ms, p99 {common.ms(r['p99'])} ms, "
                f"{r['errors']} errors (CPU: gunicorn {r['cpu']['server_cores']:.2f},"
                f" pg {r['cpu']['postgres_cores']:.2f}, other {r['cpu']['other_cores']:.2f})",
                f">= {TARGET_RPS:.0f}/s",
                common.verdict(r["rps"] >= TARGET_RPS),
            ]
        )
    if multi:
        summary.append(
            [
                "API create c=16, 4 teams (diag.)",
                f"{multi['rps']:.0f}/s, p50 {common.ms(multi['p50'])} ms, p99 {common.ms(multi['p99'])} ms, "
                f"{multi['errors']} errors (CPU: gunicorn {multi['cpu']['server_cores']:.2f},"
                f" pg {multi['cpu']['postgres_cores']:.2f}, other {multi['cpu']['other_cores']:.2f})",
                "",
                "",
            ]
        )
    if results:
        summary.append(
            [
                "API create: agents' load spread",
                f"max-min tickets_assigned_today = {results[-1]['spread']} "
                f"over {results[-1]['team_tickets']:,} tickets, {results[-1]['unassigned']} unassigned",
                "<= 1",
                common.verdict(results[-1]["spread"] <= 1),
            ]
        )
    out = {
        "server": f"{args.workers} x {args.worker_class}"
        + (f"/{args.threads}" if args.worker_class == "gthread" else ""),
        "duration": args.duration,
        "levels": results,
        "multi_team": multi,
        "best_rps": best["rps"] if best else None,
        "note": common.SHARED_CPU_NOTE,
        "background_cores_before": background,
        "cpu_during": common.other_load_note(meter),
        "summary": summary,
    }
    print(f"results: {common.write_result('api_create', out)}")


def _team_with_agents(name: str) -> int:
    from p2pdesk import bootstrap
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_agents import CreateAgent
    from p2pdesk.application.use_cases.manage_teams import CreateTeam

    desk = bootstrap.desk()
    team_id = desk.teams.create(CreateTeam(name=name), SYSTEM)
    for i in range(AGENTS_PER_TEAM):
        desk.agents.create(
            CreateAgent(email=f"agent{i}.t{team_id}@bench.example", name=f"Agent {i}", team_ids=[team_id]),
            SYSTEM,
        )
    return team_id


def _body(n: int, team_id: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": f"Invoice INV-{n:07d} blocked: price variance",
        "description": "The invoice does not match the purchase order; please check the unit price.",
        "team": team_id,
        "priority": 1 + n % 4,
        "requester_email": f"requester{n % 500}@supplier{n % 50}.example",
    }
    if n % 2:
        body["reference"] = {"type": "invoice", "id": f"INV-{n:07d}"}
    return body


def _run_level(
    server: common.Server,
    token: str,
    teams: list[int],
    concurrency: int,
    duration: float,
    max_requests: int,
    client: str = "asyncio",
) -> dict[str, Any]:
    run = _run_asyncio if client == "asyncio" else _run_threads
    cpu = common.CpuMeter(tree_root=server.pid, pg_url=common.BENCH_DB)
    began = time.monotonic()
    latencies, statuses, samples = run(server.port, token, teams, concurrency, duration, max_requests)
    elapsed = time.monotonic() - began
    usage = cpu.read()
    errors: Counter[str] = Counter(statuses)
    unassigned_responses = errors.pop("201 unassigned", 0)
    reconnects = errors.pop("reconnected", 0)
    return {
        "concurrency": concurrency,
        "teams": len(teams),
        "client": client,
        "seconds": elapsed,
        "requests": len(latencies) + sum(errors.values()),
        "created": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": common.percentile(latencies, 50),
        "p99": common.percentile(latencies, 99),
        "max": max(latencies, default=float("nan")),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "error_samples": samples,
        "unassigned_responses": unassigned_responses,
        "kept_alive_reconnects": reconnects,
        "cpu": usage,
    }


Outcome = tuple[list[float], Counter[str], list[str]]


def _run_asyncio(
    port: int, token: str, teams: list[int], concurrency: int, duration: float, max_requests: int
) -> Outcome:
    """`concurrency` connections on one asyncio loop in this thread: raw HTTP/1.1 over loopback
    sockets, so the generator spends little of the CPU the server needs (its share is reported)."""
    return asyncio.run(_asyncio_level(port, token, teams, concurrency, duration, max_requests))


async def _asyncio_level(
    port: int, token: str, teams: list[int], concurrency: int, duration: float, max_requests: int
) -> Outcome:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    samples: list[str] = []
    head = (
        "POST /api/v1/tickets/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        f"Authorization: Token {token}\r\nContent-Type: application/json\r\nContent-Length: "
    )
    budget = [max_requests]
    deadline = time.monotonic() + duration

    async def connection(slot: int) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        n = slot
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            body = json.dumps(_body(n, teams[n % len(teams)])).encode()
            n += concurrency
            request = (head + f"{len(body)}\r\n\r\n").encode() + body
            started = time.perf_counter()
            for attempt in (1, 2):
                reused = writer is not None
                try:
                    if reader is None or writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(request)
                    status, close, data = await _read_response(reader)
                    break
                except (asyncio.IncompleteReadError, ConnectionError) as exc:
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    nothing_back = isinstance(exc, ConnectionError) or not exc.partial
                    if attempt == 1 and reused and nothing_back:
                        # A kept-alive connection the server had closed before reading the request.
                        statuses["reconnected"] += 1
                        continue
                    statuses[type(exc).__name__] += 1
                    status = 0
                    break
            if status == 0:
                continue
            elapsed = time.perf_counter() - started
            if close and writer is not None:
                writer.close()
                reader = writer = None
            if status == 201:
                latencies.append(elapsed)
                if json.loads(data).get("agent") is None:
                    statuses["201 unassigned"] += 1
            else:
                statuses[str(status)] += 1
                if len(samples) < 5:
                    samples.append(f"{status}: {data[:300]!r}")
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection(i) for i in range(concurrency)))
    return latencies, statuses, samples


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """(status, whether the server closes the connection, body) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
    return status, close, await reader.readexactly(length)


def _run_threads(
    port: int, token: str, teams: list[int], concurrency: int, duration: float, max_requests: int
) -> Outcome:
    """The former generator: a thread per connection, stdlib http.client (costs more CPU)."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    statuses: list[Counter[str]] = [Counter() for _ in range(concurrency)]
    samples: list[str] = []
    budget = threading.Semaphore(max_requests)
    start = threading.Event()
    deadline = [0.0]

    def worker(slot: int) -> None:
        client = common.HttpClient(port, token, timeout=60)
        n = slot
        start.wait()
        while time.monotonic() < deadline[0] and budget.acquire(blocking=False):
            body = _body(n, teams[n % len(teams)])
            n += concurrency
            started = time.perf_counter()
            try:
                status, data = client.request("POST", "/api/v1/tickets/", body)
            except OSError as exc:
                statuses[slot][type(exc).__name__] += 1
                client.close()
                continue
            elapsed = time.perf_counter() - started
            if status == 201:
                latencies[slot].append(elapsed)
                if json.loads(data).get("agent") is None:
                    statuses[slot]["201 unassigned"] += 1
            else:
                statuses[slot][str(status)] += 1
                if len(samples) < 5:
                    samples.append(f"{status}: {data[:300]!r}")
        client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + duration
    start.set()
    for t in threads:
        t.join(timeout=duration + 120)
    total: Counter[str] = Counter()
    for c in statuses:
        total.update(c)
    return [x for per in latencies for x in per], total, samples


def _spread(port: int, token: str, team_id: int) -> dict[str, Any]:
    client = common.HttpClient(port, token)
    agents = client.json("GET", f"/api/v1/agents/?team={team_id}&limit=500")["results"]
    client.close()
    today = [a["tickets_assigned_today"] for a in agents]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE agent_id IS NULL)"
            " FROM p2pdesk_ticket WHERE team_id = %s",
            [team_id],
        )
        total, unassigned = cursor.fetchone()
    return {
        "spread": max(today) - min(today),
        "today_min": min(today),
        "today_max": max(today),
        "team_tickets": total,
        "unassigned": unassigned,
    }


def _print_level(r: dict[str, Any]) -> None:
    label = r.get("label", f"c={r['concurrency']}")
    print(
        f"  {label:<8} {r['rps']:7.1f} creates/s  p50 {common.ms(r['p50']):>7} ms"
        f"  p99 {common.ms(r['p99']):>7} ms"
        f"  errors {r['errors']}  | CPU cores: machine {r['cpu']['machine_cores']:.2f},"
        f" gunicorn {r['cpu']['server_cores']:.2f}, postgres {r['cpu']['postgres_cores']:.2f},"
        f" loadgen {r['cpu']['loadgen_cores']:.2f}, other {r['cpu']['other_cores']:.2f}"
        f" | workers started {r['cpu'].get('server_processes_started', 0)}"
        f" | today max-min {r['spread']} ({r['today_min']}..{r['today_max']})",
        flush=True,
    )
    if r["errors"]:
        print(f"           error kinds {r['error_kinds']}; samples: {r['error_samples'][:3]}")


if __name__ == "__main__":
    main()
