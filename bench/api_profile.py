"""Where a ticket create's CPU goes: POST /api/v1/tickets/ through Django's WSGI handler, in process.

No HTTP server and no load generator: the same WSGI application gunicorn runs is called directly
with a ready-made environ, one request after another, on a fresh bench database (one team of 10
agents, an admin token). Reported per request: CPU of this process (time.process_time), CPU of its
PostgreSQL backend (/proc of the backend's pid), wall time, and the SQL statements Django ran
(by kind; the connection health check's `SELECT 1` bypasses Django's cursor and is counted apart).
With --profile a cProfile run of the same loop prints the top functions (also written to
results/api_profile.txt). A diagnostic, not a benchmark with a target: run_all does not run it.

    python bench/api_profile.py [--n 1000] [--rounds 5] [--profile] [--top 40] [--idempotency]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from typing import Any

import _common as common

AGENTS = 10


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="requests per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best is reported too (default 5)")
    parser.add_argument("--profile", action="store_true", help="add a cProfile run of --n requests")
    parser.add_argument("--top", type=int, default=40, help="functions listed by the profile")
    parser.add_argument("--idempotency", action="store_true", help="send an Idempotency-Key on every create")
    args = parser.parse_args()

    common.banner("API create profile: POST /api/v1/tickets/ through the WSGI handler, in process")
    common.warn_if_busy("api_profile")
    common.recreate_database(common.BENCH_DB)
    common.setup_django(common.BENCH_DB)
    token = common.issue_token(common.BENCH_DB)
    team_id = _team()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    app = get_wsgi_application()
    call = _caller(app, token, team_id, args.idempotency)
    for i in range(100):  # imports, connection, caches
        call(i)
    counter = _HealthChecks()
    timer = common.StatementTimer()
    backend = _backend_pid()
    rounds: list[tuple[float, float, float]] = []  # (CPU here, CPU in PostgreSQL, wall) per request
    wall: list[float] = []
    cpu: list[float] = []
    held = _LockHeld()
    with connection.execute_wrapper(timer), connection.execute_wrapper(held):
        for r in range(args.rounds):
            pg_start = _proc_ticks(backend)
            c0, w0 = time.process_time(), time.perf_counter()
            for i in range(args.n):
                w1, c1 = time.perf_counter(), time.process_time()
                call(1000 + r * args.n + i)
                cpu.append(time.process_time() - c1)
                wall.append(time.perf_counter() - w1)
            pg = (_proc_ticks(backend) - pg_start) / os.sysconf("SC_CLK_TCK")
            rounds.append(
                ((time.process_time() - c0) / args.n, pg / args.n, (time.perf_counter() - w0) / args.n)
            )
    if _backend_pid() != backend:
        print("WARNING: the connection was replaced during the run: PostgreSQL CPU is partial")
    total = args.n * args.rounds
    checks = counter.count(total)
    statements = sum(timer.counts.values()) / total
    best = min(rounds)
    pg_best = min(r[1] for r in rounds)
    print(
        f"{args.rounds} rounds of {args.n} creates, team of {AGENTS} agents,"
        f" idempotency keys: {args.idempotency}"
    )
    print(
        "  CPU per request, this process (Django + DRF + the use case + psycopg), by round: "
        + ", ".join(f"{r[0] * 1000:.2f}" for r in rounds)
        + f" ms; best {best[0] * 1000:.2f} ms, p50 of requests {common.percentile(cpu, 50) * 1000:.2f} ms"
    )
    print(
        "  CPU per request, its PostgreSQL backend, by round: "
        + ", ".join(f"{r[1] * 1000:.2f}" for r in rounds)
        + f" ms; best {pg_best * 1000:.2f} ms"
    )
    print(
        f"  wall per request: p50 {common.ms(common.percentile(wall, 50))} ms,"
        f" mean {statistics.fmean(wall) * 1000:.2f} ms"
    )
    print(
        f"  team lock held (taken -> COMMIT done): p50 {common.ms(common.percentile(held.spans, 50))} ms,"
        f" mean {statistics.fmean(held.spans) * 1000:.2f} ms: one team takes at most"
        f" ~{1 / statistics.fmean(held.spans):.0f} creates/s, whatever the CPU"
    )
    print(f"  SQL statements per request through Django: {statements:.2f}; health checks: {checks}")
    for kind in sorted(timer.counts, key=lambda k: -timer.seconds[k]):
        print(
            f"    {kind:<40} {timer.counts[kind] / total:5.2f}/req"
            f"  {timer.seconds[kind] / total * 1000:6.3f} ms/req wall"
        )
    out: dict[str, Any] = {
        "n": args.n,
        "idempotency": args.idempotency,
        "rounds": args.rounds,
        "cpu_ms_by_round": [r[0] * 1000 for r in rounds],
        "pg_cpu_ms_by_round": [r[1] * 1000 for r in rounds],
        "cpu_ms_best": best[0] * 1000,
        "pg_cpu_ms_best": pg_best * 1000,
        "wall_ms_p50": common.percentile(wall, 50) * 1000,
        "statements": statements,
        "lock_held_ms_p50": common.percentile(held.spans, 50) * 1000,
        "lock_held_ms_mean": statistics.fmean(held.spans) * 1000,
        "statement_kinds": {k: timer.counts[k] / args.n for k in timer.counts},
    }
    if args.profile:
        profile = cProfile.Profile(time.process_time)  # CPU, not waits on the database
        profile.enable()
        for i in range(args.n):
            call(10_000_000 + i)
        profile.disable()
        text = io.StringIO()
        stats = pstats.Stats(profile, stream=text)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        common.RESULTS.mkdir(parents=True, exist_ok=True)
        (common.RESULTS / "api_profile.txt").write_text(text.getvalue())
        print(text.getvalue())
    print(f"results: {common.write_result('api_profile', out)}")


def _team() -> int:
    from p2pdesk import bootstrap
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_agents import CreateAgent
    from p2pdesk.application.use_cases.manage_teams import CreateTeam

    desk = bootstrap.desk()
    team_id = desk.teams.create(CreateTeam(name="Profile team"), SYSTEM)
    for i in range(AGENTS):
        desk.agents.create(
            CreateAgent(email=f"agent{i}@profile.example", name=f"Agent {i}", team_ids=[team_id]), SYSTEM
        )
    return team_id


def _caller(app: Any, token: str, team_id: int, idempotency: bool) -> Any:
    """A function that POSTs ticket n and checks it got a 201 with an agent."""

    def call(n: int) -> None:
        body = json.dumps(
            {
                "subject": f"Invoice INV-{n:07d} blocked: price variance",
                "description": "The invoice does not match the purchase order; please check the unit price.",
                "team": team_id,
                "priority": 1 + n % 4,
                "requester_email": f"requester{n % 500}@supplier{n % 50}.example",
                **({"reference": {"type": "invoice", "id": f"INV-{n:07d}"}} if n % 2 else {}),
            }
        ).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/tickets/",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_ACCEPT": "application/json",
            "HTTP_AUTHORIZATION": f"Token {token}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if idempotency:
            environ["HTTP_IDEMPOTENCY_KEY"] = f"profile-{n}"
        status: list[str] = []
        response = app(environ, lambda s, h, exc_info=None: status.append(s))
        data = b"".join(response)
        response.close()
        if not status[0].startswith("201") or json.loads(data).get("agent") is None:
            raise SystemExit(f"unexpected answer {status[0]}: {data[:300]!r}")

    return call


class _LockHeld:
    """Times from the team's advisory lock being granted to the end of the COMMIT that frees it:
    creates in one team queue on that lock, so this bounds one team's throughput."""

    def __init__(self) -> None:
        self.spans: list[float] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if "pg_advisory_xact_lock" in sql:
            from django.db import transaction

            granted = time.perf_counter()
            transaction.on_commit(lambda: self.spans.append(time.perf_counter() - granted))
        return result


class _HealthChecks:
    """Counts the `SELECT 1` health checks Django runs on a kept connection (outside its wrappers)."""

    def __init__(self) -> None:
        from django.db import connection

        self.calls = 0
        original = connection.is_usable

        def is_usable() -> bool:
            self.calls += 1
            return bool(original())

        connection.is_usable = is_usable  # type: ignore[method-assign]

    def count(self, n: int) -> str:
        return f"{self.calls / n:.2f}/req"


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _proc_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


if __name__ == "__main__":
    main()
