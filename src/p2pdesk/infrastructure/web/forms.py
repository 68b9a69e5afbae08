"""Form input of the desk's pages: Django forms validate it before any use case sees it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.http import QueryDict

from p2pdesk.application.use_cases.post_ticket_message import MAX_BODY
from p2pdesk.infrastructure.web.sla import SLA_STATES

STATUSES = ["new", "open", "pending", "resolved", "closed"]
ACTIVE = ["new", "open", "pending"]
PRIORITIES = [(1, "1 · urgent"), (2, "2 · high"), (3, "3 · normal"), (4, "4 · low")]


class EmailLoginForm(AuthenticationForm):
    """Django's login form (fields `username` and `password`); the username is the email."""

    username = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).strip().lower()


class TicketFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("active", "Active"), ("any", "Any"), *[(s, s.capitalize()) for s in STATUSES]],
        required=False,
    )
    priority = forms.TypedChoiceField(
        choices=[("", "Any"), *PRIORITIES], coerce=int, empty_value=None, required=False
    )
    sla_state = forms.ChoiceField(choices=[("", "Any"), *SLA_STATES.items()], required=False)
    reference = forms.CharField(max_length=200, required=False, strip=True)
    team = forms.TypedChoiceField(
        choices=[("", "All my teams")], coerce=int, empty_value=None, required=False
    )
    unassigned = forms.BooleanField(required=False, label="Unassigned only")
    cursor = forms.CharField(max_length=500, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, teams: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "All my teams"), *(teams or [])]  # type: ignore[attr-defined]

    def ticket_filters(self, **fixed: str) -> QueryDict:
        """The ticket list's query parameters for these filters (call after is_valid)."""
        data = self.cleaned_data
        query = QueryDict(mutable=True)
        status = data.get("status") or "active"
        if status == "active":
            query.setlist("status", ACTIVE)
        elif status != "any":
            query["status"] = status
        if data.get("priority"):
            query["priority"] = str(data["priority"])
        if data.get("sla_state"):
            query["sla_state"] = data["sla_state"]
        if data.get("reference"):
            query["reference_id"] = data["reference"]
        if data.get("team"):
            query["team"] = str(data["team"])
        if data.get("unassigned"):
            query["unassigned"] = "true"
        query.update(fixed)
        return query


class ReplyForm(forms.Form):
    body = forms.CharField(max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 6}), strip=True)
    # A fresh token per rendered form: posting the same form twice (double click, retry) sends once.
    form_token = forms.UUIDField(widget=forms.HiddenInput)


class ChangeForm(forms.Form):
    """Status, priority, team and agent; only the fields present in the post are changed."""

    status = forms.ChoiceField(choices=[(s, s.capitalize()) for s in STATUSES], required=False)
    priority = forms.TypedChoiceField(choices=PRIORITIES, coerce=int, required=False, empty_value=None)
    team = forms.TypedChoiceField(choices=[], coerce=int, required=False, empty_value=None)
    agent = forms.TypedChoiceField(choices=[], coerce=int, required=False, empty_value=None)

    def __init__(
        self, *args: Any, teams: list[tuple[int, str]], agents: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = teams  # type: ignore[attr-defined]
        self.fields["agent"].choices = [("", "Unassigned"), *agents]  # type: ignore[attr-defined]


class AgentActionForm(forms.Form):
    agent = forms.IntegerField(min_value=1)
    available = forms.TypedChoiceField(
        choices=[("1", "available"), ("0", "unavailable")], coerce=lambda v: v == "1", required=False
    )
