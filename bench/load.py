"""Load test: the whole stack on this machine under a mixed API load, measured by locust.

Stack (bench/stack.py, all private, loopback only): PostgreSQL 15 on 5499, Redis on 6399, gunicorn
(gunicorn.conf.py: gthread, --workers/--threads), one Celery worker and beat. The mix is in
bench/locustfile.py: agents listing and reading tickets (60 % of users), integrations creating
tickets (30 %), intake posting raw messages to /api/v1/intake/messages/ (10 %). Meanwhile mail
arrives in a Maildir mailbox at --mail-rate messages/s, which beat and the worker take in, so Celery
works under the same load.

Prints sustained requests/s, p50/p99 and the error rate per endpoint and overall, how many mails the
worker took in and how long it needed to drain the rest, and the machine's background CPU load
before the run (other people's work on a shared machine lowers the figures).

    pip install -e ".[bench]"; python bench/load.py [--users 24] [--duration 60] [--mail-rate 5]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import threading
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import _common as common
import stack as stk


def drop_mail(folder: Path, rate: float, stop: threading.Event, written: list[str]) -> None:
    """Write one .eml every 1/rate s until stopped (bounded by the run's duration)."""
    folder.mkdir(parents=True, exist_ok=True)
    while not stop.wait(1 / rate):
        message = EmailMessage()
        message["From"] = "Supplier Billing <billing@supplier.example>"
        message["To"] = "ap@p2pdesk.example"
        message["Subject"] = f"Remittance query {len(written) + 1}"
        message_id = f"{uuid.uuid4().hex}@supplier.example"
        message["Message-ID"] = f"<{message_id}>"
        message["Date"] = formatdate(localtime=False)
        message.set_content("Hello, which invoices does last week's payment cover?")
        tmp = folder / f".{message_id}.tmp"
        tmp.write_bytes(message.as_bytes())
        tmp.rename(folder / f"{message_id}.eml")  # atomic: the poller never sees half a file
        written.append(message_id)


def run_locust(stack: stk.PrivateStack, desk: dict[str, Any], users: int, duration: int) -> Path:
    prefix = common.RESULTS / "load_locust"
    agent_token = stk.token(stack, "agent0-0@p2pdesk.example", "agent")
    env = {
        **os.environ,
        "BENCH_AGENT_TOKEN": agent_token,
        "BENCH_INTEGRATION_TOKEN": desk["integration"],
        "BENCH_TEAMS": ",".join(str(t) for t in desk["teams"]),
    }
    subprocess.run(
        [
            str(stk.VENV_BIN / "locust"),
            "-f",
            str(common.BENCH_DIR / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{duration}s",
            "--host",
            f"http://127.0.0.1:{stack.web_port}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        cwd=common.BENCH_DIR,
        check=False,
        timeout=duration + 120,
    )
    return Path(f"{prefix}_stats.csv")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=24, help="concurrent locust users")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--mail-rate", type=float, default=5.0, help="mails/s dropped into the Maildir")
    parser.add_argument("--keep", action="store_true", help="keep the stack's logs and data")
    args = parser.parse_args()

    common.banner("Load: gunicorn + Celery + PostgreSQL + Redis, mixed API load (locust)")
    print(common.SHARED_CPU_NOTE)
    background = common.background_load()
    print(f"background CPU load before the run: {background:.2f} cores busy (other developers' work)")
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    with stk.private_stack(keep=args.keep) as stack:
        stack.start_web(args.web_workers, args.web_threads)
        stack.start_worker("worker1", concurrency=1)
        stack.start_beat()
        desk = stk.setup_desk(stack)
        # Enough tickets for agents to list and read from the first request on.
        seeder = common.HttpClient(stack.web_port, desk["admin"])
        for n in range(200):
            seeder.json(
                "POST",
                "/api/v1/tickets/",
                {
                    "subject": f"Seed {n}",
                    "description": "seed",
                    "team": desk["teams"][n % len(desk["teams"])],
                    "requester_email": "seed@vendor.example",
                },
            )
        seeder.close()

        stop, written = threading.Event(), []
        dropper = threading.Thread(
            target=drop_mail,
            args=(stack.root / "maildir-default", args.mail_rate, stop, written),
            daemon=True,
        )
        meter = common.CpuMeter()
        dropper.start()
        stats_path = run_locust(stack, desk, args.users, args.duration)
        stop.set()
        dropper.join(10)
        cpu = meter.read()
        ingested_during = stk.count(
            stack,
            "SELECT count(*) FROM p2pdesk_inbound_message WHERE mailbox_id = "
            f"{desk['mailbox']} AND message_id LIKE '%@supplier.example'",
        )
        started = time.monotonic()
        stk.wait_until(
            lambda: (
                stk.count(
                    stack,
                    "SELECT count(*) FROM p2pdesk_inbound_message WHERE message_id LIKE '%@supplier.example'",
                )
                >= len(written)
            ),
            120,
            "the worker draining the Maildir",
        )
        drain = time.monotonic() - started

    rows = list(csv.DictReader(stats_path.open()))
    table = []
    result: dict[str, Any] = {
        "users": args.users,
        "duration_s": args.duration,
        "background_cores": background,
        "cpu": cpu,
        "endpoints": {},
    }
    for row in rows:
        requests, failures = int(row["Request Count"]), int(row["Failure Count"])
        figures = {
            "requests": requests,
            "rps": float(row["Requests/s"]),
            "p50_ms": float(row["50%"] or 0),
            "p99_ms": float(row["99%"] or 0),
            "error_rate": failures / requests if requests else 0.0,
        }
        result["endpoints"][row["Name"]] = figures
        table.append(
            [
                f"{row['Type']} {row['Name']}".strip(),
                requests,
                f"{figures['rps']:.1f}",
                f"{figures['p50_ms']:.0f}",
                f"{figures['p99_ms']:.0f}",
                f"{100 * figures['error_rate']:.2f} %",
            ]
        )
    print(common.table(["endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors"], table))
    result["mail"] = {
        "dropped": len(written),
        "ingested_during_load": ingested_during,
        "drain_after_load_s": drain,
    }
    print(
        f"\nmail via beat + worker: {len(written)} dropped at {args.mail_rate}/s, "
        f"{ingested_during} taken in during the load, the rest drained {drain:.1f} s after it"
    )
    print(
        f"machine CPU busy during the run: {cpu['machine_cores']:.2f} of {os.cpu_count()} cores "
        f"(stack, locust and everyone else's work; {background:.2f} were busy before it started)"
    )
    path = common.write_result("load", result)
    print(f"figures in {path}")


if __name__ == "__main__":
    sys.exit(main())
