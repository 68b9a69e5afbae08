"""Fault runs on the private stack (bench/stack.py: PostgreSQL on 5499 and Redis on 6399, both ours;
the shared servers on 5432/6379 are never touched). Each run reports what was lost (the target is
nothing) and how long recovery took.

  worker-kill   mail waits in 3 Maildir mailboxes (--mails in all); two Celery workers take it in;
                once some is in, `kill -9` one worker (its main process and its pool child).
                Lost: mails never taken in; duplicates: a mail that made two tickets. Recovery: from
                the kill until every mail is in.
  pg-restart    API load (agents listing/reading, integrations creating tickets with an
                Idempotency-Key and retrying on failure, intake posting raw messages and retrying)
                plus mail into a Maildir; PostgreSQL restarted (`pg_ctl restart -m fast`) mid-run.
  redis-stop    the same load; Redis stopped (SHUTDOWN) for --redis-down seconds mid-run, then
                started again from its append-only file.

Lost, for the API: a create or an intake message the server acknowledged (2xx) that is not in the
database; a write the client gave up on is counted apart (never acknowledged, so not lost: the
caller knows). Recovery: from the dependency being back to the first request served after the last
failed one, and to /readyz answering 200 again (a probe polls it every 0.5 s and records how long
each answer took: while a dependency is down it must answer 503 quickly, never hang).

    python bench/faults.py [worker-kill|pg-restart|redis-stop|all] [--threads 6] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import _common as common
import stack as stk

WRITE_GIVE_UP_S = 90.0  # a client retries a write this long before it gives up


def mail(message_id: str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Supplier Billing <billing@supplier.example>"
    message["To"] = "ap@p2pdesk.example"
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    message["Date"] = formatdate(localtime=False)
    message.set_content("Hello, which invoices does last week's payment cover?")
    return message.as_bytes()


def drop(folder: Path, message_id: str) -> None:
    tmp = folder / f".{message_id}.tmp"
    tmp.write_bytes(mail(message_id, f"Remittance {message_id[:8]}"))
    tmp.rename(folder / f"{message_id}.eml")  # atomic: the poller never sees half a file


@dataclass
class Write:
    first_try: float
    acked_at: float | None = None
    attempts: int = 0


@dataclass
class Driver:
    """Threads of API clients (stdlib http.client), bounded by `seconds`; writes retried until
    acknowledged or WRITE_GIVE_UP_S. Every request is logged as (time, status, ok, latency)."""

    port: int
    agent_token: str
    integration_token: str
    teams: list[int]
    threads: int
    started: float = field(default_factory=time.monotonic)
    log: list[tuple[float, int, bool, float]] = field(default_factory=list)  # time, status, ok, latency
    creates: dict[str, Write] = field(default_factory=dict)
    intake: dict[str, Write] = field(default_factory=dict)
    ticket_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.started

    def request(self, method: str, path: str, token: str, body: bytes | None = None, **headers: str) -> int:
        began = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers={"Authorization": f"Token {token}", **headers})
            response = conn.getresponse()
            data = response.read()
            status = response.status
        except OSError:
            status, data = 0, b""
        finally:
            conn.close()
        ok = 200 <= status < 300
        with self.lock:
            self.log.append((self.now(), status, ok, time.monotonic() - began))
            if ok and method == "GET" and path.startswith("/api/v1/tickets/?"):
                self.ticket_ids = [t["id"] for t in json.loads(data)["results"]] or self.ticket_ids
        return status

    def write(self, ledger: dict[str, Write], key: str, send: Any) -> None:
        record = ledger[key] = Write(first_try=self.now())
        while self.now() - record.first_try < WRITE_GIVE_UP_S:
            record.attempts += 1
            status = send()
            if 200 <= status < 300:
                record.acked_at = self.now()
                return
            if 400 <= status < 500 and status not in (408, 409, 429):
                return  # refused for good: not a fault
            time.sleep(0.25)

    def one_action(self) -> None:
        roll = random.random()
        if roll < 0.3:
            self.request("GET", "/api/v1/tickets/?limit=25", self.agent_token)
        elif roll < 0.6 and self.ticket_ids:
            self.request("GET", f"/api/v1/tickets/{random.choice(self.ticket_ids)}/", self.agent_token)
        elif roll < 0.9:
            key = uuid.uuid4().hex
            body = json.dumps(
                {
                    "subject": f"Fault {key}",
                    "description": "fault run",
                    "team": random.choice(self.teams),
                    "requester_email": "erp@p2pdesk.example",
                }
            ).encode()
            self.write(
                self.creates,
                key,
                lambda: self.request(
                    "POST",
                    "/api/v1/tickets/",
                    self.integration_token,
                    body,
                    **{"Content-Type": "application/json", "Idempotency-Key": key},
                ),
            )
        else:
            message_id = f"{uuid.uuid4().hex}@vendor.example"
            raw = mail(message_id, f"Invoice query {message_id[:8]}")
            self.write(
                self.intake,
                message_id,
                lambda: self.request(
                    "POST",
                    "/api/v1/intake/messages/?mailbox=default",
                    self.integration_token,
                    raw,
                    **{"Content-Type": "message/rfc822"},
                ),
            )

    def run(self, seconds: float) -> None:
        def loop() -> None:
            while self.now() < seconds:
                self.one_action()

        workers = [threading.Thread(target=loop, daemon=True) for _ in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(seconds + WRITE_GIVE_UP_S + 30)


@dataclass
class ReadyProbe:
    """GET /readyz every 0.5 s: (time, status, seconds the answer took, body is JSON)."""

    port: int
    clock: Any
    samples: list[tuple[float, int, float, bool]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            began = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("GET", "/readyz")
                response = conn.getresponse()
                body = response.read()
                status = response.status
                try:
                    json.loads(body)
                    is_json = True
                except ValueError:
                    is_json = False
            except OSError:
                status, is_json = 0, False
            finally:
                conn.close()
            self.samples.append((self.clock(), status, time.monotonic() - began, is_json))


def mail_dropper(
    folder: Path, rate: float, seconds: float, clock: Any, dropped: list[str]
) -> threading.Thread:
    def run() -> None:
        while clock() < seconds:
            message_id = f"{uuid.uuid4().hex}@supplier.example"
            drop(folder, message_id)
            dropped.append(message_id)
            time.sleep(1 / rate)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def progress_sampler(
    stack: stk.PrivateStack, dropped: list[str], clock: Any, stop: threading.Event
) -> list[Any]:
    """(time, mails taken in so far) every 0.5 s: when did intake through the worker resume?"""
    samples: list[tuple[float, int]] = []

    def run() -> None:
        while not stop.wait(0.5):
            try:
                samples.append(
                    (clock(), sum(in_database(stack, INBOUND_BY_MESSAGE_ID, list(dropped)).values()))
                )
            except Exception:  # noqa: S112 (the database itself may be down, pg-restart: no sample then)
                continue

    threading.Thread(target=run, daemon=True).start()
    return samples


def resumed_after(samples: list[tuple[float, int]], back_at: float) -> float | None:
    before = max((n for t, n in samples if t <= back_at), default=0)
    return next((round(t - back_at, 2) for t, n in samples if t > back_at and n > before), None)


def in_database(stack: stk.PrivateStack, table_sql: str, keys: list[str]) -> Counter[str]:
    """How many rows the database holds per key (tickets per subject key, inbound rows per Message-ID)."""
    found: Counter[str] = Counter()
    with common.psycopg_connect(stack.database_url) as conn:
        for chunk in range(0, len(keys), 1000):
            for key, n in conn.execute(table_sql, [keys[chunk : chunk + 1000]]).fetchall():
                found[key] = n
    return found


TICKETS_BY_KEY = (
    "SELECT substring(subject from 7), count(*) FROM p2pdesk_ticket WHERE subject LIKE 'Fault %%' "
    "AND substring(subject from 7) = ANY(%s) GROUP BY 1"
)
INBOUND_BY_MESSAGE_ID = (
    "SELECT message_id, count(*) FROM p2pdesk_inbound_message WHERE message_id = ANY(%s) GROUP BY 1"
)
TICKETS_BY_MESSAGE_ID = (
    "SELECT i.message_id, count(DISTINCT t.id) FROM p2pdesk_inbound_message i JOIN p2pdesk_ticket t "
    "ON t.id = i.ticket_id WHERE i.message_id = ANY(%s) AND i.outcome = 'created' GROUP BY 1"
)


def account_writes(stack: stk.PrivateStack, driver: Driver) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, ledger, sql in (
        ("ticket creates", driver.creates, TICKETS_BY_KEY),
        ("intake posts", driver.intake, INBOUND_BY_MESSAGE_ID),
    ):
        found = in_database(stack, sql, list(ledger))
        acked = [k for k, w in ledger.items() if w.acked_at is not None]
        out[name] = {
            "sent": len(ledger),
            "acknowledged": len(acked),
            "lost (acknowledged, not in the database)": sum(1 for k in acked if found[k] == 0),
            "duplicated": sum(1 for k in ledger if found[k] > 1),
            "given up by the client (never acknowledged)": len(ledger) - len(acked),
            "retried": sum(1 for w in ledger.values() if w.attempts > 1),
        }
    return out


def account_mail(stack: stk.PrivateStack, dropped: list[str]) -> dict[str, Any]:
    inbound = in_database(stack, INBOUND_BY_MESSAGE_ID, dropped)
    tickets = in_database(stack, TICKETS_BY_MESSAGE_ID, dropped)
    return {
        "dropped": len(dropped),
        "lost (never taken in)": sum(1 for m in dropped if inbound[m] == 0),
        "duplicated (more than one ticket)": sum(1 for m in dropped if tickets[m] > 1),
    }


def wait_for_mail(stack: stk.PrivateStack, dropped: list[str], timeout: float) -> float:
    started = time.monotonic()
    stk.wait_until(
        lambda: sum(in_database(stack, INBOUND_BY_MESSAGE_ID, dropped).values()) >= len(dropped),
        timeout,
        "every dropped mail taken in",
    )
    return time.monotonic() - started


def client_view(driver: Driver, fault_at: float, back_at: float) -> dict[str, Any]:
    failures = [t for t, _, ok, _ in driver.log if not ok]
    latencies = sorted(lat for _, _, _, lat in driver.log)
    result: dict[str, Any] = {
        "requests": len(driver.log),
        "failed requests": len(failures),
        "failed by status (0: no HTTP answer)": dict(
            Counter(str(st) for _, st, ok, _ in driver.log if not ok)
        ),
        "max request latency s": round(latencies[-1], 2) if latencies else None,
    }
    if failures:
        last_failure = max(failures)
        after = [t for t, _, ok, _ in driver.log if ok and t > last_failure]
        result["failures from / to (s into the run)"] = [round(min(failures), 1), round(last_failure, 1)]
        if after:
            result["recovered s after the dependency was back"] = round(max(0.0, min(after) - back_at), 2)
    else:
        result["recovered s after the dependency was back"] = 0.0
    result["fault at / dependency back at (s)"] = [round(fault_at, 1), round(back_at, 1)]
    return result


def probe_view(probe: ReadyProbe, back_at: float) -> dict[str, Any]:
    unready = [s for s in probe.samples if s[1] != 200]
    ready_again = [t for t, status, _, _ in probe.samples if status == 200 and t > back_at]
    return {
        "readyz answers": len(probe.samples),
        "readyz 503 answers": sum(1 for s in unready if s[1] == 503),
        "readyz non-503 failures (timeouts, resets)": sum(1 for s in unready if s[1] != 503),
        "readyz 503 bodies all JSON": all(s[3] for s in unready if s[1] == 503),
        "readyz slowest answer s": round(max((s[2] for s in probe.samples), default=0.0), 2),
        "readyz 200 again s after the dependency was back": round(min(ready_again) - back_at, 2)
        if ready_again
        else None,
    }


def load_stack(stack: stk.PrivateStack) -> dict[str, Any]:
    stack.start_web(workers=2, threads=4)
    stack.start_worker("worker1")
    stack.start_beat()
    desk = stk.setup_desk(stack)
    desk["agent"] = stk.token(stack, "agent0-0@p2pdesk.example", "agent")
    return desk


def fault_under_load(args: argparse.Namespace, name: str) -> dict[str, Any]:
    with stk.private_stack(keep=args.keep) as stack:
        desk = load_stack(stack)
        driver = Driver(stack.web_port, desk["agent"], desk["integration"], desk["teams"], args.threads)
        probe = ReadyProbe(stack.web_port, driver.now)
        dropped: list[str] = []
        seconds = args.load_seconds
        probe.start()
        sampler_stop = threading.Event()
        intake_progress = progress_sampler(stack, dropped, driver.now, sampler_stop)
        dropper = mail_dropper(stack.root / "maildir-default", 2.0, seconds, driver.now, dropped)
        load = threading.Thread(target=driver.run, args=(seconds,), daemon=True)
        load.start()
        time.sleep(10)
        fault_at = driver.now()
        if name == "pg-restart":
            stack.restart_postgres()
        else:
            stack.stop_redis()
            time.sleep(args.redis_down)
            stack.start_redis()
        back_at = driver.now()
        load.join(seconds + WRITE_GIVE_UP_S + 60)
        dropper.join(30)
        time.sleep(3)
        probe.stop.set()
        drain = wait_for_mail(stack, dropped, 180)
        sampler_stop.set()
        return {
            "fault": name,
            "clients": client_view(driver, fault_at, back_at),
            "readiness": probe_view(probe, back_at),
            "writes": account_writes(stack, driver),
            "mail via beat + worker": {
                **account_mail(stack, dropped),
                "intake resumed s after the dependency was back": resumed_after(intake_progress, back_at),
                "drained s after the load": round(drain, 1),
            },
        }


def worker_kill(args: argparse.Namespace) -> dict[str, Any]:
    with stk.private_stack(keep=args.keep) as stack:
        stack.start_web(workers=1, threads=2)
        desk = stk.setup_desk(stack)
        client = common.HttpClient(stack.web_port, desk["admin"])
        names = ["kill-a", "kill-b", "kill-c"]
        for name in names:
            stk.add_maildir_mailbox(stack, client, name, desk["teams"][0])
        client.close()
        dropped: list[str] = []
        for n in range(args.mails):
            message_id = f"{uuid.uuid4().hex}@supplier.example"
            drop(stack.root / f"maildir-{names[n % len(names)]}", message_id)
            dropped.append(message_id)
        stack.start_worker("worker1")
        stack.start_worker("worker2")
        started = time.monotonic()
        stack.start_beat()
        stk.wait_until(
            lambda: sum(in_database(stack, INBOUND_BY_MESSAGE_ID, dropped).values()) >= args.mails // 5,
            300,
            "a fifth of the mail taken in",
        )
        taken_before = sum(in_database(stack, INBOUND_BY_MESSAGE_ID, dropped).values())
        killed_at = time.monotonic()
        pid = stack.kill9("worker1")
        recovery = wait_for_mail(stack, dropped, 600)
        return {
            "fault": "worker-kill",
            "mails": args.mails,
            "taken in before the kill": taken_before,
            "killed": f"worker1 (pid {pid}) and its pool child, {killed_at - started:.1f} s into intake",
            **account_mail(stack, dropped),
            "every mail in s after the kill": round(recovery, 1),
            "note": "the killed worker's task was unacknowledged (acks_late); its mailbox lock died with "
            "its connection, so the next beat tick (1 s) let worker2 poll it again from where it stopped",
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "run", nargs="?", default="all", choices=["worker-kill", "pg-restart", "redis-stop", "all"]
    )
    parser.add_argument("--threads", type=int, default=6, help="API client threads")
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--redis-down", type=float, default=30.0, help="seconds Redis stays stopped")
    parser.add_argument("--mails", type=int, default=900, help="mails for worker-kill")
    parser.add_argument("--keep", action="store_true", help="keep the stacks' logs and data")
    args = parser.parse_args()
    runs = ["worker-kill", "pg-restart", "redis-stop"] if args.run == "all" else [args.run]

    common.banner("Faults on the private stack (PostgreSQL :5499, Redis :6399)")
    print(common.SHARED_CPU_NOTE)
    background = common.background_load()
    print(f"background CPU load before the runs: {background:.2f} cores busy (other developers' work)")
    results = {"background_cores": background}
    for run in runs:
        print(f"\n--- {run}")
        result = worker_kill(args) if run == "worker-kill" else fault_under_load(args, run)
        results[run] = result
        print(stk.dump(result))
    path = common.write_result("faults", results)
    print(f"\nfigures in {path}")


if __name__ == "__main__":
    sys.exit(main())
