"""Benchmark 4: listing tickets (GET /api/v1/tickets/) over 1,000,000 tickets.

Dataset (database p2pdesk_bench_list, kept between runs and reused when its marker matches; pass
--rebuild to load it again): 7 teams and 50 agents made through the use cases, then 1,000,000 tickets
bulk-loaded in SQL (INSERT ... SELECT over generate_series, secondary indexes dropped during the load
and rebuilt from their own definitions, then VACUUM ANALYZE): created over the past year in number
order; teams skewed (the biggest ~30%); agents from each ticket's team (some new tickets unassigned);
statuses by age (older ones mostly closed/resolved, the last two weeks mostly active); priorities
5/20/60/15%; 5,000 requester emails with a skewed (some very frequent) distribution; references
to invoices, purchase orders, vendors and KYC cases, or none; 85% under an SLA, in states by status
(pending: paused; other active: 70% ok, 15% at_risk, 15% breached; resolved/closed: 85% met).

After one untimed pass over all mixes (to warm the cache), each filter mix is timed three ways
with the same parameter sequence:
  port   - DjangoTicketQueries().list(...) via desk().ticket_queries (ORM + SQL, no HTTP/DRF)
  client - django.test.Client GET /api/v1/tickets/ (whole Django/DRF stack, in process)
  http   - gunicorn on loopback, stdlib http.client, one request at a time
Mixes ending in "next pages" follow the `next` cursor to pages 2-5 and time those pages.
Every mix's list SQL is captured once and EXPLAIN ANALYZEd (plans in results/ticket_list_plans.txt).

    python bench/ticket_list.py [--iterations 40] [--rebuild] [--tickets 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import _common as common

DATASET_VERSION = "tickets-v2"  # v2: SLA states
TEAMS = [
    "Accounts Payable",
    "Invoice Exceptions",
    "Purchasing",
    "Vendor Master Data",
    "Payments",
    "Supplier Onboarding KYC",
    "Travel and Expenses",
]
AGENTS = 50
REQUESTERS = 5000
TARGET_P95_MS = 50.0
PAGE_DEPTH = 4  # pages after the first, for the "next pages" mixes

Params = dict[str, Any]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--iterations", type=int, default=40, help="requests per mix and path (default 40)")
    parser.add_argument("--rebuild", action="store_true", help="reload the dataset even if present")
    parser.add_argument("--max-seconds", type=float, default=30, help="time cap per mix and path")
    parser.add_argument("--skip-http", action="store_true", help="no gunicorn run")
    parser.add_argument("--only", default="", help="time only the mixes whose name contains this")
    args = parser.parse_args()

    common.banner(f"Benchmark 4: ticket list over {args.tickets:,} tickets")
    background = common.warn_if_busy("ticket_list")
    meter = common.CpuMeter(pg_url=common.LIST_DB)
    dataset = _ensure_dataset(args.tickets, args.rebuild)
    common.setup_django(common.LIST_DB)
    from p2pdesk import bootstrap

    desk = bootstrap.desk()
    token = common.issue_token(common.LIST_DB)
    mixes = {k: v for k, v in _mixes(dataset, args.iterations).items() if args.only in k}

    results: dict[str, dict[str, list[float]]] = {name: {} for name in mixes}
    rows_seen: dict[str, int] = {}
    print(f"{args.iterations} requests per mix and path (limit 50, newest first)", flush=True)
    # One untimed pass over every mix first, so that no path pays alone for reading the pages it
    # needs into PostgreSQL's buffers (the dataset is several times shared_buffers).
    for name, params_list in mixes.items():
        _time_mix(_port_fetcher(desk), params_list, name, args.max_seconds)
    for name, params_list in mixes.items():
        samples, count = _time_mix(_port_fetcher(desk), params_list, name, args.max_seconds)
        results[name]["port"] = samples
        rows_seen[name] = count
    client_fetch = _client_fetcher(token)
    for name, params_list in mixes.items():
        results[name]["client"], _ = _time_mix(client_fetch, params_list, name, args.max_seconds)
    http_description = "skipped"
    if not args.skip_http:
        with common.gunicorn(common.LIST_DB, name="ticket_list", workers=2, threads=2) as server:
            http_description = server.description
            client = common.HttpClient(server.port, token)
            for name, params_list in mixes.items():
                results[name]["http"], _ = _time_mix(
                    _http_fetcher(client), params_list, name, args.max_seconds
                )
            client.close()

    plans = _explain_all(desk, mixes)
    (common.RESULTS / "ticket_list_plans.txt").write_text(
        "\n\n".join(f"== {name}\n{plan['sql']}\n\n{plan['text']}" for name, plan in plans.items())
    )

    paths = ["port", "client", "http"]
    table_rows = []
    summary = []
    missed = []
    for name in mixes:
        figures = {p: results[name].get(p, []) for p in paths}
        p50 = {p: common.percentile(v, 50) for p, v in figures.items()}
        p95 = {p: common.percentile(v, 95) for p, v in figures.items()}
        worst = max((v for v in p95.values() if v == v), default=float("nan"))
        met = worst * 1000 < TARGET_P95_MS
        if not met:
            missed.append(name)
        plan = plans.get(name, {})
        table_rows.append(
            [
                name,
                *(f"{common.ms(p50[p])}/{common.ms(p95[p])}" for p in paths),
                f"{rows_seen[name] / max(1, len(figures['port'])):.0f}",
                plan.get("exec_ms", "-"),
                plan.get("access", "-")[:60],
                common.verdict(met),
            ]
        )
        summary.append(
            [
                f"list: {name}",
                f"p95 {common.ms(p95['port'])} port / {common.ms(p95['client'])} client / "
                f"{common.ms(p95['http'])} http ms",
                f"p95 < {TARGET_P95_MS:.0f} ms",
                common.verdict(met),
            ]
        )
    print()
    print(
        common.table(
            [
                "mix",
                "port p50/p95 ms",
                "client p50/p95",
                "http p50/p95",
                "rows",
                "SQL exec ms",
                "plan (EXPLAIN ANALYZE)",
                "",
            ],
            table_rows,
        )
    )
    print(f"\nhttp: {http_description}, sequential requests; dataset: {dataset['summary']}")
    for name in missed:
        print(f"\n-- {name}: MISSED p95 < {TARGET_P95_MS:.0f} ms; plan of its list query:")
        print(plans[name]["sql"])
        print(plans[name]["text"])
    print(f"\nall plans: {common.RESULTS / 'ticket_list_plans.txt'}")
    out = {
        "dataset": dataset,
        "background_cores_before": background,
        "cpu_during": common.other_load_note(meter),
        "http": http_description,
        "iterations": args.iterations,
        "results_ms": {
            name: {
                p: {
                    "n": len(v),
                    "p50": common.percentile(v, 50) * 1000,
                    "p95": common.percentile(v, 95) * 1000,
                }
                for p, v in by_path.items()
            }
            for name, by_path in results.items()
        },
        "plans": plans,
        "missed": missed,
        "summary": summary,
    }
    print(f"results: {common.write_result('ticket_list', out)}")


# --- dataset ---------------------------------------------------------------------------------------


def _ensure_dataset(tickets: int, rebuild: bool) -> dict[str, Any]:
    wanted = f"{DATASET_VERSION}:{tickets}"
    common.claim_database(common.LIST_DB)
    if not rebuild and common.database_exists(common.LIST_DB):
        common.migrate(common.LIST_DB)  # new migrations apply on top of the kept data
        with common.psycopg_connect(common.LIST_DB) as conn:
            marker = conn.execute("SELECT to_regclass('bench_dataset') IS NOT NULL").fetchone()[0]
            if marker:
                row = conn.execute("SELECT version, info FROM bench_dataset").fetchone()
                count = conn.execute("SELECT count(*) FROM p2pdesk_ticket").fetchone()[0]
                if row and row[0] == wanted and count == tickets:
                    print(f"reusing the dataset in {common.db_name(common.LIST_DB)} ({count:,} tickets)")
                    return json.loads(row[1])
        print("dataset missing or different: rebuilding")
    started = time.perf_counter()
    common.recreate_database(common.LIST_DB)
    # The load runs in a child process so this one can set up Django afresh afterwards.
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, __file__, "--load-only", "--tickets", str(tickets)],
        check=True,
        timeout=3600,
        env=common.bench_env(common.LIST_DB),
    )
    print(f"dataset loaded in {time.perf_counter() - started:.0f}s", flush=True)
    with common.psycopg_connect(common.LIST_DB) as conn:
        return json.loads(conn.execute("SELECT info FROM bench_dataset").fetchone()[0])


def _load(tickets: int) -> None:
    common.setup_django(common.LIST_DB)
    from django.db import connection, transaction

    from p2pdesk import bootstrap
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_agents import CreateAgent
    from p2pdesk.application.use_cases.manage_teams import CreateTeam

    desk = bootstrap.desk()
    team_ids = [desk.teams.create(CreateTeam(name=name), SYSTEM) for name in TEAMS]
    members: dict[int, list[int]] = {t: [] for t in team_ids}
    for i in range(AGENTS):
        teams = [team_ids[i % len(team_ids)]]
        if i % 5 == 4:
            teams.append(team_ids[(i + 1) % len(team_ids)])
        agent_id = desk.agents.create(
            CreateAgent(email=f"agent{i}@p2p.bench.example", name=f"Agent {i}", team_ids=teams), SYSTEM
        )
        for t in teams:
            members[t].append(agent_id)

    print(f"  loading {tickets:,} tickets ...", flush=True)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")  # deterministic random()
        cursor.execute(
            "CREATE TEMP TABLE bench_slot (team_idx int, slot int, agent_id bigint) ON COMMIT DROP"
        )
        cursor.execute("CREATE TEMP TABLE bench_team (team_idx int, team_id bigint, n int) ON COMMIT DROP")
        for idx, team_id in enumerate(team_ids):
            cursor.execute(
                "INSERT INTO bench_team VALUES (%s, %s, %s)", [idx, team_id, len(members[team_id])]
            )
            for slot, agent_id in enumerate(members[team_id]):
                cursor.execute("INSERT INTO bench_slot VALUES (%s, %s, %s)", [idx, slot, agent_id])
        # Secondary indexes off during the load, rebuilt from their own definitions afterwards.
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
             WHERE i.tablename = 'p2pdesk_ticket'
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(_LOAD_SQL, {"n": tickets, "requesters": REQUESTERS})
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred FK checks now
        loaded = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(definition)
        print(
            f"  rows in {loaded - started:.0f}s, {len(indexes)} indexes rebuilt in"
            f" {time.perf_counter() - loaded:.0f}s",
            flush=True,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE p2pdesk_ticket")
        cursor.execute("VACUUM ANALYZE p2pdesk_ticket_number")
        cursor.execute("SELECT status, count(*) FROM p2pdesk_ticket GROUP BY 1 ORDER BY 1")
        statuses = dict(cursor.fetchall())
        cursor.execute("SELECT team_id, count(*) FROM p2pdesk_ticket GROUP BY 1 ORDER BY 1")
        teams = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM p2pdesk_ticket WHERE agent_id IS NULL")
        unassigned = cursor.fetchone()[0]
        cursor.execute(
            "SELECT reference_type, reference_id FROM p2pdesk_ticket WHERE reference_type <> ''"
            " ORDER BY number DESC LIMIT 2000"
        )
        references = cursor.fetchall()
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('p2pdesk_ticket'))")
        size = cursor.fetchone()[0]
        info = {
            "tickets": tickets,
            "team_ids": team_ids,
            "members": {str(k): v for k, v in members.items()},
            "agent_ids": sorted({a for v in members.values() for a in v}),
            "statuses": statuses,
            "tickets_per_team": {str(k): v for k, v in teams.items()},
            "unassigned": unassigned,
            "references": references,
            "size": size,
            "summary": (
                f"{tickets:,} tickets ({size} with indexes), {len(team_ids)} teams, {AGENTS} agents, "
                f"{REQUESTERS:,} requesters, statuses {statuses}, {unassigned:,} unassigned"
            ),
        }
        cursor.execute("CREATE TABLE bench_dataset (version text, info text)")
        cursor.execute(
            "INSERT INTO bench_dataset VALUES (%s, %s)", [f"{DATASET_VERSION}:{tickets}", json.dumps(info)]
        )
    print(f"  {info['summary']}", flush=True)


_LOAD_SQL = """
WITH g AS MATERIALIZED (
    SELECT i, random() AS r_team, random() AS r_agent, random() AS r_status, random() AS r_prio,
           random() AS r_req, random() AS r_ref, random() AS r_refid, random() AS r_jit, random() AS r_sla,
           now() - interval '365 days' + (i::float8 / %(n)s) * interval '365 days'
               + (random() - 0.5) * interval '20 minutes' AS created_at,
           (%(n)s - i)::float8 / %(n)s * 365 AS age_days
      FROM generate_series(1, %(n)s) AS i
),
nums AS (
    INSERT INTO p2pdesk_ticket_number (id)
    SELECT nextval(pg_get_serial_sequence('p2pdesk_ticket_number', 'id')) FROM generate_series(1, %(n)s)
    RETURNING id
),
numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS i FROM nums),
t AS (
    SELECT g.*, n.id AS number,
           least(6, floor(power(g.r_team, 1.6) * 7))::int AS team_idx,
           CASE WHEN g.age_days < 14 THEN
                CASE WHEN g.r_status < 0.25 THEN 'new' WHEN g.r_status < 0.50 THEN 'open'
                     WHEN g.r_status < 0.65 THEN 'pending' WHEN g.r_status < 0.85 THEN 'resolved'
                     ELSE 'closed' END
           ELSE
                CASE WHEN g.r_status < 0.01 THEN 'new' WHEN g.r_status < 0.03 THEN 'open'
                     WHEN g.r_status < 0.05 THEN 'pending' WHEN g.r_status < 0.25 THEN 'resolved'
                     ELSE 'closed' END
           END AS status,
           CASE WHEN g.r_ref < 0.35 THEN 'invoice' WHEN g.r_ref < 0.55 THEN 'purchase_order'
                WHEN g.r_ref < 0.62 THEN 'vendor' WHEN g.r_ref < 0.70 THEN 'kyc' ELSE '' END AS ref_type,
           floor(power(g.r_req, 2) * %(requesters)s)::int AS requester
      FROM g JOIN numbered n ON n.i = g.i
)
INSERT INTO p2pdesk_ticket (id, number, subject, description, team_id, agent_id, status, priority,
                            requester_email, source, reference_type, reference_id,
                            created_at, updated_at, resolved_at, sla_state, sla_resolved, sla_breached,
                            sla_escalated)
