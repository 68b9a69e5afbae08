"""Measure routing on a labelled corpus: rules only, classifier only and combined, on a split the
classifier never trained on, plus the time each message takes to route."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from p2pdesk.application.routing import SmartRouter, classifier_text
from p2pdesk.domain.routing import RoutingPolicy
from p2pdesk.domain.routing_rules import RoutingInput, RoutingRule, evaluate
from p2pdesk.domain.routing_text import routing_text
from p2pdesk.infrastructure.classifier.text_model import Evaluation, TextClassifier, split
from p2pdesk.infrastructure.classifier.text_model import evaluate as score
from p2pdesk.ports.routing import RoutingRequest, RoutingSetup


@dataclass(frozen=True)
class LabelledMessage:
    subject: str
    body: str
    sender: str
    team: str  # the expected team's name
    group: str  # messages of one group (variants of one original) stay on one side of the split


class FixedSetup:
    def __init__(self, setup: RoutingSetup) -> None:
        self._setup = setup

    def current(self) -> RoutingSetup:
        return self._setup

    def invalidate(self) -> None:
        pass


class _ById:
    """The corpus classifier speaks team names; routing expects team ids."""

    def __init__(self, model: TextClassifier, team_ids: Mapping[str, int]) -> None:
        self._model = model
        self._ids = team_ids
        self.version = "eval"

    def predict(self, text: str) -> tuple[str, float]:
        name, probability = self._model.predict(text)
        return str(self._ids[name]), probability


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


Trainer = Callable[[Sequence[str], Sequence[str]], TextClassifier]


def _train(texts: Sequence[str], labels: Sequence[str]) -> TextClassifier:
    return TextClassifier.train(texts, labels)


@dataclass
class _Routed:
    """Each message's team by the rules alone, the classifier alone and both (the SmartRouter)."""

    expected: list[str] = dataclass_field(default_factory=list)
    rules_only: list[str] = dataclass_field(default_factory=list)
    classifier_only: list[str] = dataclass_field(default_factory=list)
    combined: list[str] = dataclass_field(default_factory=list)
    decided_by: dict[str, int] = dataclass_field(
        default_factory=lambda: {"rule": 0, "model": 0, "default": 0}
    )
    mistakes: list[dict[str, str]] = dataclass_field(default_factory=list)
    wall_ms: list[float] = dataclass_field(default_factory=list)
    cpu_ms: list[float] = dataclass_field(
        default_factory=list
    )  # this process's: without waits for a busy machine

    def quality(self) -> dict[str, Any]:
        def figures(predicted: list[str]) -> dict[str, float]:
            evaluation: Evaluation = score(predicted, self.expected)
            return {"accuracy": evaluation.accuracy, "macro_f1": evaluation.macro_f1}

        return {
            "test": len(self.expected),
            "rules_only": figures(self.rules_only),
            "classifier_only": figures(self.classifier_only),
            "combined": figures(self.combined),
            "decided_by": dict(self.decided_by),
            "mistakes": list(self.mistakes),
        }


