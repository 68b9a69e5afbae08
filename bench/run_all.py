"""Run every benchmark against PostgreSQL, then print a summary table (also bench/results/latest.txt).

Order: assignment latency, redistribution, ticket list (1M tickets, reused between runs), API create,
intake, routing (quality on the labelled corpus, and speed; no database), then the routing target judged
on the fourth and fifth blind sets (`routing.py --holdout data/routing_blind4_corpus.jsonl
data/routing_blind5_corpus.jsonl`).
Each runs in its own process (`python bench/<name>.py`, each is also runnable alone) with a time
cap; a benchmark that fails or times out is reported as such and the others still run.

    python bench/run_all.py [--only assignment_latency,ticket_list] [--quick] [--wait-quiet 120]
    python bench/run_all.py --report    # rebuild the summary from bench/results/*.json, run nothing

--quick passes smaller sizes/durations, for checking the harness, not for figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import _common as common

_HOLDOUT = [str(common.BENCH_DIR / "data" / f"routing_blind{n}_corpus.jsonl") for n in (4, 5)]
BENCHMARKS: dict[str, tuple[list[str], list[str], float]] = {
    # name: (arguments, --quick arguments, time cap in seconds)
    "assignment_latency": ([], ["--n", "50"], 900),
    "redistribute": ([], ["--tickets", "10000", "--inactive", "1000"], 1200),
    "ticket_list": ([], ["--iterations", "5"], 3600),
    "api_create": ([], ["--duration", "3", "--concurrency", "1,4"], 900),
    "intake": ([], ["--messages", "200", "--skip-big"], 1200),
    "routing": ([], [], 600),
    # The routing target, judged on the blind set nobody working on the rules has read.
    "routing_holdout": (["--holdout", *_HOLDOUT], ["--holdout", *_HOLDOUT], 600),
}
SCRIPTS = {"routing_holdout": "routing"}  # benchmarks that are another script's mode


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the harness only")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=float(os.environ.get("BENCH_WAIT_QUIET", "120")),
        help="before each benchmark, wait up to this many seconds for the machine to be idle (default 120)",
    )
    parser.add_argument("--report", action="store_true", help="only rebuild the summary from results/*.json")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"unknown benchmarks {unknown}; choose from {list(BENCHMARKS)}")

    common.RESULTS.mkdir(parents=True, exist_ok=True)
    if args.report:
        found = [n for n in names if (common.RESULTS / f"{n}.json").exists()]
        report = _report(found, dict.fromkeys(found, "ok"), {}, 0.0, quick=False)
        print(report)
        return
    began = time.time()
    outcomes: dict[str, str] = {}
    durations: dict[str, float] = {}
    for name in names:
        full, quick, cap = BENCHMARKS[name]
        result_file = common.RESULTS / f"{name}.json"
        result_file.unlink(missing_ok=True)
        script = common.BENCH_DIR / f"{SCRIPTS.get(name, name)}.py"
        command = [sys.executable, str(script), *(quick if args.quick else full)]
        started = time.monotonic()
        env = dict(os.environ, BENCH_WAIT_QUIET=str(args.wait_quiet))
        try:
            run = subprocess.run(
                command, timeout=cap + args.wait_quiet, check=False, cwd=common.ROOT, env=env
            )
            outcomes[name] = "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
        except subprocess.TimeoutExpired:
            outcomes[name] = f"TIMED OUT after {cap:.0f}s"
        durations[name] = time.monotonic() - started
        if outcomes[name] == "ok" and not result_file.exists():
            outcomes[name] = "FAILED (no results file)"

    report = _report(names, outcomes, durations, time.time() - began, args.quick)
    print("\n" + report)
    latest = common.RESULTS / "latest.txt"
    latest.write_text(report + "\n")
    print(f"\nwritten to {latest}")


def _report(
    names: list[str], outcomes: dict[str, str], durations: dict[str, float], total: float, quick: bool
) -> str:
    rows: list[list[str]] = []
    background: list[str] = []
    for name in names:
        path: Path = common.RESULTS / f"{name}.json"
        if outcomes[name] != "ok":
            rows.append([name, outcomes[name], "", ""])
            continue
        result = json.loads(path.read_text())
        if result.get("background_cores_before") is not None:
            during = result.get("cpu_during", {}).get("other_cores")
            background.append(
                f"{name} {result['background_cores_before']:.2f} before"
                + (f" / {during:.2f} during" if during is not None else "")
            )
        rows.extend([str(c) for c in row] for row in result.get("summary", []))
    header = [
        "p2pdesk benchmarks" + (" (--quick: harness check, not figures)" if quick else ""),
        (
            f"run {time.strftime('%Y-%m-%d %H:%M:%S')}, {total / 60:.1f} min"
            f" ({', '.join(f'{n} {durations[n]:.0f}s' for n in names)})"
            if durations
            else "rebuilt from bench/results/*.json: "
            + ", ".join(
                f"{n} {json.loads((common.RESULTS / f'{n}.json').read_text())['finished_at']}" for n in names
            )
        ),
        f"machine: {os.cpu_count()} cores, {_mem_gib()} GiB, Python {platform.python_version()},"
        f" {_pg_version()}; DB {common.db_name(common.BENCH_DB)} / {common.db_name(common.LIST_DB)}",
        common.SHARED_CPU_NOTE,
        "cores busy outside the bench, before / during each: "
        + (", ".join(background) or "-")
        + "; above ~0.2 the figures are depressed by other load.",
        "",
    ]
    return "\n".join(header) + common.table(["figure", "measured", "target", ""], rows)


def _mem_gib() -> str:
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 1024 / 1024:.0f}"
    except (OSError, ValueError, IndexError):
        return "?"


def _pg_version() -> str:
    try:
        with common.psycopg_connect(common.server_url(common.BENCH_DB)) as conn:
            return "PostgreSQL " + str(conn.execute("SHOW server_version").fetchone()[0])
    except Exception:
        return "PostgreSQL ?"


if __name__ == "__main__":
    main()
