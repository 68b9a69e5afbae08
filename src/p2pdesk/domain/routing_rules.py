"""Routing rules: conditions over a new message, evaluated in position order, and what a match does.

Text conditions compare case- and accent-insensitively ("Überweisung" = "uberweisung"), so a rule
written once catches the ways people type it; `contains` and `contains_any` find a phrase from
the start of a word, so a short word does not match inside longer ones ("rma" is not found in
"information"), and its end is open so a stem finds its forms ("impersonat" finds
"impersonating"); a phrase ending in a space must also end a word ("po " finds "PO 4500" and "PO."
but not "policy"). The field `text` is the subject and the body. Regular expressions run
on RE2, whose matching time is linear in the text whatever the pattern: a rule cannot hang intake
with catastrophic backtracking, and a pattern RE2 cannot compile is refused when the rule is saved.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import re2

from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.events import DomainEvent, RecordsEvents

FIELDS = (
    "subject",
    "body",
    "text",
    "from",
    "from_domain",
    "mailbox",
    "has_attachment",
    "attachment_type",
    "reference_type",
)
OPS = ("contains", "contains_any", "matches", "equals")
MATCH_MODES = ("all", "any")
NAME_MAX = 100
PATTERN_MAX = 2000
PHRASES_MAX = 500  # phrases in one contains_any
PHRASE_MAX = 100  # characters in one phrase
TAG_MAX = 50
# RE2 refuses patterns whose compiled program would need more memory than this.
_RE2_MAX_MEM = 8 << 20


def fold(text: str) -> str:
    """Lower-case without accents: what text conditions compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _re2_options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = _RE2_MAX_MEM
    return options


def compile_pattern(pattern: str, *, what: str = "pattern", limit: int = PATTERN_MAX) -> Any:
    if not pattern or len(pattern) > limit:
        raise InvalidValue(f"{what} must be 1 to {limit} characters")
    try:
        return re2.compile(pattern, options=_re2_options())
    except re2.error as error:
        message = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise InvalidValue(f"{what} {pattern!r} is not a valid RE2 regular expression: {message}") from None


def _phrase_pattern(phrase: str) -> str:
    """From the start of a word; to the end of one too when the phrase ends in a space. Inner
    runs of spaces match any run of spaces and line breaks ("bank  details" = "bank\ndetails")."""
    words = fold(phrase).split()
    pattern = r"\s+".join(re2.escape(w) for w in words)
    if phrase.endswith(" ") and words[-1][-1:].isalnum():
        pattern += r"\b"
    return pattern


def _phrases(phrases: Iterable[str]) -> Any:
    """Phrases found from the start of a word: "invoice" finds "Invoices" and "e-invoice", but
    "rma" does not find "information" (the end is open, so stems like "impersonat" work, unless
    the phrase ends in a space)."""
    return compile_pattern(
        r"\b(?:" + "|".join(_phrase_pattern(p) for p in phrases) + ")",
        what="phrase list",
        limit=PHRASES_MAX * (PHRASE_MAX * 2 + 8),
    )


@dataclass(frozen=True)
class RoutingInput:
    """What routing looks at in a new message."""

    subject: str
    body: str
    sender: str = ""
    mailbox: str | None = None
    attachments: tuple[str, ...] = ()  # file names
    reference_types: frozenset[str] = frozenset()
    _folded: dict[str, list[str]] = dataclass_field(default_factory=dict, compare=False, repr=False)

    def folded(self, name: str) -> list[str]:
        """A field's values folded (see fold), computed once per message and field."""
        if name not in self._folded:
            self._folded[name] = [fold(v) for v in self.values(name)]
        return self._folded[name]

    def values(self, name: str) -> list[str]:
        """A field's values as strings (several for attachments and references)."""
        if name == "subject":
            return [self.subject]
        if name == "body":
            return [self.body]
        if name == "text":
            return [self.subject, self.body]
        if name == "from":
            return [self.sender]
        if name == "from_domain":
            return [self.sender.rpartition("@")[2]]
        if name == "mailbox":
            return [self.mailbox or ""]
        if name == "has_attachment":
            return ["true" if self.attachments else "false"]
        if name == "attachment_type":
            return [a.rpartition(".")[2] for a in self.attachments if "." in a]
        if name == "reference_type":
            return sorted(self.reference_types)
        raise InvalidValue(f"unknown field {name!r}")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # str; a list of str for contains_any; a bool for has_attachment
    _pattern: Any = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.field not in FIELDS:
            raise InvalidValue(f"condition field must be one of {', '.join(FIELDS)}")
        if self.op not in OPS:
            raise InvalidValue(f"condition op must be one of {', '.join(OPS)}")
        value = self.value
        if self.field == "has_attachment":
            if self.op != "equals" or not isinstance(value, bool):
                raise InvalidValue("has_attachment takes op 'equals' and a true/false value")
            pattern = None
        elif self.op == "contains_any":
            if not isinstance(value, list | tuple) or not value or len(value) > PHRASES_MAX:
                raise InvalidValue(f"contains_any takes a list of 1 to {PHRASES_MAX} phrases")
            if not all(isinstance(v, str) and v.strip() and len(v) <= PHRASE_MAX for v in value):
                raise InvalidValue(f"contains_any phrases must be strings of 1 to {PHRASE_MAX} characters")
            object.__setattr__(self, "value", list(value))
            # One RE2 alternation instead of a loop over phrases: one linear pass over the text.
            pattern = _phrases(value)
        elif not isinstance(value, str) or not value:
            raise InvalidValue(f"op {self.op!r} takes a non-empty string value")
        elif self.op == "matches":
            pattern = compile_pattern(value)
        elif self.op == "contains":
            if len(value) > PHRASE_MAX or not value.strip():
                raise InvalidValue(f"contains takes a phrase of 1 to {PHRASE_MAX} characters")
            pattern = _phrases([value])
        else:
            pattern = None
        object.__setattr__(self, "_pattern", pattern)

    def holds(self, message: RoutingInput) -> bool:
        values = message.values(self.field)
        if self.field == "has_attachment":
            return values == ["true" if self.value else "false"]
        if self.op == "matches":
            return any(self._pattern.search(v) for v in values)
        folded = message.folded(self.field)
        if self.op == "equals":
            return fold(self.value) in folded
        return any(self._pattern.search(v) for v in folded)  # contains, contains_any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}

    @classmethod
    def from_dict(cls, data: Any) -> Condition:
        if not isinstance(data, dict) or set(data) != {"field", "op", "value"}:
            raise InvalidValue("each condition is an object with exactly field, op and value")
        return cls(field=data["field"], op=data["op"], value=data["value"])


