"""Shared plumbing for the benchmarks: bench databases, Django setup, gunicorn, an HTTP client, figures.

Not a benchmark itself. Everything here talks to 127.0.0.1 only, and every wait is bounded.
Benchmarks only ever touch databases whose name starts with `p2pdesk_bench`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"

PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
# Benchmarks 1-3 start from an empty database every run; the 1M-ticket list dataset lives in its own
# database so that it survives between runs (it takes minutes to load).
BENCH_DB = os.environ.get("BENCH_DATABASE_URL", f"{PG_SERVER}/p2pdesk_bench")
LIST_DB = os.environ.get("BENCH_LIST_DATABASE_URL", f"{PG_SERVER}/p2pdesk_bench_list")

SHARED_CPU_NOTE = (
    f"NOTE: the load generator, gunicorn and PostgreSQL share this machine's {os.cpu_count()} cores; "
    "figures are for the three together, not for the server alone."
)


# --- databases -------------------------------------------------------------------------------------


def db_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("p2pdesk_bench"):
        raise SystemExit(f"refusing to touch database {name!r}: bench databases are named p2pdesk_bench*")
    return name


def server_url(url: str) -> str:
    """The same server, database `postgres`: where CREATE/DROP DATABASE run."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def psycopg_connect(url: str, **kwargs: Any) -> Any:
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), **kwargs)


