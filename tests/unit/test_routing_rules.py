"""The rule engine on plain objects: conditions, match modes, order, stop, and safe regexes."""

from __future__ import annotations

import pytest

from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.routing import ModelGuess, RoutingPolicy, choose_team
from p2pdesk.domain.routing_rules import Condition, RoutingInput, RoutingRule, RuleActions, evaluate
from p2pdesk.domain.routing_text import routing_text


def rule(
    name: str,
    conditions: list[Condition],
    *,
    position: int = 0,
    match: str = "any",
    stop: bool = False,
    team: int | None = 1,
    priority: int | None = None,
    tags: tuple[str, ...] = (),
) -> RoutingRule:
    return RoutingRule(
        id=position + 1,
        name=name,
        position=position,
        enabled=True,
        match=match,
        conditions=conditions,
        actions=RuleActions(team, priority, tags),
        stop=stop,
    )


def message(subject: str = "", body: str = "", **kw: object) -> RoutingInput:
    return RoutingInput(subject=subject, body=body, **kw)  # type: ignore[arg-type]


def test_phrases_match_case_and_accent_insensitively_from_the_start_of_a_word() -> None:
    wire = Condition("body", "contains_any", ["uberweisung", "Relevé"])
    assert wire.holds(message(body="Die ÜBERWEISUNG kam nicht an"))
    assert wire.holds(message(body="voir le releve ci-joint"))
    rma = Condition("body", "contains", "rma")
    assert rma.holds(message(body="RMA 4411 attached"))
    assert not rma.holds(message(body="for your information"))  # not inside a word


def test_matches_uses_re2_and_refuses_what_re2_cannot_run() -> None:
    po = Condition("subject", "matches", r"\bPO[- ]?\d{6,}")
    assert po.holds(message(subject="po-4500123 late"))
    with pytest.raises(InvalidValue, match="RE2"):
        Condition("subject", "matches", r"(a)\1")  # backreferences need backtracking
    with pytest.raises(InvalidValue, match="RE2"):
        Condition("subject", "matches", "(unclosed")


def test_a_catastrophic_backtracking_pattern_is_answered_in_linear_time() -> None:
    evil = Condition("body", "matches", r"^(a+)+$")
    # With a backtracking engine this input takes longer than the universe's age; RE2 answers at once.
    assert not evil.holds(message(body="a" * 100_000 + "!"))


@pytest.mark.parametrize(
    ("condition", "error"),
    [
        ({"field": "colour", "op": "equals", "value": "x"}, "field"),
        ({"field": "subject", "op": "like", "value": "x"}, "op"),
        ({"field": "subject", "op": "contains_any", "value": []}, "contains_any"),
        ({"field": "subject", "op": "contains", "value": ""}, "non-empty"),
        ({"field": "has_attachment", "op": "equals", "value": "yes"}, "true/false"),
        ({"field": "subject", "op": "equals"}, "exactly"),
    ],
)
def test_malformed_conditions_are_refused(condition: dict[str, object], error: str) -> None:
    with pytest.raises(InvalidValue, match=error):
        Condition.from_dict(condition)


def test_fields_from_sender_mailbox_attachments_and_references() -> None:
    m = message(
        sender="ap@vendor.example",
        mailbox="kyc",
        attachments=("scan.PDF", "invoice.xml"),
        reference_types=frozenset({"invoice"}),
    )
    assert Condition("from_domain", "equals", "Vendor.example").holds(m)
    assert Condition("mailbox", "equals", "KYC").holds(m)
    assert Condition("has_attachment", "equals", True).holds(m)
    assert not Condition("has_attachment", "equals", True).holds(message())
    assert Condition("attachment_type", "equals", "pdf").holds(m)
    assert Condition("reference_type", "equals", "invoice").holds(m)
    assert not Condition("reference_type", "equals", "po").holds(m)


def test_match_all_needs_every_condition_and_any_needs_one() -> None:
    conditions = [Condition("subject", "contains", "invoice"), Condition("body", "contains", "overdue")]
    both = message("Invoice 1", "it is overdue")
    one = message("Invoice 1", "thanks")
    assert rule("all", conditions, match="all").matches(both)
    assert not rule("all", conditions, match="all").matches(one)
    assert rule("any", conditions, match="any").matches(one)


def test_first_team_wins_priorities_take_the_most_urgent_tags_add_up_and_stop_ends() -> None:
    rules = [
        rule("late", [Condition("body", "contains", "invoice")], position=30, team=3),
        rule(
            "urgent",
            [Condition("subject", "contains", "urgent")],
            position=10,
            team=None,
            priority=2,
            tags=("urgent",),
        ),
        rule("ap", [Condition("body", "contains", "invoice")], position=20, team=2, priority=3, tags=("ap",)),
        rule("never", [Condition("body", "contains", "invoice")], position=40, team=4, tags=("x",)),
    ]
    rules[2].stop = True
    outcome = evaluate(rules, message("URGENT", "the invoice"))
    assert (outcome.team_id, outcome.team_rule, outcome.priority) == (2, "ap", 2)
    assert outcome.tags == ("urgent", "ap")
    assert outcome.matched == ("urgent", "ap")  # "late" and "never" come after the stop
    assert outcome.final


def test_disabled_rules_never_match() -> None:
    off = rule("off", [Condition("body", "contains", "x")])
    off.update(enabled=False)
    assert evaluate([off], message(body="x")).team_id is None


