from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know, so a typo is an error rather than a silently ignored change."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
        return super().to_internal_value(data)


class FieldsOnceMixin:
    """Build a serializer's bound fields once per class instead of once per instance.

    Why: DRF deep-copies every declared field for each serializer it instantiates, about a sixth of
    a ticket create's CPU. Only for serializers whose fields keep no per-request state and read no
    context (plain typed fields and nested serializers of such fields), as on the ticket hot path.
    """

    _fields_once: ClassVar[dict[type, BindingDict]] = {}

    @property
    def fields(self) -> BindingDict:
        cls = type(self)
        fields = FieldsOnceMixin._fields_once.get(cls)
        if fields is None:
            prototype = cls()  # bound to a context-free instance, never to a request's
            fields = BindingDict(prototype)
            for name, field in prototype.get_fields().items():  # type: ignore[attr-defined]
                fields[name] = field
            FieldsOnceMixin._fields_once[cls] = fields
        return fields
