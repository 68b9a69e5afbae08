"""JSON logs on stdout through structlog, for the platform's log shipper.

Every line carries the context bound for its request or task (`request_id`, and `task`/`task_id`
in workers: see p2pdesk.infrastructure.api.middleware and ...events.task_context). Fields whose
name says they hold a secret or message content are replaced by "[redacted]" whatever logs them,
so a careless `log.info(..., password=...)` or `body=...` cannot leak (tests/integration/test_logging.py).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"
_SENSITIVE = re.compile(
    r"pass(word|wd)?|secret|token|authorization|cookie|api[_-]?key|credential|private[_-]?key|"
    r"^(body|raw|text|html|content|description)$|_(body|raw|text|html)$",
    re.IGNORECASE,
)


def redact_sensitive(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key != "event" and _SENSITIVE.search(key):
            event_dict[key] = REDACTED
    return event_dict


_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact_sensitive,
]


def json_handler(stream: TextIO) -> logging.Handler:
    """A handler that writes the project's JSON lines to `stream` (stdout in production)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    return handler


def configure_logging(level: str) -> None:
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    root.handlers = [json_handler(sys.stdout)]
    root.setLevel(level.upper())