def test_rule_changes_record_only_what_changed() -> None:
    r = rule("ap", [Condition("body", "contains", "invoice")])
    r.record_created()
    assert r.update(position=5, name="ap")
    assert not r.update(position=5)
    created, updated = r.pull_events()
    assert created.action == "routing_rule.created"
    assert (updated.before, updated.after) == ({"position": 0}, {"position": 5})
    with pytest.raises(InvalidValue):
        r.update(match="most")


def test_actions_need_something_to_do_and_a_valid_priority() -> None:
    with pytest.raises(InvalidValue):
        RuleActions()
    with pytest.raises(InvalidValue):
        RuleActions(team_id=1, priority=7)


def policy() -> RoutingPolicy:
    return RoutingPolicy(confidence_threshold=0.6, triage_team_id=9)


def test_a_final_rule_beats_a_confident_model() -> None:
    bank = rule("bank", [Condition("body", "contains", "iban")], team=7, priority=2, stop=True)
    outcome = evaluate([bank], message(body="new IBAN"))
    choice = choose_team(outcome, ModelGuess(1, 0.99, "v3"), policy(), fallback_team_id=None)
    assert (choice.team_id, choice.decided_by, choice.priority) == (7, "rule:bank", 2)


def test_a_confident_model_beats_ordinary_rules_which_beat_an_unsure_model() -> None:
    ap = evaluate([rule("ap", [Condition("body", "contains", "invoice")], team=2)], message(body="invoice"))
    assert choose_team(ap, ModelGuess(1, 0.8, "v3"), policy(), fallback_team_id=None).decided_by == "model:v3"
    unsure = choose_team(ap, ModelGuess(1, 0.4, "v3"), policy(), fallback_team_id=None)
    assert (unsure.team_id, unsure.decided_by, unsure.confidence) == (2, "rule:ap", 0.4)


def test_with_rules_first_a_confident_model_decides_only_when_no_rule_names_a_team() -> None:
    rules_first = RoutingPolicy(confidence_threshold=0.6, triage_team_id=9, model_overrides_rules=False)
    ap = evaluate([rule("ap", [Condition("body", "contains", "invoice")], team=2)], message(body="invoice"))
    assert (
        choose_team(ap, ModelGuess(1, 0.95, "v3"), rules_first, fallback_team_id=None).decided_by == "rule:ap"
    )
    nothing = evaluate([], message())
    sure = choose_team(nothing, ModelGuess(1, 0.95, "v3"), rules_first, fallback_team_id=None)
    assert (sure.team_id, sure.decided_by) == (1, "model:v3")
    unsure = choose_team(nothing, ModelGuess(1, 0.5, "v3"), rules_first, fallback_team_id=None)
    assert (unsure.team_id, unsure.decided_by) == (9, "default")


def test_nothing_confident_goes_to_triage_then_to_the_fallback() -> None:
    nothing = evaluate([], message())
    assert choose_team(nothing, ModelGuess(1, 0.3, "v3"), policy(), fallback_team_id=4).team_id == 9
    no_triage = RoutingPolicy(confidence_threshold=0.6)
    assert choose_team(nothing, None, no_triage, fallback_team_id=4).team_id == 4
    assert choose_team(nothing, None, no_triage, fallback_team_id=None).team_id is None


def test_routing_text_drops_quoted_history_forward_headers_and_addresses() -> None:
    body = (
        "FYI, see below\n\n---------- Forwarded message ---------\nFrom: a@b.example\nSubject: x\n\n"
        "Our invoice 12 is unpaid, see www.vendor.example\n\nOn 3 May, Desk wrote:\n> ticket opened\n> bye"
    )
    text = routing_text(body)
    assert "Our invoice 12 is unpaid" in text
    assert "FYI" in text
    for gone in ("From:", "a@b.example", "www.vendor", "ticket opened", "wrote"):
        assert gone not in text


def test_a_phrase_ending_in_a_space_must_end_a_word_and_inner_spaces_match_line_breaks() -> None:
    po = Condition("subject", "contains_any", ["po ", "impersonat"])
    assert po.holds(message(subject="PO 4500012345"))
    assert po.holds(message(subject="about our PO."))
    assert po.holds(message(subject="someone is impersonating us"))
    assert not po.holds(message(subject="our policy"))
    assert not po.holds(message(subject="the report"))
    wrapped = Condition("body", "contains", "bank details")
    assert wrapped.holds(message(body="our new bank\ndetails are attached"))


def test_the_text_field_is_subject_and_body() -> None:
    condition = Condition("text", "contains", "neue Bankverbindung")
    assert condition.holds(message(subject="Neue Bankverbindung"))
    assert condition.holds(message(body="Bitte beachten Sie unsere neue Bankverbindung."))
    assert not condition.holds(message(subject="Bankverbindung", body="neu"))


def test_phrase_lists_are_limited_in_count_and_length() -> None:
    Condition("body", "contains_any", ["x" * 100] * 500)  # the limits themselves are fine
    with pytest.raises(InvalidValue, match="1 to 500 phrases"):
        Condition("body", "contains_any", ["x"] * 501)
    with pytest.raises(InvalidValue, match="1 to 100 characters"):
        Condition("body", "contains_any", ["ok", "x" * 101])
    with pytest.raises(InvalidValue, match="1 to 100 characters"):
        Condition("body", "contains", "x" * 101)
    with pytest.raises(InvalidValue):
        Condition("body", "contains_any", ["ok", "   "])
