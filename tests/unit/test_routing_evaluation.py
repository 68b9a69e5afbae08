"""evaluate_routing's extra test set: scored with the same model and router, never trained on."""

from __future__ import annotations

from p2pdesk.infrastructure.classifier.evaluation import LabelledMessage, evaluate_routing

TEAMS = {"Triage": 1, "Alpha": 2, "Beta": 3}
WORDS = {"Alpha": ["walrus", "turbine", "saffron"], "Beta": ["glacier", "violin", "pepper"]}


def _messages(prefix: str, count: int, *, swap: bool = False) -> list[LabelledMessage]:
    """`count` groups per team of two variants each; with `swap`, every label is the other team's."""
    messages = []
    for team, words in WORDS.items():
        label = ("Beta" if team == "Alpha" else "Alpha") if swap else team
        for n in range(count):
            subject = f"{words[n % 3]} question {n}"
            for variant in ("please look at the", "could you check the"):
                body = f"{variant} {words[0]} {words[1]} {words[2]} matter number {n}"
                messages.append(LabelledMessage(subject, body, "x@example.com", label, f"{prefix}{team}{n}"))
    return messages


def _run(extra_test: list[LabelledMessage]) -> dict[str, object]:
    return evaluate_routing(
        _messages("m", 12),
        [],
        TEAMS,
        triage_team="Triage",
        threshold=0.6,
        extra_test=extra_test,
    )


def test_the_extra_test_set_is_scored_whole_and_never_trained_on() -> None:
    plain = _run([])
    mislabelled = _messages("b", 5, swap=True)  # trained on, it would drag the model towards the swap
    with_extra = _run(mislabelled)

    assert "extra_test" not in plain
    for key in ("train", "test", "rules_only", "classifier_only", "combined", "decided_by", "mistakes"):
        assert with_extra[key] == plain[key]
    scored = with_extra["extra_test"]
    assert isinstance(scored, dict)
    assert scored["test"] == len(mislabelled)
    # the model learnt the true word -> team mapping, so it gets every swapped label "wrong"
    assert scored["classifier_only"]["accuracy"] == 0.0
    assert scored["rules_only"]["accuracy"] == 0.0  # no rules: everything to Triage, never expected
    assert len(scored["mistakes"]) == len(mislabelled)


def test_development_figures_never_look_at_the_test_split() -> None:
    from p2pdesk.infrastructure.classifier.evaluation import cross_validate_routing, training_part

    corpus = _messages("m", 12)
    train, test = training_part(corpus)
    dev = cross_validate_routing(corpus, [], TEAMS, triage_team="Triage", threshold=0.6, folds=3)
    assert dev["messages"] == dev["test"] == len(train)  # every training message scored once, out of fold
    # the split depends on labels and groups only: give the test split's messages the other team's words
    test_groups = {m.group for m in test}
    other = {"Alpha": "glacier violin pepper", "Beta": "walrus turbine saffron", "Triage": ""}
    swapped = [
        LabelledMessage(other[m.team], other[m.team], m.sender, m.team, m.group)
        if m.group in test_groups
        else m
        for m in corpus
    ]
    assert training_part(swapped) == (train, [s for s in swapped if s.group in test_groups])
    again = cross_validate_routing(swapped, [], TEAMS, triage_team="Triage", threshold=0.6, folds=3)
    for key in ("rules_only", "classifier_only", "combined", "decided_by", "mistakes"):
        assert again[key] == dev[key]
    assert {m["subject"] for m in dev["mistakes"]} <= {m.subject for m in train}


def test_holdout_scores_the_held_out_set_whole_with_a_model_trained_on_the_rest_only() -> None:
    from p2pdesk.infrastructure.classifier.evaluation import holdout_routing

    training = _messages("m", 12)
    held_out = _messages("h", 4, swap=True)  # the other team's words: only a model trained on them agrees
    result = holdout_routing(training, held_out, [], TEAMS, triage_team="Triage", threshold=0.6)
    assert (result["train"], result["test"]) == (len(training), len(held_out))
    assert result["classifier_only"]["accuracy"] == 0.0
    assert result["combined"]["accuracy"] == 0.0
    assert sum(result["decided_by"].values()) == len(held_out)


def test_grouped_cross_validation_scores_every_message_once_out_of_fold() -> None:
    from p2pdesk.infrastructure.classifier.evaluation import grouped_cross_validation

    messages = [*_messages("m", 6), *_messages("b", 6)]
    result = grouped_cross_validation(messages, [], TEAMS, triage_team="Triage", threshold=0.6, folds=3)
    assert result["test"] == len(messages)
    # each word set belongs to one team in every fold, so out-of-fold routing still gets them right
    assert result["classifier_only"]["accuracy"] == 1.0
