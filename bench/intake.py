"""Benchmark 5: mail intake end to end on PostgreSQL by one worker (parse, store, persist, assign).

A generated corpus of realistic P2P emails (requests, replies threading onto earlier ones,
auto-replies) is written to a local Maildir and taken in by the poller (`desk().poll_mailboxes`,
what a worker runs): read, parse, store raw and attachments, persist, assign, acknowledge to the
mailbox, one message after another, in one process:

  A. messages without attachments: messages/s (target >= 300/s) and the outcome counts;
  B. about 10% with a PDF attachment of 100 KB to 5 MB: messages/s and MB/s;
  C. in a fresh process per size, one message with a PDF of 1, 5, 10 and 25 MB: peak RSS, which
     must not grow with the attachment (the Maildir is read as a stream and big bodies are spooled).

    python bench/intake.py [--messages 3000] [--skip-big]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import _common as common

# Its own database (and lock file), so that it can run beside the other benchmarks; another name
# (still p2pdesk_bench*) with BENCH_INTAKE_DATABASE_URL.
DB = os.environ.get("BENCH_INTAKE_DATABASE_URL", common.BENCH_DB.rsplit("/", 1)[0] + "/p2pdesk_bench_intake")
TARGET_PER_SECOND = 300.0
TOPICS = [
    ("Invoice {n} missing from the supplier portal", "we uploaded invoice INV-{n} for EUR {amount} on 3 Nov"),
    ("Payment for PO 45000{n} not received", "the payment for PO 45000{n} (EUR {amount}) is 14 days overdue"),
    ("GRN quantity mismatch on PO 45001{n}", "GRN-{n} shows 96 pallets but 100 were delivered"),
    (
        "Please update our remittance contact",
        "remittance advices for vendor V-{n} should go to ar@vendor.example",
    ),
    ("PO approval stuck with cost-centre owner", "requisition PR-{n} has waited for approval since Monday"),
]


def message(n: int, rng: random.Random, *, attachment_bytes: int = 0) -> bytes:
    subject, body = rng.choice(TOPICS)
    amount = f"{rng.randint(100, 99_999):,}.00"
    mail = EmailMessage()
    mail["From"] = f"Vendor {n % 400} <ap{n % 400}@vendor{n % 97}.example>"
    mail["To"] = "ap@p2pdesk.example"
    mail["Date"] = "Fri, 20 Nov 2026 09:30:00 +0100"
    mail["Message-ID"] = f"<bench-{n}@vendor{n % 97}.example>"
    if n % 10 == 3 and n > 10:  # a reply threading onto an earlier message
        mail["In-Reply-To"] = f"<bench-{n - 7}@vendor{(n - 7) % 97}.example>"
        mail["Subject"] = "Re: " + subject.format(n=n - 7)
    else:
        mail["Subject"] = subject.format(n=n)
    if n % 25 == 7:
        mail["Auto-Submitted"] = "auto-replied"
    request = body.format(n=n, amount=amount)
    text = f"Hello AP team,\n\n{request}.\nCould you check?\n\nKind regards,\nVendor {n}\n"
    mail.set_content(text + "\n> earlier message quoted here\n" * 3)
    if attachment_bytes:
        pdf = b"%PDF-1.4\n" + rng.randbytes(attachment_bytes) + b"\n%%EOF\n"
        mail.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"INV-{n}.pdf")
    return mail.as_bytes()


def setup_desk(tmp: Path, *, fresh_mailbox: bool = False) -> Any:
    from p2pdesk import bootstrap
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_agents import CreateAgent
    from p2pdesk.application.use_cases.manage_mailboxes import SaveMailbox, UpdateMailbox
    from p2pdesk.application.use_cases.manage_teams import CreateTeam

    desk = bootstrap.desk()
    existing = desk.intake_queries.mailboxes()
    if existing and fresh_mailbox:  # a child process: point the mailbox at its own folder
        desk.mailboxes.update(UpdateMailbox(existing[0].id, {"settings": {"path": str(tmp)}}), SYSTEM)
    if not existing:
        team = desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
        for i in range(8):
            desk.agents.create(
                CreateAgent(email=f"ap{i}@p2pdesk.example", name=f"AP {i}", team_ids=[team]), SYSTEM
            )
        desk.mailboxes.create(
            SaveMailbox(name="default", kind="maildir", settings={"path": str(tmp)}, default_team_id=team),
            SYSTEM,
        )
    return desk


def ingest_all(desk: Any, raws: list[bytes], maildir: Path, *, profile: str | None = None) -> Polled:
    """Write the messages to the Maildir, then time the poller taking them all in."""
    new = maildir / "new"
    new.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        (new / f"{time.time_ns()}.{i}.bench").write_bytes(raw)
    return poll(desk, profile=profile)


@dataclass
class Polled:
    seconds: float  # wall
    cpu_seconds: float  # this process (the poller), user + system
    outcomes: dict[str, int]
    statements: dict[str, int]  # SQL statements by kind (verb + table), through Django's cursor
    statement_seconds: dict[str, float]  # wall time waiting on them, by kind


def poll(desk: Any, *, profile: str | None = None) -> Polled:
    """One poll of the mailbox; with `profile` a file name, under cProfile (CPU time) saved there."""
    from django.db import connection

    from p2pdesk.application.use_cases.poll_mailboxes import PollMailboxes

    timer = common.StatementTimer()
    profiler = cProfile.Profile(time.process_time) if profile else None
    cpu = time.process_time()
    started = time.perf_counter()
    with connection.execute_wrapper(timer):
        if profiler is not None:
            profiler.enable()
        [result] = desk.poll_mailboxes(PollMailboxes(mailbox="default"))
        if profiler is not None:
            profiler.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if result.error:
        raise SystemExit(f"poll failed: {result.error}")
    if profiler is not None and profile:
        profiler.dump_stats(profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
    return Polled(seconds, cpu, dict(result.outcomes), dict(timer.counts), dict(timer.seconds))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: Linux carries that over from the
    parent through fork and exec, so a child would report the bench's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def big_one(path: str) -> None:
    """Child process: poll one message (made by the parent and moved into the Maildir here without
    reading it, so neither costs this process memory) and print its peak RSS as JSON."""
    common.setup_django(DB)
    with tempfile.TemporaryDirectory() as tmp:
        desk = setup_desk(Path(tmp), fresh_mailbox=True)
        (Path(tmp) / "new").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(tmp) / "new" / f"{time.time_ns()}.big.bench")
        before = peak_rss_mb()
        polled = poll(desk)
        print(
            json.dumps(
                {
                    "rss_before_mb": before,
                    "rss_peak_mb": peak_rss_mb(),
                    "seconds": polled.seconds,
                    "outcomes": polled.outcomes,
                }
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run part A under cProfile (CPU time), print the top functions and save the stats to FILE",
    )
    parser.add_argument("--big-one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.big_one:
        big_one(args.big_one)
        return

    common.banner("Benchmark 5: mail intake end to end (one worker, PostgreSQL)")
    common.warn_if_busy("intake")
    common.recreate_database(DB)
    # An empty file store too: a store that already holds the corpus from an earlier run would
    # skip writing every file (content-addressed) and flatter the figures.
    files = tempfile.TemporaryDirectory(prefix="p2pdesk-bench-files-")
    os.environ["P2PDESK_FILES_DIR"] = files.name  # also for the child processes of part C
    common.setup_django(DB)
    rng = random.Random(20261122)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        desk = setup_desk(Path(tmp))
        plain = [message(n, rng) for n in range(1, args.messages + 1)]
        meter = common.CpuMeter(pg_url=DB)
        polled = ingest_all(desk, plain, Path(tmp), profile=args.profile)
        usage = meter.read()
        rate = len(plain) / polled.seconds
        statements = sum(polled.statements.values())
        by_kind = ", ".join(f"{k} {v}" for k, v in sorted(polled.statements.items(), key=lambda kv: -kv[1]))
        result["plain"] = {
            "messages": len(plain),
            "seconds": polled.seconds,
            "per_second": rate,
            "outcomes": polled.outcomes,
            "cpu_ms_per_message": polled.cpu_seconds / len(plain) * 1000,
            "statements_per_message": statements / len(plain),
            "statements": polled.statements,
            "cpu": usage,
        }
        print(
            f"A. {len(plain)} messages without attachments: {rate:.0f}/s ({polled.seconds:.1f} s)"
            f" {polled.outcomes}\n"
            f"   poller CPU {result['plain']['cpu_ms_per_message']:.2f} ms/message (in process),"
            f" {statements / len(plain):.2f} SQL statements/message"
            f" ({by_kind})\n"
            f"   cores busy: machine {usage['machine_cores']:.2f}, poller {usage['loadgen_cores']:.2f},"
            f" PostgreSQL {usage['postgres_cores']:.2f}, anything else {usage['other_cores']:.2f}"
            f"{' (under cProfile: slower)' if args.profile else ''}",
            flush=True,
        )

        count = max(100, args.messages // 5)
        mixed = [
            message(
                100_000 + n, rng, attachment_bytes=rng.randint(100, 5 * 1024) * 1024 if n % 10 == 0 else 0
            )
            for n in range(count)
        ]
        megabytes = sum(len(r) for r in mixed) / 2**20
        polled = ingest_all(desk, mixed, Path(tmp))
        seconds = polled.seconds
        result["mixed"] = {
            "messages": count,
            "megabytes": megabytes,
            "seconds": seconds,
            "per_second": count / seconds,
            "mb_per_second": megabytes / seconds,
            "outcomes": polled.outcomes,
            "cpu_ms_per_message": polled.cpu_seconds / count * 1000,
        }
        print(
            f"B. {count} messages, 10% with a 100 KB-5 MB PDF ({megabytes:.0f} MB): "
            f"{count / seconds:.0f}/s, {megabytes / seconds:.1f} MB/s"
        )
        result["peak_rss_mb_after_a_b"] = peak_rss_mb()
        del plain, mixed

    big = []
    if not args.skip_big:
        for size in (1, 5, 10, 25):
            with tempfile.NamedTemporaryFile(suffix=".eml") as eml:
                raw = message(10_000_000 + size, random.Random(size), attachment_bytes=size * 1024 * 1024)
                eml.write(raw)
                eml.flush()
                run = subprocess.run(
                    [sys.executable, __file__, "--big-one", eml.name],
                    env=common.bench_env(DB),
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=True,
                )
            row = {
                "size_mb": size,
                "raw_mb": len(raw) / 2**20,
                **json.loads(run.stdout.strip().splitlines()[-1]),
            }
            big.append(row)
            print(
                f"C. one message with a {size} MB PDF ({row['raw_mb']:.1f} MB raw): peak RSS "
                f"{row['rss_peak_mb']:.0f} MB (process at {row['rss_before_mb']:.0f} MB before), "
                f"{row['seconds']:.2f} s"
            )
    result["big"] = big
    result["summary"] = [
        [
            "intake, no attachments",
            f"{result['plain']['per_second']:.0f} msg/s",
            f">= {TARGET_PER_SECOND:.0f}/s",
            common.verdict(result["plain"]["per_second"] >= TARGET_PER_SECOND),
        ],
        [
            "intake, 10% with PDFs",
            f"{result['mixed']['per_second']:.0f} msg/s, {result['mixed']['mb_per_second']:.1f} MB/s",
            "",
            "",
        ],
        *[[f"intake peak RSS, {r['size_mb']} MB PDF", f"{r['rss_peak_mb']:.0f} MB", "flat", ""] for r in big],
    ]
    common.write_result("intake", result)
    files.cleanup()


if __name__ == "__main__":
    main()
