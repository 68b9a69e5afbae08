"""Routing persistence: rules, each routed ticket's references and decision, corrections, models."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Lower

from p2pdesk.domain.routing_rules import Condition, RoutingRule, RuleActions
from p2pdesk.infrastructure.persistence.group import insert_by_group_end
from p2pdesk.infrastructure.persistence.models import (
    ImportedRoutingExampleRecord,
    RouterModelRecord,
    RoutingCorrectionRecord,
    RoutingRuleRecord,
    TeamRecord,
    TicketRecord,
    TicketReferenceRecord,
    TicketRoutingRecord,
)
from p2pdesk.ports.routing import RoutingSetup, TeamClassifier, TicketRouting


def _rule(row: RoutingRuleRecord) -> RoutingRule:
    actions = row.actions or {}
    return RoutingRule(
        id=row.id,
        name=row.name,
        position=row.position,
        enabled=row.enabled,
        match=row.match,
        conditions=[Condition.from_dict(c) for c in row.conditions],
        actions=RuleActions(actions.get("team"), actions.get("priority"), tuple(actions.get("tags") or ())),
        stop=row.stop,
    )


def _fields(rule: RoutingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "enabled": rule.enabled,
        "match": rule.match,
        "conditions": [c.to_dict() for c in rule.conditions],
        "actions": rule.actions.to_dict(),
        "stop": rule.stop,
    }


def live_teams() -> dict[str, int]:
    return dict(TeamRecord.objects.filter(deleted_at__isnull=True).values_list("name", "id"))


class DjangoRoutingRepository:
    def rules(self) -> list[RoutingRule]:
        return [_rule(r) for r in RoutingRuleRecord.objects.order_by("position", "id")]

    def get_rule(self, rule_id: int, *, for_update: bool = False) -> RoutingRule | None:
        queryset = RoutingRuleRecord.objects.filter(id=rule_id)
        if for_update:
            queryset = queryset.select_for_update()
        row = queryset.first()
        return _rule(row) if row else None

    def add_rule(self, rule: RoutingRule) -> None:
        rule.id = RoutingRuleRecord.objects.create(**_fields(rule)).id

    def save_rule(self, rule: RoutingRule) -> None:
        row = RoutingRuleRecord.objects.get(id=rule.id)
        for name, value in _fields(rule).items():
            setattr(row, name, value)
        row.save()

    def delete_rule(self, rule_id: int) -> None:
        RoutingRuleRecord.objects.filter(id=rule_id).delete()

    def rule_name_taken(self, name: str, *, exclude_id: int | None = None) -> bool:
        queryset = RoutingRuleRecord.objects.annotate(lower=Lower("name")).filter(lower=name.lower())
        if exclude_id is not None:
            queryset = queryset.exclude(id=exclude_id)
        return queryset.exists()

    def live_teams(self) -> dict[str, int]:
        return live_teams()

    def record_routing(self, ticket_id: uuid.UUID, routing: TicketRouting) -> None:
        # Plain-cursor inserts: every routed ticket (most mail) runs these (see fast_sql).
        record = TicketRoutingRecord(
            ticket_id=ticket_id,
            decided_by=routing.decided_by[:120],
            confidence=routing.confidence,
            tags=list(routing.tags),
        )
        insert_by_group_end([record])
        insert_by_group_end(
            [
                TicketReferenceRecord(ticket_id=ticket_id, type=r.type, value=r.value)
                for r in routing.references
            ]
        )

    def was_routed(self, ticket_id: uuid.UUID) -> bool:
        return TicketRoutingRecord.objects.filter(ticket_id=ticket_id).exists()

    def record_correction(self, ticket_id: uuid.UUID, from_team: int, to_team: int, at: datetime) -> None:
        RoutingCorrectionRecord.objects.create(
            ticket_id=ticket_id, from_team_id=from_team, to_team_id=to_team, at=at
        )


@dataclass(frozen=True)
class StoredModel:
    version: int
    blob: bytes


class InvalidModelSignature(Exception):
    pass


class DjangoRouterModelStore:
    """Versioned classifier blobs, signed with HMAC-SHA256 under the desk's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, blob: bytes) -> str:
        return hmac.new(self._key, blob, hashlib.sha256).hexdigest()

    def save(
        self, blob: bytes, *, examples: int, metrics: dict[str, Any], at: datetime, activate: bool
    ) -> int:
        with transaction.atomic():
            latest = RouterModelRecord.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
            if activate:
                RouterModelRecord.objects.filter(is_active=True).update(is_active=False)
            row = RouterModelRecord.objects.create(
                version=latest + 1,
                created_at=at,
                is_active=activate,
                blob=blob,
                signature=self._sign(blob),
                examples=examples,
                metrics=metrics,
            )
        return row.version

    def activate(self, version: int) -> None:
        with transaction.atomic():
            if not RouterModelRecord.objects.filter(version=version).exists():
                raise LookupError(f"there is no router model v{version}")
            RouterModelRecord.objects.filter(is_active=True).update(is_active=False)
            RouterModelRecord.objects.filter(version=version).update(is_active=True)

    def active_version(self) -> int | None:
        return RouterModelRecord.objects.filter(is_active=True).values_list("version", flat=True).first()

    def load(self, version: int) -> bytes:
        row = RouterModelRecord.objects.get(version=version)
        blob = bytes(row.blob)
        if not hmac.compare_digest(self._sign(blob), row.signature):
            raise InvalidModelSignature(f"router model v{version} is not signed with this desk's key")
        return blob


