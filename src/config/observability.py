"""Optional error reporting (Sentry) and tracing (OpenTelemetry): off by default, and their packages
(extras `sentry` and `otel`) are imported only when switched on, so the base install needs neither.

Neither may carry mail or secrets off the machine: Sentry gets no request bodies and no PII, and
traces carry the route and status, never a body.
"""

from __future__ import annotations

import os


def configure_observability(*, sentry_dsn: str, tracing: bool) -> None:
    if sentry_dsn:
        _configure_sentry(sentry_dsn)
    if tracing:
        _configure_tracing()


def _configure_sentry(dsn: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        release=os.environ.get("SENTRY_RELEASE") or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",  # raw mail and ticket texts stay here
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )


_tracing_on = False


def _configure_tracing() -> None:
    """Spans for requests (Django), tasks (Celery) and queries (psycopg), exported over OTLP/HTTP to
    OTEL_EXPORTER_OTLP_ENDPOINT (the SDK's standard variables: OTEL_SERVICE_NAME, ...)."""
    global _tracing_on
    if _tracing_on:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "p2pdesk")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    _tracing_on = True
