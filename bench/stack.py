"""A private p2pdesk stack on loopback for the load and fault runs: its own PostgreSQL cluster
(initdb into a temporary directory, port 5499), its own redis-server (port 6399, append-only file on,
as in compose.yaml), gunicorn with gunicorn.conf.py, Celery workers and beat.

Nothing here touches the shared servers on 5432/6379: the fault runs stop and restart these private
ones. Every process is started by us in its own session and stopped by its pid when the stack
closes. Not a benchmark itself.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as common

PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_PORT = int(os.environ.get("BENCH_PRIVATE_PG_PORT", "5499"))
REDIS_PORT = int(os.environ.get("BENCH_PRIVATE_REDIS_PORT", "6399"))
VENV_BIN = Path(sys.executable).parent


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def wait_until(check: Any, timeout: float, what: str) -> float:
    """Poll `check` every 0.1 s until true; the seconds it took. Bounded: raise after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"{what}: not within {timeout:.0f} s")


def http_status(port: int, path: str, timeout: float = 5.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


@dataclass
class PrivateStack:
    root: Path
    web_port: int = 0
    processes: dict[str, subprocess.Popen[Any]] = field(default_factory=dict)

    # --- the servers ----------------------------------------------------------------------------

    @property
    def pg_dir(self) -> Path:
        return self.root / "pg"

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{PG_PORT}/p2pdesk_bench_private"

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/0"

    def init_postgres(self) -> None:
        self.pg_dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.pg_dir, "postgres")
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.pg_dir), "-U", "postgres", "--auth=trust"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.start_postgres()
        subprocess.run(
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
                "p2pdesk_bench_private",
            ],
            check=True,
            timeout=60,
        )

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -k {self.pg_dir} -c max_connections=200"
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.pg_dir),
                    "-l",
                    str(self.pg_dir / "log"),
                    "-o",
                    options,
                    *args,
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def postgres_up(self) -> bool:
        return (
            subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-q"],
                check=False,
                timeout=10,
            ).returncode
            == 0
        )

    def start_postgres(self) -> None:
        self._pg_ctl("start", "-w")
        wait_until(self.postgres_up, 60, "private PostgreSQL start")

    def stop_postgres(self) -> None:
        self._pg_ctl("stop", "-m", "fast", "-w")

    def restart_postgres(self) -> None:
        self._pg_ctl("restart", "-m", "fast", "-w")

    def start_redis(self) -> None:
        (self.root / "redis").mkdir(exist_ok=True)
        self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--dir",
                str(self.root / "redis"),
            ],
        )
        wait_until(self.redis_up, 30, "private Redis start")

    def redis_up(self) -> bool:
        return (
            subprocess.run(
                ["redis-cli", "-p", str(REDIS_PORT), "ping"],
                capture_output=True,
                text=True,
                check=False,
                timeout=5,
            ).stdout.strip()
            == "PONG"
        )

    def stop_redis(self) -> None:
        """SHUTDOWN: Redis flushes its append-only file and exits, as a stopped production Redis would."""
        subprocess.run(
            ["redis-cli", "-p", str(REDIS_PORT), "shutdown"], capture_output=True, check=False, timeout=10
        )
        proc = self.processes.pop("redis")
        proc.wait(timeout=30)

    def queue_length(self) -> int:
        out = subprocess.run(
            ["redis-cli", "-p", str(REDIS_PORT), "llen", "celery"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        ).stdout.strip()
        return int(out or 0)

    # --- p2pdesk ----------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            "SECRET_KEY": "p2pdesk-bench-secret-key-not-for-production",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "P2PDESK_DATA_DIR": str(self.root / "data"),
            "P2PDESK_FILES_DIR": str(self.root / "files"),
            "P2PDESK_POLL_TICK_SECONDS": "1",
            **extra,
        }

    def manage(self, *args: str) -> str:
        run = subprocess.run(
            [str(VENV_BIN / "p2pdesk"), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if run.returncode != 0:
            raise SystemExit(f"p2pdesk {' '.join(args)} failed:\n{run.stdout}{run.stderr}")
        return run.stdout

    def start_web(self, workers: int = 3, threads: int = 4) -> None:
        self.web_port = common.free_port()
        metrics_dir = self.root / "prometheus-web"
        self._spawn(
            "web",
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                str(common.ROOT / "gunicorn.conf.py"),
                "config.wsgi:application",
            ],
            env=self.env(
                PORT=str(self.web_port),
                GUNICORN_BIND=f"127.0.0.1:{self.web_port}",
                WEB_CONCURRENCY=str(workers),
                WEB_THREADS=str(threads),
                PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
                GUNICORN_MAX_REQUESTS="0",
            ),
        )
        wait_until(lambda: http_status(self.web_port, "/healthz") == 200, 90, "gunicorn start")

    def start_worker(self, name: str, concurrency: int = 1) -> None:
        self._spawn(
            name,
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@bench",
                "--without-gossip",
                "--without-mingle",
            ],
        )

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(self.root / "celerybeat-schedule"),
                "--pidfile",
                "",
            ],
        )

    def kill9(self, name: str) -> int:
        """SIGKILL a process we started and everything in its session (a worker and its pool)."""
        proc = self.processes.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return proc.pid

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.root / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            args,
            env=env or self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=common.ROOT,
            start_new_session=True,
        )

    def close(self) -> None:
        for name in list(self.processes):
            proc = self.processes.pop(name)
            if proc.poll() is None:
                common.stop_process(proc, grace=20)
        if self.pg_dir.exists() and self.postgres_up():
            with contextlib.suppress(Exception):
                self.stop_postgres()