def training_examples() -> list[tuple[str, str, str]]:
    """(subject, description, team id) for each resolved or closed ticket, and each ticket a person
    moved, at its final team (after any move by an agent)."""
    corrected = RoutingCorrectionRecord.objects.values("ticket_id")
    rows = TicketRecord.objects.filter(
        Q(status__in=("resolved", "closed")) | Q(id__in=corrected)
    ).values_list("subject", "description", "team_id")
    return [(subject, description, str(team_id)) for subject, description, team_id in rows]


def imported_examples() -> list[tuple[str, str, str]]:
    """(subject, body, team id) for each imported example whose team is still live."""
    rows = ImportedRoutingExampleRecord.objects.filter(team__deleted_at__isnull=True).order_by("id")
    return [
        (subject, body, str(team_id))
        for subject, body, team_id in rows.values_list("subject", "body", "team_id")
    ]


def store_imported_examples(examples: list[tuple[str, str, str]], *, source: str, at: datetime) -> int:
    """Keep imported (subject, body, team id) for every later training; the same example imported
    again is skipped. Returns how many were new."""
    records = {}
    for subject, body, team_id in examples:
        digest = hashlib.sha256(f"{subject}\0{body}\0{team_id}".encode()).hexdigest()
        records[digest] = ImportedRoutingExampleRecord(
            subject=subject,
            body=body,
            team_id=int(team_id),
            digest=digest,
            source=source[:255],
            imported_at=at,
        )
    with transaction.atomic():
        before = ImportedRoutingExampleRecord.objects.count()
        ImportedRoutingExampleRecord.objects.bulk_create(
            records.values(), batch_size=500, ignore_conflicts=True
        )
        return ImportedRoutingExampleRecord.objects.count() - before


def live_team_ids_by_name() -> dict[str, list[int]]:
    """Each live team's id under its case-folded name (a list: names are not unique)."""
    by_name: dict[str, list[int]] = {}
    for team_id, name in TeamRecord.objects.filter(deleted_at__isnull=True).values_list("id", "name"):
        by_name.setdefault(name.casefold(), []).append(team_id)
    return by_name


class DjangoRoutingSetupSource:
    """Rules, live teams, triage team and the active model, re-read at most every `ttl` seconds
    (other processes see a change within that), and at once after a change in this process."""

    def __init__(
        self,
        store: DjangoRouterModelStore,
        load_classifier: Callable[[bytes, str], TeamClassifier],
        *,
        triage_team: str,
        ttl: float = 5.0,
    ) -> None:
        self._store = store
        self._load_classifier = load_classifier
        self._triage_team = triage_team.casefold()
        self._ttl = ttl
        self._lock = threading.Lock()
        self._setup: RoutingSetup | None = None
        self._loaded_at = 0.0
        self._model: tuple[int, TeamClassifier] | None = None

    def invalidate(self) -> None:
        self._setup = None

    def current(self) -> RoutingSetup:
        setup = self._setup
        if setup is not None and time.monotonic() - self._loaded_at < self._ttl:
            return setup
        with self._lock:
            setup = self._load()
            self._setup, self._loaded_at = setup, time.monotonic()
        return setup

    def _load(self) -> RoutingSetup:
        teams = {name.casefold(): team_id for name, team_id in live_teams().items()}
        live = frozenset(teams.values())
        rules = tuple(
            rule
            for rule in DjangoRoutingRepository().rules()
            if rule.enabled and (rule.actions.team_id is None or rule.actions.team_id in live)
        )
        version = self._store.active_version()
        if version is None:
            self._model = None
        elif self._model is None or self._model[0] != version:
            self._model = (version, self._load_classifier(self._store.load(version), f"v{version}"))
        return RoutingSetup(
            rules=rules,
            live_team_ids=live,
            triage_team_id=teams.get(self._triage_team),
            classifier=self._model[1] if self._model else None,
        )
