# syntax=docker/dockerfile:1
# One image for every p2pdesk process: web (gunicorn, the default command), worker and beat (celery),
# and migrations (`p2pdesk migrate`), each picked by the command. See deploy/README.md.
#
# The base is pinned to an exact Python and Debian release; platforms that pin by digest add
# `@sha256:...` here (Renovate/Dependabot keep it fresh). Build and run stages use the same base, so
# compiled wheels match the runtime's libc.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first (from the exact pins in constraints.txt), so a code change reuses this layer.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir -p src && /opt/venv/bin/pip install -c constraints.txt "setuptools>=75" wheel \
    && /opt/venv/bin/pip install -c constraints.txt . \
    && /opt/venv/bin/pip uninstall -y p2pdesk
COPY src ./src
RUN /opt/venv/bin/pip install --no-deps -c constraints.txt . \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="p2pdesk" \
      org.opencontainers.image.description="Procure-to-Pay operations desk: web, worker, beat, migrate"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    P2PDESK_DATA_DIR=/var/lib/p2pdesk \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    PORT=8000
# A fixed, unprivileged uid/gid: Kubernetes' runAsNonRoot can check it, volumes can be chowned to it.
RUN groupadd --system --gid 10001 p2pdesk \
    && useradd --system --uid 10001 --gid p2pdesk --home-dir /var/lib/p2pdesk --shell /usr/sbin/nologin p2pdesk \
    && mkdir -p /var/lib/p2pdesk/files /tmp/prometheus \
    && chown -R p2pdesk:p2pdesk /var/lib/p2pdesk /tmp/prometheus
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY gunicorn.conf.py ./
USER 10001:10001
EXPOSE 8000
# gunicorn and celery both shut down gracefully on SIGTERM: gunicorn finishes in-flight requests
# (graceful_timeout), a celery worker finishes its task or, killed, leaves it unacknowledged (acks_late).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", timeout=4)"]
CMD ["gunicorn", "config.wsgi:application"]