def _route(
    messages: Sequence[LabelledMessage],
    rules: Sequence[RoutingRule],
    model: TextClassifier,
    team_ids: Mapping[str, int],
    *,
    triage_team: str,
    threshold: float,
    model_overrides_rules: bool = RoutingPolicy.model_overrides_rules,
    into: _Routed | None = None,
) -> _Routed:
    """Route `messages` three ways, adding to `into` (or a new _Routed)."""
    routed = into if into is not None else _Routed()
    names = {team_id: name for name, team_id in team_ids.items()}
    triage_id = team_ids[triage_team]
    setup = RoutingSetup(
        rules=tuple(rules),
        live_team_ids=frozenset(team_ids.values()),
        triage_team_id=triage_id,
        classifier=_ById(model, team_ids),
    )
    router = SmartRouter(
        FixedSetup(setup), confidence_threshold=threshold, model_overrides_rules=model_overrides_rules
    )
    for m in messages[:5]:  # warm up (first calls allocate); a running desk is warm
        router.route_request(RoutingRequest(subject=m.subject, body=m.body, sender=m.sender))
    model_only = model.predict_many([classifier_text(m.subject, m.body) for m in messages])
    for m, (guess, _) in zip(messages, model_only, strict=True):
        body = routing_text(m.body)
        outcome = evaluate(rules, RoutingInput(subject=m.subject, body=body, sender=m.sender))
        started, started_cpu = time.perf_counter(), time.process_time()
        decision = router.route_request(RoutingRequest(subject=m.subject, body=m.body, sender=m.sender))
        routed.wall_ms.append((time.perf_counter() - started) * 1000)
        routed.cpu_ms.append((time.process_time() - started_cpu) * 1000)
        got = names[decision.team_id]
        routed.expected.append(m.team)
        routed.rules_only.append(names[outcome.team_id or triage_id])
        routed.classifier_only.append(guess)
        routed.combined.append(got)
        routed.decided_by[decision.decided_by.split(":")[0]] += 1
        if got != m.team:
            routed.mistakes.append(
                {"expected": m.team, "got": got, "by": decision.decided_by, "subject": m.subject}
            )
    return routed


def _timing(routed: _Routed) -> dict[str, float]:
    return {
        "route_ms_p50": _percentile(routed.wall_ms, 0.50),
        "route_ms_p99": _percentile(routed.wall_ms, 0.99),
        "route_cpu_ms_p50": _percentile(routed.cpu_ms, 0.50),
        "route_cpu_ms_p99": _percentile(routed.cpu_ms, 0.99),
    }


def _texts(messages: Sequence[LabelledMessage]) -> list[str]:
    return [classifier_text(m.subject, m.body) for m in messages]


def training_part(
    corpus: Sequence[LabelledMessage], *, test_share: float = 0.3, seed: int = 7
) -> tuple[list[LabelledMessage], list[LabelledMessage]]:
    """The corpus split by group into (training, held-out test): the same split whatever runs it."""
    train, test = split(
        [m.team for m in corpus], test_share=test_share, seed=seed, groups=[m.group for m in corpus]
    )
    return [corpus[i] for i in train], [corpus[i] for i in test]


def evaluate_routing(
    corpus: Sequence[LabelledMessage],
    rules: Sequence[RoutingRule],
    team_ids: Mapping[str, int],
    *,
    triage_team: str,
    threshold: float,
    test_share: float = 0.3,
    seed: int = 7,
    extra_training: Sequence[LabelledMessage] = (),
    extra_test: Sequence[LabelledMessage] = (),
    trainer: Trainer = _train,
) -> dict[str, Any]:
    """Train on the training part of the split, score the held-out test part.

    `extra_training`: labelled messages from elsewhere (never evaluated), e.g. a desk's history.
    `extra_test`: labelled messages from elsewhere, never trained on (e.g. a blind test set), scored
    whole with the same model and router as the held-out split, under `result["extra_test"]`."""
    train, held_out = training_part(corpus, test_share=test_share, seed=seed)
    training = [*train, *extra_training]
    model = trainer(_texts(training), [m.team for m in training])
    routed = _route(held_out, rules, model, team_ids, triage_team=triage_team, threshold=threshold)
    result = {
        "messages": len(corpus),
        "train": len(train),
        "extra_training": len(extra_training),
        "threshold": threshold,
        **routed.quality(),
        **_timing(routed),
    }
    if extra_test:
        blind = _route(extra_test, rules, model, team_ids, triage_team=triage_team, threshold=threshold)
        result["extra_test"] = blind.quality()
    return result