def database_exists(url: str) -> bool:
    name = db_name(url)
    with psycopg_connect(server_url(url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


_CLAIMS: dict[str, Any] = {}


def claim_database(url: str, wait: float | None = None) -> None:
    """Hold an exclusive lock on a bench database for the rest of this process.

    Two bench runs on one machine would otherwise drop each other's database mid-run (DROP DATABASE
    WITH FORCE). The second one waits, up to $BENCH_LOCK_WAIT seconds (default 1800).
    """
    import fcntl

    name = db_name(url)
    if name in _CLAIMS:
        return
    wait = float(os.environ.get("BENCH_LOCK_WAIT", "1800")) if wait is None else wait
    lock_path = Path(tempfile.gettempdir()) / f"p2pdesk-bench-{name}.lock"
    handle = lock_path.open("a+")  # held (and locked) until this process exits
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise SystemExit(f"database {name} is still in use by another bench run; giving up") from None
            if not told:
                print(f"waiting for another bench run to finish with database {name} ...", flush=True)
                told = True
            time.sleep(2)
    _CLAIMS[name] = handle


def recreate_database(url: str) -> None:
    """Drop (with any leftover sessions on it) and create the bench database, then migrate it."""
    from psycopg import sql

    name = db_name(url)
    claim_database(url)
    with psycopg_connect(server_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate(url)


def p2pdesk_command() -> str:
    beside = Path(sys.executable).parent / "p2pdesk"
    return str(beside) if beside.exists() else (shutil.which("p2pdesk") or "p2pdesk")


def bench_env(url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY="p2pdesk-bench-secret-key-not-for-production",
        DEBUG="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
        **extra,
    )
    return env


def migrate(url: str) -> None:
    run = subprocess.run(
        [p2pdesk_command(), "migrate", "--no-input", "-v0"],
        env=bench_env(url),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if run.returncode != 0:
        sys.stderr.write(run.stdout + run.stderr)
        raise SystemExit(f"p2pdesk migrate failed on {db_name(url)}")


def setup_django(url: str) -> None:
    """Point this process's Django at a bench database. Call before importing p2pdesk's adapters."""
    db_name(url)
    os.environ.update(bench_env(url))
    import django

    django.setup()


def issue_token(url: str, email: str = "bench@x.example", role: str = "admin") -> str:
    run = subprocess.run(
        [p2pdesk_command(), "create_api_token", "--email", email, "--role", role],
        env=bench_env(url),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return run.stdout.strip().splitlines()[-1].strip()


# --- gunicorn --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    port: int
    description: str
    pid: int


@contextlib.contextmanager
def gunicorn(
    url: str,
    *,
    name: str,
    workers: int = 4,
    worker_class: str = "gthread",
    threads: int = 4,
    startup_timeout: float = 60.0,
) -> Iterator[Server]:
    """Run `gunicorn config.wsgi:application` on a free loopback port until the block ends."""
    port = free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / f"gunicorn-{name}.log"
    args = [
        str(Path(sys.executable).parent / "gunicorn"),
        # The deployed settings (max_requests recycling, tmp dir, ...), as gunicorn would read them
        # from the working directory anyway; what follows on the command line overrides them.
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--log-level",
        "warning",
        "--timeout",
        "120",
        "--keep-alive",
        "30",
        "--backlog",
        "2048",
    ]
    # Always explicit: gunicorn.conf.py sets 4 threads, and a sync worker given threads > 1 silently
    # runs as gthread.
    args += ["--threads", str(threads if worker_class == "gthread" else 1)]
    description = f"gunicorn {worker_class} workers={workers}" + (
        f" threads={threads}" if worker_class == "gthread" else ""
    )
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            args, env=bench_env(url), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"gunicorn exited early with {proc.returncode}; see {log_path}")
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/readyz")
                    if conn.getresponse().status == 200:
                        conn.close()
                        break
                    conn.close()
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"gunicorn did not become ready in {startup_timeout:.0f}s; see {log_path}"
                    )
                time.sleep(0.2)
            yield Server(port, description, proc.pid)
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen[Any], grace: float = 15.0) -> None:
    """SIGTERM the process we started (gunicorn's master stops its workers), SIGKILL after `grace`."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the master and its workers only
        proc.wait(timeout=grace)


# --- HTTP client -----------------------------------------------------------------------------------


class HttpClient:
    """One keep-alive connection (stdlib http.client); reconnects when the server closes it."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.headers = {"Accept": "application/json", "Host": "127.0.0.1"}
        if token:
            self.headers["Authorization"] = f"Token {token}"
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server had already closed: retry once on a new one.
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return response.status, data
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, data = self.request(method, path, body)
        if status >= 400:
            raise RuntimeError(f"{method} {path} -> {status}: {data[:500]!r}")
        return json.loads(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- figures ---------------------------------------------------------------------------------------


class StatementTimer:
    """connection.execute_wrapper: wall time per kind of statement (verb + table), summed."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._kinds: dict[str, str] = {}  # by statement text: splitting each one costs the process CPU

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = self._kinds.get(sql)
            if key is None:
                key = self._kinds[sql] = _statement_kind(sql)
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started
            self.counts[key] = self.counts.get(key, 0) + 1


def _statement_kind(sql: str) -> str:
    words = sql.replace('"', " ").split()
    verb = words[0].upper() if words else "?"
    table = next((w for w in words if w.startswith("p2pdesk_")), "")
    if "pg_advisory" in sql:
        table = "pg_advisory_xact_lock"
    if verb == "SELECT" and "FOR NO KEY UPDATE" in sql:
        verb = "SELECT..FOR UPDATE"
    return f"{verb} {table}".strip()


class CpuMeter:
    """Average cores busy over an interval: the machine (/proc/stat), this process and its finished
    children, gunicorn's process tree, and PostgreSQL (backends of one database plus the server's
    background processes: autovacuum, checkpointer, WAL writer); the rest is load from elsewhere.

    PostgreSQL processes come and go (Django recycles connections every DB_CONN_MAX_AGE seconds), and
    so do gunicorn's workers (recycled after max_requests): a thread samples both twice a second and
    keeps each process's last reading, so one that exits during the interval still counts (up to
    its last sample) and one that starts counts from zero.
    """

    def __init__(self, tree_root: int | None = None, pg_url: str | None = None) -> None:
        self.tree_root = tree_root
        self.pg_url = pg_url
        self._pg_first: dict[int, int] = {}
        self._pg_last: dict[int, int] = {}
        self._tree_last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = self._sample()
        if pg_url:
            self._sample_pg(baseline=True)
        if pg_url or tree_root is not None:
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            if self.pg_url:
                self._sample_pg()
            self._sample_tree()

    def _sample_tree(self) -> None:
        for pid in _tree(self.tree_root):
            ticks = _proc_cpu(pid)
            self._tree_last[pid] = max(ticks, self._tree_last.get(pid, 0))

    def _sample_pg(self, baseline: bool = False) -> None:
        assert self.pg_url is not None
        try:
            with psycopg_connect(server_url(self.pg_url), autocommit=True, connect_timeout=5) as conn:
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                    " AND (datname = %s OR datname IS NULL)",
                    [db_name(self.pg_url)],
                ).fetchall()
        except Exception:
            return
        for (pid,) in rows:
            ticks = _proc_cpu(pid)
            if pid not in self._pg_first:
                self._pg_first[pid] = ticks if baseline else 0
            self._pg_last[pid] = max(ticks, self._pg_last.get(pid, 0))

    def _sample(self) -> dict[str, Any]:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]
        usage = os.times()  # with finished children (gunicorn, subprocesses) once they have exited
        return {
            "t": time.monotonic(),
            "machine": sum(fields[:8]) - idle,
            "own": usage.user + usage.system + usage.children_user + usage.children_system,
            "tree": {pid: _proc_cpu(pid) for pid in _tree(self.tree_root)},
        }

    def read(self) -> dict[str, Any]:
        end = self._sample()
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            if self.pg_url:
                self._sample_pg()
        start = self._start
        tick = os.sysconf("SC_CLK_TCK")
        wall = max(end["t"] - start["t"], 1e-9)
        last = dict(self._tree_last)
        for pid, ticks in end["tree"].items():
            last[pid] = max(ticks, last.get(pid, 0))
        tree = sum(v - start["tree"].get(pid, 0) for pid, v in last.items()) / tick / wall
        pg = sum(self._pg_last[pid] - self._pg_first[pid] for pid in self._pg_last) / tick / wall
        out = {
            "machine_cores": (end["machine"] - start["machine"]) / tick / wall,
            "loadgen_cores": (end["own"] - start["own"]) / wall,
            "server_cores": tree,
            "postgres_cores": pg,
        }
        out["other_cores"] = max(
            0.0, out["machine_cores"] - out["loadgen_cores"] - out["server_cores"] - out["postgres_cores"]
        )
        # gunicorn workers that started during the interval (recycled ones, after max_requests)
        out["server_processes_started"] = len(set(last) - set(start["tree"]))
        return out


def background_load(seconds: float = 2.0) -> float:
    """Cores busy on this machine right now, before a benchmark starts (other people's tests, ...)."""
    meter = CpuMeter()
    time.sleep(seconds)
    return meter.read()["machine_cores"]


def warn_if_busy(where: str) -> float:
    """Cores busy before a benchmark; waits up to $BENCH_WAIT_QUIET seconds (default 0) for quiet."""
    wait = float(os.environ.get("BENCH_WAIT_QUIET", "0"))
    deadline = time.monotonic() + wait
    busy = background_load()
    while busy > 0.2 and time.monotonic() < deadline:
        busy = background_load(3.0)
    if busy > 0.2:
        print(
            f"WARNING ({where}): {busy:.2f} of {os.cpu_count()} cores were already busy before this benchmark"
            " (something else runs on the machine); its figures are lower than on a quiet machine.",
            flush=True,
        )
    return busy


def other_load_note(meter: CpuMeter) -> dict[str, float]:
    """Print and return how busy the machine was with work not from this benchmark, during it."""
    usage = meter.read()
    print(
        f"CPU during this benchmark (cores of {os.cpu_count()}): machine {usage['machine_cores']:.2f}, this"
        f" benchmark's processes {usage['loadgen_cores']:.2f}, PostgreSQL (its database + background)"
        f" {usage['postgres_cores']:.2f}, anything else {usage['other_cores']:.2f}",
        flush=True,
    )
    return usage


def _proc_cpu(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime, in ticks
    except (OSError, IndexError, ValueError):
        return 0


def _tree(root: int | None) -> list[int]:
    """root and its children (gunicorn: the master and its workers)."""
    if root is None:
        return []
    pids = [root]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == root:
            pids.append(int(entry))
    return pids


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "MISSED")


def write_result(name: str, result: dict[str, Any]) -> Path:
    """bench/results/<name>.json: run_all.py builds its summary from these."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    result = {"benchmark": name, "finished_at": time.strftime("%Y-%m-%d %H:%M:%S"), **result}
    path.write_text(json.dumps(result, indent=2, default=str))
    return path


def banner(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)
