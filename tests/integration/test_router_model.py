"""The classifier adapter against scikit-learn itself, and the signed, versioned model store."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from p2pdesk.infrastructure.classifier.text_model import TextClassifier, split
from p2pdesk.infrastructure.persistence.models import RouterModelRecord
from p2pdesk.infrastructure.persistence.routing import DjangoRouterModelStore, InvalidModelSignature

TEXTS = {
    "pay": [
        "payment missing",
        "transfer not received",
        "remittance advice",
        "when will you pay",
        "money late",
    ],
    "inv": ["invoice copy", "credit note attached", "statement of account", "wrong tax on bill", "invoice 7"],
    "kyc": [
        "passport copy",
        "certificate of incorporation",
        "beneficial owner",
        "identity document",
        "kyc form",
    ],
}


def examples(teams: int = 3) -> tuple[list[str], list[str]]:
    """Each text three times with a varying suffix: Platt calibration needs a few examples a team."""
    data = list(TEXTS.items())[:teams]
    texts = [f"{t} {n}" for _, ts in data for t in ts for n in range(3)]
    return texts, [label for label, ts in data for _ in ts for _ in range(3)]


def trained() -> tuple[TextClassifier, list[str]]:
    texts, labels = examples()
    return TextClassifier.train(texts, labels), texts


@pytest.mark.parametrize("teams", [2, 3])
def test_fast_probabilities_are_scikit_learns(teams: int) -> None:
    texts, labels = examples(teams)
    model = TextClassifier.train(texts, labels)
    probe = ["payment for invoice", "passport", "nothing related at all", *texts]
    expected = model._model.predict_proba(model._features(probe))
    assert np.allclose(model.probabilities(probe), expected)
    for text, row in zip(probe, expected, strict=True):  # predict builds its one row by hand
        label, probability = model.predict(text)
        assert (label, probability) == (model._classes[int(row.argmax())], pytest.approx(row.max()))
    label, probability = model.predict("transfer not received")
    assert label == "pay"
    assert 0 < probability <= 1


def test_accents_and_case_do_not_change_a_prediction() -> None:
    model, _ = trained()
    assert model.predict("CERTIFICATE OF INCORPORATION") == pytest.approx(
        model.predict("certificate of incorporation")
    )
    assert model.predict("rémittance àdvice") == pytest.approx(model.predict("remittance advice"))


def test_training_needs_two_teams_with_two_examples_each() -> None:
    with pytest.raises(ValueError, match="two teams"):
        TextClassifier.train(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError, match="two examples"):
        TextClassifier.train(["a", "b", "c"], ["x", "x", "y"])


def test_a_group_split_keeps_each_group_on_one_side() -> None:
    labels = ["a", "b"] * 20
    groups = [str(i // 4) for i in range(40)]
    train, test = split(labels, test_share=0.25, seed=1, groups=groups)
    assert {groups[i] for i in train}.isdisjoint({groups[i] for i in test})
    assert sorted(train + test) == list(range(40))


@pytest.mark.django_db
def test_models_are_versioned_one_active_and_refused_when_tampered() -> None:
    model, texts = trained()
    store = DjangoRouterModelStore(b"k" * 32)
    at = datetime(2026, 11, 20, tzinfo=UTC)
    first = store.save(model.dumps(), examples=15, metrics={"accuracy": 1.0}, at=at, activate=True)
    second = store.save(model.dumps(), examples=15, metrics={}, at=at, activate=True)
    assert (first, second, store.active_version()) == (1, 2, 2)
    store.activate(1)
    assert store.active_version() == 1
    assert RouterModelRecord.objects.filter(is_active=True).count() == 1
    loaded = TextClassifier.loads(store.load(1), "v1")
    assert loaded.predict_many(texts) == model.predict_many(texts)
    assert loaded.predict("passport copy")[0] == "kyc"
    with pytest.raises(InvalidModelSignature):
        DjangoRouterModelStore(b"other key").load(1)
    RouterModelRecord.objects.filter(version=2).update(blob=b"not what was signed")
    with pytest.raises(InvalidModelSignature):
        store.load(2)
    with pytest.raises(LookupError):
        store.activate(9)
