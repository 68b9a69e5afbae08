"""gunicorn settings for the web process (read from the working directory, or `gunicorn -c gunicorn.conf.py`).

Shutdown: on SIGTERM gunicorn stops accepting, lets each worker finish its in-flight requests for up
to `graceful_timeout` seconds, then kills what is left. Kubernetes gives the pod
terminationGracePeriodSeconds (longer than graceful_timeout plus the preStop pause) before SIGKILL.

Environment: PORT (8000; GUNICORN_BIND overrides the whole address), WEB_CONCURRENCY (worker processes, default 2), WEB_THREADS (threads per
worker, default 4), GUNICORN_TIMEOUT (60), GUNICORN_GRACEFUL_TIMEOUT (25), FORWARDED_ALLOW_IPS,
GUNICORN_MAX_REQUESTS (20000: a worker is replaced after about that many requests).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound; jitter avoids all at once.
# Not too often: a new worker imports Django and the app again (~0.7 s of CPU), which at 2,000
# requests per worker was a tenth of the CPU of a ticket create at 300 creates/s (bench/api_create.py).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = 2000
# The heartbeat file on tmpfs: a container's overlay filesystem can stall it and get workers killed.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None  # the request log is the app's JSON `http.request` line (request id, route, status)
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def on_starting(server: Any) -> None:
    """Start with an empty Prometheus multiprocess directory: stale files from a previous run would
    add a dead run's counters to this one's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