@contextlib.contextmanager
def private_stack(keep: bool = False) -> Iterator[PrivateStack]:
    """PostgreSQL and Redis of our own, migrated; the caller starts web/worker/beat as it needs."""
    for port, what in ((PG_PORT, "PostgreSQL"), (REDIS_PORT, "Redis")):
        with (
            contextlib.suppress(OSError),
            __import__("socket").create_connection(("127.0.0.1", port), timeout=1),
        ):
            raise SystemExit(
                f"port {port} is taken: another private {what} still runs (a bench in progress?)"
            )
    root = Path(tempfile.mkdtemp(prefix="p2pdesk-bench-stack-"))
    os.chmod(root, 0o755)  # noqa: S103 (the postgres user must reach its data directory inside)
    stack = PrivateStack(root)
    try:
        stack.init_postgres()
        stack.start_redis()
        stack.manage("migrate", "--no-input", "-v0")
        yield stack
    finally:
        stack.close()
        if keep:
            print(f"logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def token(stack: PrivateStack, email: str, role: str) -> str:
    return stack.manage("create_api_token", "--email", email, "--role", role).strip().splitlines()[-1]


def add_maildir_mailbox(stack: PrivateStack, client: common.HttpClient, name: str, team: int) -> int:
    """A Maildir mailbox polled every 10 s (the minimum); its folder is stack.root / f"maildir-{name}"."""
    (stack.root / f"maildir-{name}").mkdir(exist_ok=True)
    mailbox = client.json(
        "POST",
        "/api/v1/mailboxes/",
        {
            "name": name,
            "kind": "maildir",
            "settings": {"path": str(stack.root / f"maildir-{name}")},
            "default_team": team,
            "acknowledge": False,
            "poll_interval_seconds": 10,
        },
    )
    return int(mailbox["id"])


def setup_desk(stack: PrivateStack, teams: int = 2, agents_per_team: int = 5) -> dict[str, Any]:
    """Teams with agents, an admin token and an integration token, a `default` intake mailbox."""
    admin = token(stack, "bench-admin@p2pdesk.example", "admin")
    integration = token(stack, "bench-integration@p2pdesk.example", "integration")
    client = common.HttpClient(stack.web_port, admin)
    team_ids = []
    for t in range(teams):
        team = client.json("POST", "/api/v1/teams/", {"name": f"Bench team {t + 1}"})
        team_ids.append(team["id"])
        for a in range(agents_per_team):
            client.json(
                "POST",
                "/api/v1/agents/",
                {"email": f"agent{t}-{a}@p2pdesk.example", "name": f"Agent {t}-{a}", "teams": [team["id"]]},
            )
    mailbox = add_maildir_mailbox(stack, client, "default", team_ids[0])
    client.close()
    return {"admin": admin, "integration": integration, "teams": team_ids, "mailbox": mailbox}


def count(stack: PrivateStack, sql: str) -> int:
    with common.psycopg_connect(stack.database_url) as conn:
        return int(conn.execute(sql).fetchone()[0])


def dump(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, default=str)