@dataclass(frozen=True)
class RuleActions:
    team_id: int | None = None
    priority: int | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.priority is not None and (
            isinstance(self.priority, bool) or self.priority not in (1, 2, 3, 4)
        ):
            raise InvalidValue("priority must be an integer from 1 (urgent) to 4 (low)")
        tags = tuple(dict.fromkeys(t.strip().lower() for t in self.tags))
        if any(not t or len(t) > TAG_MAX for t in tags):
            raise InvalidValue(f"tags are non-empty and at most {TAG_MAX} characters")
        object.__setattr__(self, "tags", tags)
        if self.team_id is None and self.priority is None and not self.tags:
            raise InvalidValue("a rule's actions set at least one of team, priority, tags")

    def to_dict(self) -> dict[str, Any]:
        return {"team": self.team_id, "priority": self.priority, "tags": list(self.tags)}


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        raise InvalidValue(f"rule name must be 1 to {NAME_MAX} characters")
    return name


class RoutingRule(RecordsEvents):
    def __init__(
        self,
        *,
        id: int | None,
        name: str,
        position: int,
        enabled: bool,
        match: str,
        conditions: Sequence[Condition],
        actions: RuleActions,
        stop: bool,
    ) -> None:
        self.id = id
        self.name = _clean_name(name)
        self.position = position
        self.enabled = enabled
        self.match = match
        self.conditions = tuple(conditions)
        self.actions = actions
        self.stop = stop
        self._check()
        self._init_events()

    def _check(self) -> None:
        if self.match not in MATCH_MODES:
            raise InvalidValue("match must be 'all' or 'any'")
        if not self.conditions:
            raise InvalidValue("a rule needs at least one condition")
        if isinstance(self.position, bool) or not isinstance(self.position, int) or self.position < 0:
            raise InvalidValue("position must be a non-negative integer")

    def matches(self, message: RoutingInput) -> bool:
        if not self.enabled:
            return False
        test = all if self.match == "all" else any
        return test(c.holds(message) for c in self.conditions)

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "position": self.position,
            "enabled": self.enabled,
            "match": self.match,
            "conditions": [c.to_dict() for c in self.conditions],
            "actions": self.actions.to_dict(),
            "stop": self.stop,
        }

    def record_created(self) -> None:
        """Called once the rule has an id."""
        self._record("routing_rule.created", {}, self.snapshot())

    def update(self, **changes: Any) -> bool:
        """Change any of name, position, enabled, match, conditions, actions, stop; records the diff."""
        before = self.snapshot()
        for key, value in changes.items():
            if key not in ("name", "position", "enabled", "match", "conditions", "actions", "stop"):
                raise InvalidValue(f"unknown rule field {key!r}")
            if key == "name":
                value = _clean_name(value)
            if key == "conditions":
                value = tuple(value)
            setattr(self, key, value)
        self._check()
        after = self.snapshot()
        changed = [k for k in after if after[k] != before[k]]
        if not changed:
            return False
        self._record("routing_rule.updated", {k: before[k] for k in changed}, {k: after[k] for k in changed})
        return True

    def record_deleted(self) -> None:
        self._record("routing_rule.deleted", self.snapshot(), {})

    def _record(self, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        self.record(DomainEvent(action, "routing_rule", str(self.id), before=before, after=after))


@dataclass(frozen=True)
class RuleOutcome:
    """What the matching rules decided: the team of the first that set one, the most urgent
    priority any set, the union of their tags. `final` when a matching rule with `stop` set the
    team: nothing after it (nor the classifier) overrides it."""

    team_id: int | None = None
    team_rule: str | None = None
    priority: int | None = None
    tags: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()
    final: bool = False


def evaluate(rules: Iterable[RoutingRule], message: RoutingInput) -> RuleOutcome:
    team_id: int | None = None
    team_rule: str | None = None
    priority: int | None = None
    tags: dict[str, None] = {}
    matched: list[str] = []
    final = False
    for rule in sorted(rules, key=lambda r: (r.position, r.id or 0)):
        if not rule.matches(message):
            continue
        matched.append(rule.name)
        actions = rule.actions
        if actions.team_id is not None and team_id is None:
            team_id, team_rule = actions.team_id, rule.name
            final = rule.stop
        if actions.priority is not None:
            priority = actions.priority if priority is None else min(priority, actions.priority)
        tags.update(dict.fromkeys(actions.tags))
        if rule.stop:
            break
    return RuleOutcome(team_id, team_rule, priority, tuple(tags), tuple(matched), final)
