"""Admin for routing: rules are edited here too, validated by the domain and audited like the API's
edits; references, decisions, corrections and models are read-only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.routing_rules import Condition, RoutingRule, RuleActions
from p2pdesk.infrastructure.persistence.admin import ReadOnlyAdmin
from p2pdesk.infrastructure.persistence.models import (
    ImportedRoutingExampleRecord,
    RouterModelRecord,
    RoutingCorrectionRecord,
    RoutingRuleRecord,
    TicketReferenceRecord,
    TicketRoutingRecord,
)
from p2pdesk.infrastructure.persistence.repositories import DjangoAuditLog
from p2pdesk.infrastructure.persistence.routing import DjangoRoutingRepository
from p2pdesk.ports.repositories import AuditEntry


def _domain_rule(data: dict[str, Any], rule_id: int | None) -> RoutingRule:
    actions = data.get("actions") or {}
    if not isinstance(actions, dict):
        raise InvalidValue("actions is an object with team, priority and tags")
    if not isinstance(data.get("conditions"), list):
        raise InvalidValue("conditions is a list of {field, op, value}")
    return RoutingRule(
        id=rule_id,
        name=data.get("name") or "",
        position=data.get("position") or 0,
        enabled=bool(data.get("enabled")),
        match=data.get("match") or "",
        conditions=[Condition.from_dict(c) for c in data["conditions"]],
        actions=RuleActions(actions.get("team"), actions.get("priority"), tuple(actions.get("tags") or ())),
        stop=bool(data.get("stop")),
    )


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRuleRecord
        fields = ["name", "position", "enabled", "match", "conditions", "actions", "stop"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            _domain_rule(data, self.instance.pk)
        except InvalidValue as error:
            raise forms.ValidationError(error.message) from None
        return data


@admin.register(RoutingRuleRecord)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ["position", "name", "enabled", "match", "stop"]
    list_filter = ["enabled"]
    search_fields = ["name"]

    def save_model(self, request: HttpRequest, obj: RoutingRuleRecord, form: Any, change: bool) -> None:
        repository = DjangoRoutingRepository()
        with transaction.atomic():
            if change:
                rule = repository.get_rule(obj.pk, for_update=True)
                assert rule is not None
                new = _domain_rule(form.cleaned_data, obj.pk)
                rule.update(
                    name=new.name,
                    position=new.position,
                    enabled=new.enabled,
                    match=new.match,
                    conditions=new.conditions,
                    actions=new.actions,
                    stop=new.stop,
                )
                repository.save_rule(rule)
            else:
                rule = _domain_rule(form.cleaned_data, None)
                repository.add_rule(rule)
                rule.record_created()
                obj.pk = rule.id
            self._audit(request, rule)

    def delete_model(self, request: HttpRequest, obj: RoutingRuleRecord) -> None:
        repository = DjangoRoutingRepository()
        with transaction.atomic():
            rule = repository.get_rule(obj.pk, for_update=True)
            if rule is None:
                return
            rule.record_deleted()
            repository.delete_rule(obj.pk)
            self._audit(request, rule)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    @staticmethod
    def _audit(request: HttpRequest, rule: RoutingRule) -> None:
        at = datetime.now(UTC)
        actor = f"admin:{request.user}"
        DjangoAuditLog().append([AuditEntry(actor=actor, at=at, event=e) for e in rule.pull_events()])


@admin.register(TicketReferenceRecord)
class TicketReferenceAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "type", "value"]
    list_filter = ["type"]
    search_fields = ["value"]
    raw_id_fields = ["ticket"]


@admin.register(TicketRoutingRecord)
class TicketRoutingAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "decided_by", "confidence"]
    search_fields = ["decided_by"]
    raw_id_fields = ["ticket"]


@admin.register(RoutingCorrectionRecord)
class RoutingCorrectionAdmin(ReadOnlyAdmin):
    list_display = ["at", "ticket", "from_team", "to_team"]
    raw_id_fields = ["ticket"]


@admin.register(RouterModelRecord)
class RouterModelAdmin(ReadOnlyAdmin):
    list_display = ["version", "created_at", "is_active", "examples"]
    exclude = ["blob", "signature"]


@admin.register(ImportedRoutingExampleRecord)
class ImportedRoutingExampleAdmin(ReadOnlyAdmin):
    """Imported history (`train_router --import`): shown, searchable, and deletable, so a wrongly
    labelled import can be taken out before the next training."""

    list_display = ["imported_at", "source", "team", "subject"]
    list_filter = ["source", "team"]
    search_fields = ["subject", "body"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)
