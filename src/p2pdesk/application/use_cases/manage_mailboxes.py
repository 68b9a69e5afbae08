"""Configure mailboxes: kind-specific settings checked up front, the secret kept write-only."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from p2pdesk.application.audit import record_events
from p2pdesk.application.errors import Conflict, NotFound, ValidationFailed
from p2pdesk.application.lookups import live_team
from p2pdesk.application.principal import Principal
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.domain.events import DomainEvent
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.intake import MailboxDraft
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

# The settings each kind needs; anything else is refused so a typo cannot pass silently.
REQUIRED_SETTINGS: dict[str, set[str]] = {
    "imap": {"host", "port", "security", "username", "folder", "processed_folder"},
    "graph": {"tenant_id", "client_id", "user", "folder"},
    "gmail": {"user", "label"},
    "maildir": {"path"},
}
OPTIONAL_SETTINGS: dict[str, set[str]] = {
    # auth: password (the default) or xoauth2; xoauth2 names its oauth_provider, and microsoft
    # also the app's tenant_id and client_id (the secret is then the client secret, or google's
    # service-account JSON key). Checked in _imap_problem.
    "imap": {"auth", "oauth_provider", "tenant_id", "client_id"},
    "graph": {"processed_folder"},
    "gmail": {"processed_label", "topic"},  # topic: the Pub/Sub topic of its watch (push)
    "maildir": set(),
}


def check_settings(kind: str, settings: dict[str, Any]) -> None:
    if kind not in REQUIRED_SETTINGS:
        raise ValidationFailed(
            f"kind must be one of {', '.join(sorted(REQUIRED_SETTINGS))}", details={"field": "kind"}
        )
    missing = sorted(REQUIRED_SETTINGS[kind] - settings.keys())
    unknown = sorted(settings.keys() - REQUIRED_SETTINGS[kind] - OPTIONAL_SETTINGS[kind])
    if missing or unknown:
        raise ValidationFailed(
            f"{kind} settings: missing {missing or 'nothing'}, unknown {unknown or 'nothing'}",
            details={"field": "settings", "missing": missing, "unknown": unknown},
        )
    if kind == "imap":
        problem = _imap_problem(settings)
        if problem:
            raise ValidationFailed(f"imap settings: {problem}", details={"field": "settings"})
    if kind == "gmail" and "topic" in settings and not _PUBSUB_TOPIC.fullmatch(str(settings["topic"])):
        raise ValidationFailed(
            "gmail settings: topic is a Pub/Sub topic name, projects/<project>/topics/<topic>",
            details={"field": "settings"},
        )


_PUBSUB_TOPIC = re.compile(r"projects/[^/\s]+/topics/[^/\s]+")


def _imap_problem(settings: dict[str, Any]) -> str | None:
    if settings["security"] not in ("ssl", "starttls", "none"):
        return "security must be ssl, starttls or none"
    if not isinstance(settings["port"], int) or not 0 < settings["port"] < 65536:
        return "port must be an integer port number"
    if settings["folder"] == settings["processed_folder"]:
        return "processed_folder must differ from folder"
    auth = settings.get("auth", "password")
    if auth not in ("password", "xoauth2"):
        return "auth must be password or xoauth2"
    oauth_keys = sorted(IMAP_OAUTH_SETTINGS & settings.keys())
    if auth == "password":
        return f"{', '.join(oauth_keys)} only apply to auth xoauth2" if oauth_keys else None
    provider = settings.get("oauth_provider")
    if provider not in IMAP_OAUTH_PROVIDERS:
        # A stored access token would expire within the hour: xoauth2 always names where to get one.
        return "auth xoauth2 needs oauth_provider microsoft or google"
    needed = IMAP_OAUTH_PROVIDERS[provider]
    missing = sorted(k for k in needed if not (isinstance(settings.get(k), str) and settings[k].strip()))
    extra = sorted((IMAP_OAUTH_SETTINGS - {"oauth_provider"} - needed) & settings.keys())
    if missing:
        return f"oauth_provider {provider} needs {', '.join(missing)}"
    if extra:
        return f"{', '.join(extra)} do not apply to oauth_provider {provider}"
    return None


IMAP_OAUTH_SETTINGS = {"oauth_provider", "tenant_id", "client_id"}
# What each provider needs besides the secret (microsoft: the app's client secret; google: the
# service-account JSON key, acting as `username` through domain-wide delegation).
IMAP_OAUTH_PROVIDERS: dict[str, set[str]] = {"microsoft": {"tenant_id", "client_id"}, "google": set()}


@dataclass(frozen=True)
class SaveMailbox:
    name: str
    kind: str
    settings: dict[str, Any]
    default_team_id: int
    address: str = ""
    enabled: bool = True
    acknowledge: bool = False
    poll_interval_seconds: int = 60
    secret: str | None = None  # None keeps the stored secret; "" clears it


@dataclass(frozen=True)
class UpdateMailbox:
    mailbox_id: int
    changes: dict[str, Any] = field(default_factory=dict)  # any SaveMailbox field


class MailboxHandlers:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    def create(self, command: SaveMailbox, principal: Principal) -> int:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> int:
            draft = self._validated(uow, command)
            if uow.mailboxes.by_name(draft.name) is not None:
                raise Conflict(f"a mailbox named {draft.name!r} already exists", details={"field": "name"})
            mailbox_id = uow.mailboxes.add(draft)
            self._audit(uow, principal, "mailbox.created", mailbox_id, {}, draft.audit_view())
            return mailbox_id

        return run_in_transaction(self._uow_factory, work)

    def update(self, command: UpdateMailbox, principal: Principal) -> None:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> None:
            current = uow.mailboxes.draft(command.mailbox_id)
            if current is None:
                raise NotFound(f"mailbox {command.mailbox_id} does not exist")
            fields = {**current.as_command(), **command.changes}
            draft = self._validated(uow, SaveMailbox(**fields))
            other = uow.mailboxes.by_name(draft.name)
            if other is not None and other.id != command.mailbox_id:
                raise Conflict(f"a mailbox named {draft.name!r} already exists", details={"field": "name"})
            before, after = current.audit_view(), draft.audit_view()
            changed = {k for k in after if after[k] != before.get(k)}
            if not changed:
                return
            uow.mailboxes.update(command.mailbox_id, draft)
            self._audit(
                uow,
                principal,
                "mailbox.updated",
                command.mailbox_id,
                {k: before.get(k) for k in changed},
                {k: after[k] for k in changed},
            )

        run_in_transaction(self._uow_factory, work)

    def delete(self, mailbox_id: int, principal: Principal) -> None:
        """Mailboxes keep their intake history, so deleting one disables it."""
        self.update(UpdateMailbox(mailbox_id, {"enabled": False}), principal)

    @staticmethod
    def _validated(uow: UnitOfWork, command: SaveMailbox) -> MailboxDraft:
        name = command.name.strip()
        if not name:
            raise ValidationFailed("mailbox name must not be empty", details={"field": "name"})
        check_settings(command.kind, command.settings)
        live_team(uow, command.default_team_id)
        if command.poll_interval_seconds < 10:
            raise ValidationFailed(
                "poll_interval_seconds is at least 10", details={"field": "poll_interval_seconds"}
            )
        return MailboxDraft(
            name=name,
            kind=command.kind,
            settings=dict(command.settings),
            default_team_id=command.default_team_id,
            address=command.address.strip().lower(),
            enabled=command.enabled,
            acknowledge=command.acknowledge,
            poll_interval_seconds=command.poll_interval_seconds,
            secret=command.secret,
        )

    def _audit(
        self,
        uow: UnitOfWork,
        principal: Principal,
        action: str,
        mailbox_id: int,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        event = DomainEvent(
            action=action, entity_type="mailbox", entity_id=str(mailbox_id), before=before, after=after
        )
        record_events(uow, principal, self._clock.now(), [event])