def cross_validate_routing(
    corpus: Sequence[LabelledMessage],
    rules: Sequence[RoutingRule],
    team_ids: Mapping[str, int],
    *,
    triage_team: str,
    threshold: float,
    test_share: float = 0.3,
    seed: int = 7,
    folds: int = 5,
    extra_training: Sequence[LabelledMessage] = (),
    trainer: Trainer = _train,
) -> dict[str, Any]:
    """Development figures that never look at the held-out test split: grouped, stratified k-fold
    cross-validation over the training part only. Each fold's classifier trains on the other folds
    (plus `extra_training`); the figures pool every training message's out-of-fold routing."""
    train, _ = training_part(corpus, test_share=test_share, seed=seed)
    routed = _route_out_of_fold(
        train,
        rules,
        team_ids,
        triage_team=triage_team,
        threshold=threshold,
        model_overrides_rules=RoutingPolicy.model_overrides_rules,
        folds=folds,
        seed=seed,
        extra_training=extra_training,
        trainer=trainer,
    )
    return {
        "messages": len(train),
        "folds": folds,
        "extra_training": len(extra_training),
        "threshold": threshold,
        **routed.quality(),
        **_timing(routed),
    }


def holdout_routing(
    training: Sequence[LabelledMessage],
    held_out: Sequence[LabelledMessage],
    rules: Sequence[RoutingRule],
    team_ids: Mapping[str, int],
    *,
    triage_team: str,
    threshold: float,
    model_overrides_rules: bool = RoutingPolicy.model_overrides_rules,
    trainer: Trainer = _train,
) -> dict[str, Any]:
    """Train on all of `training`, route and score all of `held_out` (e.g. a whole corpus kept apart)."""
    model = trainer(_texts(training), [m.team for m in training])
    routed = _route(
        held_out,
        rules,
        model,
        team_ids,
        triage_team=triage_team,
        threshold=threshold,
        model_overrides_rules=model_overrides_rules,
    )
    return {
        "train": len(training),
        "threshold": threshold,
        "model_overrides_rules": model_overrides_rules,
        **routed.quality(),
        **_timing(routed),
    }


def grouped_cross_validation(
    messages: Sequence[LabelledMessage],
    rules: Sequence[RoutingRule],
    team_ids: Mapping[str, int],
    *,
    triage_team: str,
    threshold: float,
    model_overrides_rules: bool = RoutingPolicy.model_overrides_rules,
    folds: int = 5,
    seed: int = 7,
    trainer: Trainer = _train,
) -> dict[str, Any]:
    """Grouped, stratified k-fold over all of `messages` (no variant of a message on both sides):
    each fold's classifier trains on the other folds; the figures pool every message's routing."""
    routed = _route_out_of_fold(
        messages,
        rules,
        team_ids,
        triage_team=triage_team,
        threshold=threshold,
        model_overrides_rules=model_overrides_rules,
        folds=folds,
        seed=seed,
        extra_training=(),
        trainer=trainer,
    )
    return {
        "messages": len(messages),
        "folds": folds,
        "threshold": threshold,
        "model_overrides_rules": model_overrides_rules,
        **routed.quality(),
        **_timing(routed),
    }


def _route_out_of_fold(
    messages: Sequence[LabelledMessage],
    rules: Sequence[RoutingRule],
    team_ids: Mapping[str, int],
    *,
    triage_team: str,
    threshold: float,
    model_overrides_rules: bool,
    folds: int,
    seed: int,
    extra_training: Sequence[LabelledMessage],
    trainer: Trainer,
) -> _Routed:
    """Grouped, stratified k-fold over `messages` (no variant of a message on both sides): each
    fold is routed by a classifier trained on the other folds plus `extra_training`."""
    from sklearn.model_selection import StratifiedGroupKFold

    labels = [m.team for m in messages]
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    routed = _Routed()
    for fit, held in splitter.split(messages, labels, [m.group for m in messages]):
        training = [*(messages[i] for i in fit), *extra_training]
        model = trainer(_texts(training), [m.team for m in training])
        _route(
            [messages[i] for i in held],
            rules,
            model,
            team_ids,
            triage_team=triage_team,
            threshold=threshold,
            model_overrides_rules=model_overrides_rules,
            into=routed,
        )
    return routed
