"""Measure routing on a labelled corpus: rules only, classifier only and combined, on a split the
classifier never trained on, plus the time each message takes to route."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from p2pdesk.application.routing import SmartRouter, classifier_text
from p2pdesk.domain.routing_rules import RoutingInput, RoutingRule, evaluate
from p2pdesk.domain.routing_text import routing_text
from p2pdesk.infrastructure.classifier.text_model import Evaluation, TextClassifier, split
from p2pdesk.infrastructure.classifier.text_model import evaluate as score
from p2pdesk.ports.routing import RoutingRequest, RoutingSetup, TeamClassifier


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


def _quality(
    messages: Sequence[LabelledMessage],
    rules: Sequence[RoutingRule],
    router: SmartRouter,
    model: TextClassifier,
    names: Mapping[int, str],
    triage_id: int,
) -> tuple[dict[str, Any], list[float], list[float]]:
    """Rules only, classifier only and combined on `messages`; plus wall and CPU ms per routing."""
    expected = [m.team for m in messages]

    def rules_only(m: LabelledMessage) -> str:
        body = routing_text(m.body)
        outcome = evaluate(rules, RoutingInput(subject=m.subject, body=body, sender=m.sender))
        return names[outcome.team_id or triage_id]

    timings: list[float] = []
    cpu: list[float] = []  # CPU time of this process: the work itself, without waits for a busy machine
    combined: list[str] = []
    decided_by: dict[str, int] = {"rule": 0, "model": 0, "default": 0}
    for m in messages:
        started, started_cpu = time.perf_counter(), time.process_time()
        decision = router.route_request(RoutingRequest(subject=m.subject, body=m.body, sender=m.sender))
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        combined.append(names[decision.team_id])
        decided_by[decision.decided_by.split(":")[0]] += 1

    def figures(evaluation: Evaluation) -> dict[str, float]:
        return {"accuracy": evaluation.accuracy, "macro_f1": evaluation.macro_f1}

    model_only = [p for p, _ in model.predict_many([classifier_text(m.subject, m.body) for m in messages])]
    mistakes = [
        {"expected": m.team, "got": got, "subject": m.subject}
        for m, got in zip(messages, combined, strict=True)
        if got != m.team
    ]
    quality = {
        "test": len(messages),
        "rules_only": figures(score([rules_only(m) for m in messages], expected)),
        "classifier_only": figures(score(model_only, expected)),
        "combined": figures(score(combined, expected)),
        "decided_by": decided_by,
        "mistakes": mistakes,
    }
    return quality, timings, cpu


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
) -> dict[str, Any]:
    """`extra_training`: labelled messages from elsewhere (never evaluated), e.g. a desk's history.
    `extra_test`: labelled messages from elsewhere, never trained on (e.g. a blind test set), scored
    whole with the same model and router as the held-out split, under `result["extra_test"]`."""
    labels = [m.team for m in corpus]
    train, test = split(labels, test_share=test_share, seed=seed, groups=[m.group for m in corpus])
    text = [classifier_text(m.subject, m.body) for m in corpus]
    model = TextClassifier.train(
        [text[i] for i in train] + [classifier_text(m.subject, m.body) for m in extra_training],
        [labels[i] for i in train] + [m.team for m in extra_training],
        seed=seed,
    )
    names = {team_id: name for name, team_id in team_ids.items()}
    triage_id = team_ids[triage_team]
    held_out = [corpus[i] for i in test]

    classifier: TeamClassifier = _ById(model, team_ids)
    setup = RoutingSetup(
        rules=tuple(rules),
        live_team_ids=frozenset(team_ids.values()),
        triage_team_id=triage_id,
        classifier=classifier,
    )
    router = SmartRouter(FixedSetup(setup), confidence_threshold=threshold)
    for m in held_out[:5]:  # warm up (first calls allocate); a running desk is warm
        router.route_request(RoutingRequest(subject=m.subject, body=m.body, sender=m.sender))
    quality, timings, cpu = _quality(held_out, rules, router, model, names, triage_id)
    result = {
        "messages": len(corpus),
        "train": len(train),
        "extra_training": len(extra_training),
        "threshold": threshold,
        **quality,
        "route_ms_p50": _percentile(timings, 0.50),
        "route_ms_p99": _percentile(timings, 0.99),
        "route_cpu_ms_p50": _percentile(cpu, 0.50),
        "route_cpu_ms_p99": _percentile(cpu, 0.99),
    }
    if extra_test:
        result["extra_test"] = _quality(extra_test, rules, router, model, names, triage_id)[0]
    return result