SELECT gen_random_uuid(), t.number,
       CASE t.ref_type WHEN 'invoice' THEN 'Invoice on hold: price variance'
                       WHEN 'purchase_order' THEN 'PO change request'
                       WHEN 'vendor' THEN 'Vendor bank details update'
                       WHEN 'kyc' THEN 'Supplier onboarding documents'
                       ELSE 'Question about payment run' END || ' #' || t.number,
       'Hello team, please have a look at the attached document and let us know when it is done. '
           || 'Kind regards, requester ' || t.requester,
       bt.team_id,
       CASE WHEN t.status = 'new' AND t.r_agent < 0.3 THEN NULL ELSE s.agent_id END,
       t.status,
       CASE WHEN t.r_prio < 0.05 THEN 1 WHEN t.r_prio < 0.25 THEN 2 WHEN t.r_prio < 0.85 THEN 3 ELSE 4 END,
       'requester' || t.requester || '@supplier' || (t.requester %% 300) || '.example',
       CASE WHEN t.r_jit < 0.5 THEN 'email' WHEN t.r_jit < 0.85 THEN 'api' ELSE 'event' END,
       t.ref_type,
       CASE t.ref_type WHEN 'invoice' THEN 'INV-' || lpad(floor(t.r_refid * 300000)::text, 7, '0')
                       WHEN 'purchase_order' THEN 'PO-' || lpad(floor(t.r_refid * 100000)::text, 7, '0')
                       WHEN 'vendor' THEN 'V' || floor(t.r_refid * 5000)::int
                       WHEN 'kyc' THEN 'KYC-' || floor(t.r_refid * 5000)::int
                       ELSE '' END,
       t.created_at,
       t.created_at + t.r_jit * interval '3 days',
       CASE WHEN t.status IN ('resolved', 'closed') THEN t.created_at + t.r_jit * interval '3 days' END,
       CASE WHEN t.r_sla >= 0.85 THEN ''
            WHEN t.status = 'pending' THEN 'paused'
            WHEN t.status IN ('resolved', 'closed') THEN
                 CASE WHEN t.r_sla < 0.72 THEN 'met' ELSE 'breached' END
            WHEN t.r_sla < 0.6 THEN 'ok' WHEN t.r_sla < 0.72 THEN 'at_risk' ELSE 'breached' END,
       t.status IN ('resolved', 'closed'), '[]'::jsonb, '[]'::jsonb
  FROM t
  JOIN bench_team bt ON bt.team_idx = t.team_idx
  JOIN bench_slot s ON s.team_idx = t.team_idx AND s.slot = floor(t.r_agent * bt.n)::int
 ORDER BY t.i
