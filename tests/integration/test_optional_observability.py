"""Sentry and OpenTelemetry are off by default (not even imported) and work when switched on.
Each case runs in a fresh interpreter: both hook into Django and Celery at settings load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str, **env: str) -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if k not in ("SENTRY_DSN", "OTEL_ENABLED")}
    result = subprocess.run(  # noqa: S603 (this interpreter, our own code)
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**base, "DATABASE_URL": "", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # The script prints one line {"result": ...}; log lines (JSON too) may come around it.
    [answer] = [line for line in result.stdout.splitlines() if line.startswith('{"result"')]
    return json.loads(answer)["result"]


def test_off_by_default_and_not_imported(tmp_path: Path) -> None:
    seen = run(
        """
        import json, sys, django
        django.setup()
        from django.test import Client
        Client().get("/healthz")
        loaded = sorted(m for m in ("sentry_sdk", "opentelemetry") if m in sys.modules)
        print(json.dumps({"result": {"loaded": loaded}}))
        """,
        P2PDESK_DATA_DIR=str(tmp_path),
    )
    assert seen == {"loaded": []}


def test_sentry_reports_without_pii_or_bodies(tmp_path: Path) -> None:
    seen = run(
        """
        import json, django
        django.setup()
        import sentry_sdk
        client = sentry_sdk.get_client()
        print(json.dumps({"result": {"active": client.is_active(), "pii": client.options["send_default_pii"],
                                     "bodies": client.options["max_request_body_size"]}}))
        """,
        SENTRY_DSN="http://public@127.0.0.1:9/1",  # loopback, nothing listens: nothing leaves
        P2PDESK_DATA_DIR=str(tmp_path),
    )
    assert seen == {"active": True, "pii": False, "bodies": "never"}


def test_tracing_makes_a_span_per_request_named_by_route(tmp_path: Path) -> None:
    seen = run(
        """
        import json, django
        django.setup()
        from opentelemetry import trace
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
        from django.test import Client
        Client().get("/healthz")
        print(json.dumps({"result": {"spans": [s.name for s in exporter.get_finished_spans()]}}))
        """,
        OTEL_ENABLED="1",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        OTEL_BSP_EXPORT_TIMEOUT="100",
        P2PDESK_DATA_DIR=str(tmp_path),
    )
    assert seen == {"spans": ["GET healthz"]}
