#!/usr/bin/env bash
# Compare mail intake with django-helpdesk on the same corpus and the same machine.
#
# Builds a throwaway virtualenv OUTSIDE the repository ($DHD_VENV, default /tmp/dhd-venv) with
# django-helpdesk from PyPI, a scratch Django project ($DHD_WORK, default /tmp/dhd-bench) on its own
# PostgreSQL database (dhd_bench, dropped and created), writes the corpus that bench/intake.py
# ingests in its part A (same generator, same seed) as .eml files, and times django-helpdesk's
# `get_email` (helpdesk.email.process_email, what the command runs) on a local-directory queue:
#   A. messages/s for the messages without attachments (default 3000);
#   C. peak RSS (VmHWM) of a fresh process taking in one message with a 25 MB PDF.
# Then, unless --skip-p2pdesk, runs `python bench/intake.py` in the project's venv right after,
# so both sets of figures come from the same minutes of the same machine.
#
#   bash bench/compare_django_helpdesk.sh [--messages 3000] [--skip-p2pdesk]
#
# Nothing of django-helpdesk is kept in the repository. Needs PostgreSQL on 127.0.0.1:5432 (trust
# auth, user postgres) and the project's venv (make install-dev) for the corpus generator.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DHD_VENV="${DHD_VENV:-/tmp/dhd-venv}"
DHD_WORK="${DHD_WORK:-/tmp/dhd-bench}"
DHD_VERSION="${DHD_VERSION:-2.6.1}"
DHD_DB="${DHD_DB:-dhd_bench}"
MESSAGES=3000
RUN_P2PDESK=1
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) MESSAGES="$2"; shift 2 ;;
    --skip-p2pdesk) RUN_P2PDESK=0; shift ;;
    *) echo "usage: $0 [--messages N] [--skip-p2pdesk]" >&2; exit 2 ;;
  esac
done
case "$DHD_WORK" in /|/tmp|/tmp/|"$REPO"*) echo "refusing DHD_WORK=$DHD_WORK" >&2; exit 2 ;; esac
case "$DHD_DB" in p2pdesk*) echo "refusing DHD_DB=$DHD_DB (a p2pdesk database)" >&2; exit 2 ;; esac

# 1. The throwaway virtualenv.
if [ ! -x "$DHD_VENV/bin/python" ]; then
  python3 -m venv "$DHD_VENV"
fi
"$DHD_VENV/bin/pip" install --quiet "django-helpdesk==$DHD_VERSION" "psycopg[binary]"

# 2. The scratch project: settings, urls and the driver that times process_email().
rm -rf "$DHD_WORK"
mkdir -p "$DHD_WORK/mail" "$DHD_WORK/media"
cat > "$DHD_WORK/dhd_settings.py" <<EOF
SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
SITE_ID = 1
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize", "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "dhd_urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                       "django.contrib.auth.context_processors.auth",
                                       "django.contrib.messages.context_processors.messages"]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "$DHD_DB",
                         "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}}
# Outgoing mail (django-helpdesk acknowledges every new ticket) is rendered, then dropped.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = "ap@p2pdesk.example"
MEDIA_ROOT = "$DHD_WORK/media"
STATIC_URL = "/static/"
HELPDESK_TEAMS_MODE_ENABLED = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
EOF
cat > "$DHD_WORK/dhd_urls.py" <<'EOF'
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
EOF
cat > "$DHD_WORK/dhd_run.py" <<'EOF'
"""setup: create the local-directory queue. run DIR: time process_email() on the .eml files in DIR."""
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dhd_settings")
import django  # noqa: E402

django.setup()
from helpdesk.email import process_email  # noqa: E402
from helpdesk.models import FollowUp, Queue, Ticket  # noqa: E402


def peak_rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


if sys.argv[1] == "setup":
    Queue.objects.update_or_create(
        slug="ap",
        defaults={"title": "Accounts Payable", "email_address": "ap@p2pdesk.example",
                  "allow_email_submission": True, "email_box_type": "local",
                  "email_box_local_dir": sys.argv[2], "logging_type": "none"},
    )
else:
    folder = sys.argv[2]
    # get_email skips a queue checked less than email_box_interval minutes ago.
    Queue.objects.filter(slug="ap").update(email_box_local_dir=folder, email_box_last_check=None)
    files = len(os.listdir(folder))
    tickets, followups = Ticket.objects.count(), FollowUp.objects.count()
    before = peak_rss_mb()
    started = time.perf_counter()
    process_email(quiet=True)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "messages": files, "seconds": seconds, "per_second": files / seconds,
        "tickets_created": Ticket.objects.count() - tickets,
        "followups_created": FollowUp.objects.count() - followups,
        "left_in_folder": len(os.listdir(folder)),
        "rss_before_mb": before, "rss_peak_mb": peak_rss_mb(),
    }))
EOF

# 3. Its own database.
dropdb -h 127.0.0.1 -U postgres --if-exists "$DHD_DB"
createdb -h 127.0.0.1 -U postgres "$DHD_DB"
(cd "$DHD_WORK" && DJANGO_SETTINGS_MODULE=dhd_settings "$DHD_VENV/bin/python" -m django migrate -v0)
"$DHD_VENV/bin/python" "$DHD_WORK/dhd_run.py" setup "$DHD_WORK/mail"

# 4. The corpus: bench/intake.py's generator and seed, so part A there takes in the same messages.
mkdir -p "$DHD_WORK/big"
"$REPO/.venv/bin/python" - "$DHD_WORK" "$MESSAGES" "$REPO/bench" <<'EOF'
import random
import sys
from pathlib import Path

sys.path.insert(0, sys.argv[3])
from intake import message  # noqa: E402

work, count = Path(sys.argv[1]), int(sys.argv[2])
rng = random.Random(20261122)  # intake.py's seed: part A's messages, byte for byte
for n in range(1, count + 1):
    (work / "mail" / f"{n:06d}.eml").write_bytes(message(n, rng))
size = 25
raw = message(10_000_000 + size, random.Random(size), attachment_bytes=size * 1024 * 1024)
(work / "big" / "25mb.eml").write_bytes(raw)
print(f"corpus: {count} messages in {work / 'mail'}, one of {len(raw) / 2**20:.1f} MB in {work / 'big'}")
EOF

# 5. Measure django-helpdesk.
echo "machine before django-helpdesk: $(cat /proc/loadavg) ($(nproc) cores)"
echo "A (django-helpdesk $DHD_VERSION): $("$DHD_VENV/bin/python" "$DHD_WORK/dhd_run.py" run "$DHD_WORK/mail")"
echo "C (django-helpdesk $DHD_VERSION, one 25 MB PDF, fresh process): $("$DHD_VENV/bin/python" "$DHD_WORK/dhd_run.py" run "$DHD_WORK/big")"

# 6. And p2pdesk right after, on the same machine.
if [ "$RUN_P2PDESK" = 1 ]; then
  echo "machine before p2pdesk: $(cat /proc/loadavg)"
  (cd "$REPO" && .venv/bin/python bench/intake.py --messages "$MESSAGES")
fi