"""


# --- mixes -----------------------------------------------------------------------------------------


def _mixes(dataset: dict[str, Any], n: int) -> dict[str, list[Params]]:
    rng = random.Random(7)
    teams = dataset["team_ids"]
    agents = dataset["agent_ids"]
    references = dataset["references"]
    now = datetime.now(UTC)

    def requester() -> str:
        r = rng.randrange(REQUESTERS)
        return f"requester{r}@supplier{r % 300}.example"

    def window() -> Params:
        start = now - timedelta(days=rng.uniform(7, 360))
        return {"created_after": start.isoformat(), "created_before": (start + timedelta(days=7)).isoformat()}

    def ref() -> Params:
        ref_type, ref_id = rng.choice(references)
        return {"reference_type": ref_type, "reference_id": ref_id}

    active = ["new", "open", "pending"]
    makers: dict[str, Callable[[], Params]] = {
        "no filter": dict,
        "team": lambda: {"team": rng.choice(teams)},
        "team+status": lambda: {
            "team": rng.choice(teams),
            "status": rng.choice(["open", "pending", "closed"]),
        },
        "team+status new,open,pending": lambda: {"team": rng.choice(teams), "status": active},
        "team+status new+created_before (older)": lambda: {
            "team": rng.choice(teams),
            "status": "new",
            "created_before": (now - timedelta(days=rng.uniform(90, 300))).isoformat(),
        },
        "agent": lambda: {"agent": rng.choice(agents)},
        "agent+status new,open,pending": lambda: {"agent": rng.choice(agents), "status": active},
        "status": lambda: {"status": rng.choice(["new", "open", "pending", "resolved", "closed"])},
        "priority": lambda: {"priority": rng.randint(1, 4)},
        "requester_email": lambda: {"requester_email": requester()},
        "reference_type+reference_id": ref,
        "reference_type only": lambda: {"reference_type": rng.choice(["kyc", "vendor", "invoice"])},
        "created_after/before (7 days)": window,
        "team+created_after/before": lambda: {"team": rng.choice(teams), **window()},
        "unassigned": lambda: {"unassigned": "true"},
        "sla_state at_risk": lambda: {"sla_state": "at_risk"},
        "sla_state at_risk,breached": lambda: {"sla_state": ["at_risk", "breached"]},
        "team+sla_state breached": lambda: {"team": rng.choice(teams), "sla_state": "breached"},
        "team+status open+sla_state at_risk": lambda: {
            "team": rng.choice(teams),
            "status": "open",
            "sla_state": "at_risk",
        },
        "no filter, next pages 2-5": lambda: {"_pages": PAGE_DEPTH},
        "team+status, next pages 2-5": lambda: {
            "team": rng.choice(teams),
            "status": "closed",
            "_pages": PAGE_DEPTH,
        },
        "requester_email, next pages 2-5": lambda: {
            "requester_email": "requester0@supplier0.example",
            "_pages": 2,
        },
    }
    return {name: [make() for _ in range(n)] for name, make in makers.items()}


# --- fetchers: (params, cursor) -> (rows, next cursor) ---------------------------------------------

Fetcher = Callable[[Params, "str | None"], tuple[int, "str | None"]]


def _query_dict(params: Params) -> Any:
    from django.http import QueryDict

    clean = {k: v for k, v in params.items() if not k.startswith("_")}
    return QueryDict(urlencode(clean, doseq=True))


def _port_fetcher(desk: Any) -> Fetcher:
    from p2pdesk.ports.queries import Scope

    def fetch(params: Params, cursor: str | None) -> tuple[int, str | None]:
        page = desk.ticket_queries.list(_query_dict(params), scope=Scope(None), cursor=cursor, limit=50)
        return len(page.results), page.next_cursor

    return fetch


def _cursor_of(next_url: str | None) -> str | None:
    if not next_url:
        return None
    return parse_qs(urlsplit(next_url).query).get("cursor", [None])[0]


def _client_fetcher(token: str) -> Fetcher:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")

    def fetch(params: Params, cursor: str | None) -> tuple[int, str | None]:
        query = _query_dict(params).copy()
        if cursor:
            query["cursor"] = cursor
        response = client.get("/api/v1/tickets/?" + query.urlencode())
        if response.status_code != 200:
            raise RuntimeError(
                f"client GET {query.urlencode()} -> {response.status_code}: {response.content[:300]!r}"
            )
        body = response.json()
        return len(body["results"]), _cursor_of(body["next"])

    return fetch


def _http_fetcher(client: common.HttpClient) -> Fetcher:
    def fetch(params: Params, cursor: str | None) -> tuple[int, str | None]:
        query = _query_dict(params).copy()
        if cursor:
            query["cursor"] = cursor
        body = client.json("GET", "/api/v1/tickets/?" + query.urlencode())
        return len(body["results"]), _cursor_of(body["next"])

    return fetch


def _time_mix(
    fetch: Fetcher, params_list: list[Params], name: str, max_seconds: float
) -> tuple[list[float], int]:
    """Seconds per request. For paging mixes only the pages after the first are timed."""
    fetch(params_list[0], None)  # warm-up
    samples: list[float] = []
    rows = 0
    deadline = time.monotonic() + max_seconds
    for params in params_list:
        pages = params.get("_pages", 0)
        started = time.perf_counter()
        count, cursor = fetch(params, None)
        if not pages:
            samples.append(time.perf_counter() - started)
            rows += count
        for _ in range(pages):
            if cursor is None:
                break
            started = time.perf_counter()
            count, cursor = fetch(params, cursor)
            samples.append(time.perf_counter() - started)
            rows += count
        if time.monotonic() > deadline:
            print(f"  {name}: time cap hit after {len(samples)} samples")
            break
    return samples, rows


# --- EXPLAIN ---------------------------------------------------------------------------------------


_FROM_TICKET = re.compile(r'FROM "?p2pdesk_ticket"?(\s|$)')
_ON_TICKET = re.compile(r" on p2pdesk_ticket(\s|$)")


def _explain_all(desk: Any, mixes: dict[str, list[Params]]) -> dict[str, dict[str, Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fetch = _port_fetcher(desk)
    plans = {}
    for name, params_list in mixes.items():
        params = params_list[0]
        cursor = None
        if params.get("_pages"):
            _, cursor = fetch(params, None)  # explain a page behind a cursor
        with CaptureQueriesContext(connection) as ctx:
            fetch(params, cursor)
        # The page's own query (FROM the ticket table), not the references fetched for its rows.
        selects = [q["sql"] for q in ctx.captured_queries if _FROM_TICKET.search(q["sql"])]
        if not selects:
            continue
        sql = selects[-1]
        with connection.cursor() as c:
            c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            lines = [r[0] for r in c.fetchall()]
        access = next(
            (ln.strip().removeprefix("->").strip() for ln in lines if _ON_TICKET.search(ln)), lines[0]
        )
        access = access.split("  (")[0]
        exec_ms = next((ln.split(":")[1].strip() for ln in lines if ln.startswith("Execution Time")), "-")
        plans[name] = {
            "sql": sql,
            "text": "\n".join(lines),
            "access": access,
            "exec_ms": exec_ms.replace(" ms", ""),
            "jit": any(ln.startswith("JIT") for ln in lines),
        }
    return plans


if __name__ == "__main__":
    import sys

    if "--load-only" in sys.argv:
        load_parser = argparse.ArgumentParser()
        load_parser.add_argument("--load-only", action="store_true")
        load_parser.add_argument("--tickets", type=int, required=True)
        _load(load_parser.parse_args().tickets)
    else:
        main()
