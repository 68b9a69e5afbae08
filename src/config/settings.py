"""Django settings, read from the environment in this one place.

DATABASE_URL       postgres://user@host:5432/name (default: a SQLite file in P2PDESK_DATA_DIR)
P2PDESK_DATA_DIR   where the SQLite file lives (default: ./var)
SECRET_KEY         required when DEBUG is off
DEBUG              "1" for development (default on only when no SECRET_KEY is set)
ALLOWED_HOSTS      comma-separated (default: localhost,127.0.0.1,[::1],testserver)
P2PDESK_TIME_ZONE  the desk's timezone: new teams default to it, agents' "today" counters use it
LOG_LEVEL          INFO by default; logs are JSON lines on stdout
P2PDESK_FILES_DIR  where raw messages and attachments are kept (default: $P2PDESK_DATA_DIR/files)
P2PDESK_MAX_MESSAGE_BYTES / P2PDESK_MAX_ATTACHMENT_BYTES   intake limits (default 25 MB each)
P2PDESK_AUTH_CACHE_SECONDS  how long a checked API token, its role and teams are trusted (default 10; 0 = off)
EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS   outgoing SMTP
P2PDESK_REPLY_FROM, P2PDESK_MAIL_DOMAIN   From of agents' replies; domain of our Message-IDs
P2PDESK_PUBLIC_URL  the desk's public https base URL (https://desk.example); set, it turns push on
P2PDESK_GMAIL_PUSH_AUDIENCE, P2PDESK_GMAIL_PUSH_SERVICE_ACCOUNT   the audience and service account
                    of the Pub/Sub push subscription's OIDC tokens (both needed for /hooks/gmail/)
P2PDESK_GOOGLE_CERTS_URL   where Google's OIDC signing certificates are fetched (default Google's)
P2PDESK_TRIAGE_TEAM  the team routing sends a message to when nothing is confident (default Triage)
P2PDESK_ROUTER_CONFIDENCE  the classifier decides only at this probability or above (default 0.5)
P2PDESK_ROUTER_MODEL_OVERRIDES_RULES  default 1: a confident classifier overrides non-stop rules;
                           0: it decides only when no rule names a team
DB_CONNECT_TIMEOUT, BROKER_CONNECT_TIMEOUT   seconds before an unreachable database/broker is given up (3)
P2PDESK_DB_PREPARE  "0" behind a connection pooler that cannot keep prepared statements (PgBouncer in
                    transaction mode before 1.21): the hot statements are then parsed every time (default 1)
P2PDESK_WORKER_METRICS_PORT   a Celery worker serves its Prometheus metrics on this port (0: off)
SENTRY_DSN         report errors to Sentry (needs the `sentry` extra); off when unset
OTEL_ENABLED       "1" traces requests and tasks with OpenTelemetry (needs the `otel` extra; OTEL_* env)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dj_database_url

from config.logging import configure_logging
from config.observability import configure_observability

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("P2PDESK_DATA_DIR", Path.cwd() / "var"))
P2PDESK_DATA_DIR = DATA_DIR

_secret = os.environ.get("SECRET_KEY")
DEBUG = os.environ.get("DEBUG", "0" if _secret else "1") == "1"
SECRET_KEY = _secret or "p2pdesk-insecure-development-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "p2pdesk.infrastructure.persistence",
    "p2pdesk.infrastructure.api",
    "p2pdesk.infrastructure.cli",
    "p2pdesk.infrastructure.web",
]

MIDDLEWARE = [
    "p2pdesk.infrastructure.api.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "p2pdesk.infrastructure.api.middleware.DependencyErrorsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_sqlite_path = DATA_DIR / "p2pdesk.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{_sqlite_path}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        # A kept connection is checked before each request reuses it: after a database restart the
        # first request reconnects instead of failing on a dead socket. On PostgreSQL the check polls
        # the socket and needs no round trip (persistence/postgresql/base.py).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check of kept connections that needs no round trip and a
    # create's last writes sent with its COMMIT (persistence/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "p2pdesk.infrastructure.persistence.postgresql"
    # Fail fast (503) while the database is unreachable instead of hanging on the OS's TCP timeout.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
        os.environ.get("DB_CONNECT_TIMEOUT", "3")
    )
    # A worker killed mid-statement leaves a backend that only notices once its statement ends; one
    # waiting on a lock would hold its own locks (a mailbox's poll lock) until then. PostgreSQL 14+
    # checks the client's socket every 2 s while a statement runs, and ends such a session.
    DATABASES["default"]["OPTIONS"]["options"] = " ".join(
        filter(
            None, [DATABASES["default"]["OPTIONS"].get("options"), "-c client_connection_check_interval=2000"]
        )
    )
# The few statements every ticket and message runs are prepared on PostgreSQL (persistence/fast_sql.py).
P2PDESK_DB_PREPARE = os.environ.get("P2PDESK_DB_PREPARE", "1") == "1"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE transactions take the write lock up front, so concurrent writers queue instead of
    # failing with "database is locked" half-way through a unit of work.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
P2PDESK_TIME_ZONE = os.environ.get("P2PDESK_TIME_ZONE", "UTC")
P2PDESK_TRIAGE_TEAM = os.environ.get("P2PDESK_TRIAGE_TEAM", "Triage")
P2PDESK_ROUTER_CONFIDENCE = float(os.environ.get("P2PDESK_ROUTER_CONFIDENCE", "0.5"))
P2PDESK_ROUTER_MODEL_OVERRIDES_RULES = os.environ.get("P2PDESK_ROUTER_MODEL_OVERRIDES_RULES", "1") != "0"
LANGUAGE_CODE = "en-us"
USE_I18N = True

# Mail intake: raw messages and attachments go to the file store (a local folder by default).
P2PDESK_FILES_DIR = Path(os.environ.get("P2PDESK_FILES_DIR", DATA_DIR / "files"))
P2PDESK_MAX_MESSAGE_BYTES = int(os.environ.get("P2PDESK_MAX_MESSAGE_BYTES", 25 * 1024 * 1024))
# Fernet key for mailbox secrets at rest (`python -c "from cryptography.fernet import Fernet;
# print(Fernet.generate_key().decode())"`); derived from SECRET_KEY when unset.
P2PDESK_ENCRYPTION_KEY = os.environ.get("P2PDESK_ENCRYPTION_KEY") or None
# How long a process trusts a checked API token (and its role and teams) before looking again.
P2PDESK_AUTH_CACHE_SECONDS = float(os.environ.get("P2PDESK_AUTH_CACHE_SECONDS", "10"))
P2PDESK_MAX_ATTACHMENT_BYTES = int(os.environ.get("P2PDESK_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024))

# Outgoing mail (acknowledgements, agents' replies): SMTP when EMAIL_HOST is set, otherwise each
# message is written as a file under $P2PDESK_DATA_DIR/outbox so the embedded desk sends nothing.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "1") == "1"
    EMAIL_TIMEOUT = 30
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "outbox"
P2PDESK_REPLY_FROM = os.environ.get("P2PDESK_REPLY_FROM", "p2pdesk@localhost")
P2PDESK_MAIL_DOMAIN = os.environ.get(
    "P2PDESK_MAIL_DOMAIN", P2PDESK_REPLY_FROM.rpartition("@")[2] or "localhost"
)

# Celery: Redis or RabbitMQ in production (CELERY_BROKER_URL=redis://127.0.0.1:6379/0 or
# amqp://guest:guest@127.0.0.1:5672//); without a broker, tasks run in process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves it for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Fail fast while the broker is down: publishing gives up after a few seconds (the API answers 503)
# and /readyz's broker check is bounded by the same connect timeout.
BROKER_CONNECT_TIMEOUT = float(os.environ.get("BROKER_CONNECT_TIMEOUT", "3"))
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_CONNECT_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
    "socket_timeout": 5,  # above the worker's 1 s BRPOP wait; bounds a broker that accepts but never answers
    "socket_keepalive": True,
    # Redis redelivers a task whose worker died without acknowledging it after this long; above the
    # longest task (time limit 15 min) and the longest retry countdown (15 min), so a live task is
    # never handed out twice.
    "visibility_timeout": 20 * 60,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# Workers export their task metrics (failures, retries) on this port for Prometheus; 0 = off.
P2PDESK_WORKER_METRICS_PORT = int(os.environ.get("P2PDESK_WORKER_METRICS_PORT", "0"))
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "poll-due-mailboxes": {
        "task": "p2pdesk.infrastructure.tasks.mail.poll_due_mailboxes_task",
        "schedule": float(os.environ.get("P2PDESK_POLL_TICK_SECONDS", "15")),
    },
    # SLA: escalate tickets whose SLA is at risk or breached (each ticket and threshold once).
    "escalate-sla": {
        "task": "p2pdesk.infrastructure.tasks.sla.escalate_sla_task",
        "schedule": float(os.environ.get("P2PDESK_SLA_TICK_SECONDS", "60")),
    },
    # Push: create missing Graph subscriptions and Gmail watches, renew them at half-life / daily.
    "renew-push-subscriptions": {
        "task": "p2pdesk.infrastructure.tasks.mail.renew_push_subscriptions_task",
        "schedule": 3600.0,
    },
}

# Push intake (Graph change notifications, Gmail through Pub/Sub push): a notification only makes
# the mailbox's poll come sooner. Without P2PDESK_PUBLIC_URL no subscription is made and scheduled
# polling alone runs.
P2PDESK_PUBLIC_URL = os.environ.get("P2PDESK_PUBLIC_URL", "")
P2PDESK_GMAIL_PUSH_AUDIENCE = os.environ.get("P2PDESK_GMAIL_PUSH_AUDIENCE", "")
P2PDESK_GMAIL_PUSH_SERVICE_ACCOUNT = os.environ.get("P2PDESK_GMAIL_PUSH_SERVICE_ACCOUNT", "")
P2PDESK_GOOGLE_CERTS_URL = os.environ.get(
    "P2PDESK_GOOGLE_CERTS_URL", "https://www.googleapis.com/oauth2/v1/certs"
)

# The web desk signs in with Django's login form; its pages live under /desk/.
LOGIN_URL = "/desk/login/"
LOGIN_REDIRECT_URL = "/desk/"

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

# Bulk updates send up to 10,000 ids; Django's default cap on request size is too small for that.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "p2pdesk.infrastructure.api.auth.CachingTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "p2pdesk.infrastructure.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "p2pdesk API",
    "DESCRIPTION": "Tickets, teams, agents and audit trail of the Procure-to-Pay operations desk.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from the installed package: the docs page works without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"EscalationActionEnum": "p2pdesk.infrastructure.api.sla.ACTIONS"},
}

LOGGING_CONFIG = None
configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
# Optional error reporting and tracing, off unless configured; their packages are optional extras
# (`pip install p2pdesk[sentry]`, `p2pdesk[otel]`) imported only when switched on.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
OTEL_ENABLED = os.environ.get("OTEL_ENABLED", "0") == "1"
configure_observability(sentry_dsn=SENTRY_DSN, tracing=OTEL_ENABLED)
# httpx logs every request URL at INFO (Graph delta and skip tokens included): keep it to warnings.
logging.getLogger("httpx").setLevel(logging.WARNING)
