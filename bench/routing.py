"""Routing quality and speed on the labelled corpus (bench/data/routing_corpus.jsonl).

Accuracy and macro-F1 for the shipped rules alone, the classifier alone and both combined (the
desk's SmartRouter), on a held-out split the classifier never trained on (split by original
message, so no variant of a test message is in training); and the time to route one message
(references, rules, classifier), p50 and p99. No database needed.

With --dev, the held-out test split is not looked at: grouped, stratified k-fold cross-validation
over the training part only (each fold's classifier trained on the other folds) prints the same
figures and, with --show-mistakes, the training messages it got wrong. Tune rules, features and
thresholds on --dev; run without it (the test split) only to report.

With --blind, also the same three figures on the whole blind corpus (bench/data/routing_blind_corpus.jsonl,
written apart from the rules, the classifier and the main corpus), routed by the same trained model and
router; the classifier never trains on it. Its messages are listed only with --show-mistakes.

With --holdout PATH..., the classifier trains on every development corpus (DEVELOPMENT_CORPORA)
but the PATHs, which are scored whole, together: the judged figure is `--holdout
data/routing_blind4_corpus.jsonl data/routing_blind5_corpus.jsonl`. With --grouped-cv, grouped
5-fold cross-validation over all development corpora together (each fold's classifier trains on
the other folds). --no-model-overrides-rules scores the other policy (the
classifier decides only when no rule names a team; P2PDESK_ROUTER_MODEL_OVERRIDES_RULES=0).

With --leave-one-corpus-out PATH..., each PATH (a development corpus the rules were not fitted to)
is scored whole by a classifier trained on every other development corpus, at each of
--thresholds: the validation on which the classifier and the threshold are chosen.

    python bench/routing.py [--dev [--folds 5]] [--threshold 0.8] [--test-share 0.3] [--seed 7]
                            [--show-mistakes] [--with-demo-history] [--blind]
                            [--holdout PATH | --grouped-cv | --leave-one-corpus-out PATH...]
                            [--thresholds 0.4,0.5] [--no-model-overrides-rules]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

import _common as common
from p2pdesk.application.routing import classifier_text
from p2pdesk.application.use_cases.manage_routing_rules import parse_actions, parse_conditions
from p2pdesk.domain.routing import RoutingPolicy
from p2pdesk.domain.routing_rules import RoutingRule
from p2pdesk.infrastructure.classifier.evaluation import (
    LabelledMessage,
    cross_validate_routing,
    evaluate_routing,
    grouped_cross_validation,
    holdout_routing,
)
from p2pdesk.infrastructure.classifier.text_model import TextClassifier
from p2pdesk.infrastructure.cli.default_routing import default_routing
from p2pdesk.infrastructure.cli.demo_data import TICKETS

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "routing_corpus.jsonl"
BLIND_CORPUS = DATA / "routing_blind_corpus.jsonl"
# Every labelled corpus that has been read while the rules were written (development data): what
# --holdout trains on (less PATH) and --grouped-cv cross-validates over.
DEVELOPMENT_CORPORA = (
    CORPUS,
    BLIND_CORPUS,
    DATA / "routing_blind2_corpus.jsonl",
    DATA / "routing_blind3_corpus.jsonl",
    *(DATA / f"routing_history{n}_corpus.jsonl" for n in range(1, 20)),
)
TARGET_ACCURACY = 0.95
TARGET_MS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threshold", type=float, default=RoutingPolicy.confidence_threshold)
    parser.add_argument("--test-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show-mistakes", action="store_true")
    parser.add_argument(
        "--with-demo-history",
        action="store_true",
        help="also train the classifier on the demo desk's 70 tickets (written apart from the corpus)",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="cross-validate on the training part only (the test split is not looked at)",
    )
    parser.add_argument("--folds", type=int, default=5, help="folds of --dev (default 5)")
    parser.add_argument(
        "--blind",
        action="store_true",
        help="also score the blind corpus (a test set only: never trained on, never tune against it)",
    )
    parser.add_argument(
        "--holdout",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="train on every development corpus but these, score these whole (together)",
    )
    parser.add_argument(
        "--grouped-cv",
        action="store_true",
        help="grouped cross-validation over the main and blind corpora together (development)",
    )
    parser.add_argument(
        "--leave-one-corpus-out",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="validation: for each PATH (a development corpus the rules were not fitted to), train on"
        " every other development corpus and score PATH whole; pooled accuracy per --thresholds",
    )
    parser.add_argument(
        "--thresholds",
        type=lambda text: [float(t) for t in text.split(",")],
        help="with --leave-one-corpus-out: comma-separated thresholds to compare (default: --threshold)",
    )
    parser.add_argument(
        "--model-overrides-rules",
        action=argparse.BooleanOptionalAction,
        default=RoutingPolicy.model_overrides_rules,
        help="a confident classifier decides before the non-stop rules (default, as the desk);"
        " --no-model-overrides-rules: only when no rule names a team",
    )
    args = parser.parse_args()
    modes = [bool(args.holdout), args.grouped_cv, bool(args.leave_one_corpus_out)]
    if sum(modes) > 1:
        parser.error("choose one of --holdout, --grouped-cv and --leave-one-corpus-out")
    if any(modes) and (args.dev or args.blind):
        parser.error("--holdout, --grouped-cv and --leave-one-corpus-out take neither --dev nor --blind")
    if args.thresholds and not args.leave_one_corpus_out:
        parser.error("--thresholds goes with --leave-one-corpus-out")
    if args.dev and args.blind:
        parser.error("--dev never looks at test data: drop --blind")

    routing = default_routing()
    team_ids = {team.name: index for index, team in enumerate(routing.teams, start=1)}
    rules = []
    for index, rule in enumerate(routing.rules, start=1):
        actions = dict(rule.fields.actions, team=team_ids[rule.team] if rule.team else None)
        rules.append(
            RoutingRule(
                id=index,
                name=rule.fields.name,
                position=rule.fields.position,
                enabled=True,
                match=rule.fields.match,
                conditions=parse_conditions(rule.fields.conditions),
                actions=parse_actions(actions),
                stop=rule.fields.stop,
            )
        )
    corpus = load(CORPUS)
    blind = load(BLIND_CORPUS) if args.blind else []

    common.banner(f"routing: {len(corpus)} labelled messages, {len(rules)} shipped rules")
    extra = []
    if args.with_demo_history:
        extra = [LabelledMessage(t.subject, t.description, t.requester_email, t.team, "-") for t in TICKETS]
    # One BLAS thread, as a server routing one message at a time: threads left spinning after
    # training would otherwise be counted in the CPU time per message.
    threadpool_limits(limits=1)
    if args.leave_one_corpus_out:
        leave_one_corpus_out(args, rules, team_ids)
        return
    if args.holdout or args.grouped_cv:
        other_corpora(args, rules, team_ids, extra)
        return
    if args.dev:
        develop(args, corpus, rules, team_ids, extra)
        return
    result = evaluate_routing(
        corpus,
        rules,
        team_ids,
        triage_team="Triage",
        threshold=args.threshold,
        test_share=args.test_share,
        seed=args.seed,
        extra_training=extra,
        extra_test=blind,
    )
    print(
        f"held-out split: {result['test']} messages (classifier trained on {result['train']}"
        f" + {result['extra_training']} demo tickets),"
        f" threshold {args.threshold}"
    )
    report(result)
    report_timing(result)
    if args.show_mistakes:
        show_mistakes(result["mistakes"])
    if blind:
        scored = result.pop("extra_test")
        print(f"blind corpus: {scored['test']} messages, all scored (none trained on)")
        report(scored)
        if args.show_mistakes:
            show_mistakes(scored["mistakes"])
        else:
            del scored["mistakes"]  # keep the blind messages out of results/ unless asked for
        result["blind"] = scored
    blind_rows = [
        [
            f"blind routing accuracy, {name.replace('_', ' ')}",
            f"{result['blind'][name]['accuracy']:.3f}",
            "",
            "",
        ]
        for name in ("rules_only", "classifier_only", "combined")
        if blind
    ]
    combined = result["combined"]["accuracy"]
    result["summary"] = [
        ["routing accuracy, rules only", f"{result['rules_only']['accuracy']:.3f}", "", ""],
        ["routing accuracy, classifier only", f"{result['classifier_only']['accuracy']:.3f}", "", ""],
        # The main split has been read and the rules fitted to its mistakes: a development figure,
        # so no verdict here; the target is judged on a corpus nobody tuned against (--holdout).
        ["routing accuracy, combined (development)", f"{combined:.3f}", "", ""],
        ["routing macro-F1, combined", f"{result['combined']['macro_f1']:.3f}", "", ""],
        *blind_rows,
        ["routing CPU time p99 (ms)", f"{result['route_cpu_ms_p99']:.2f}", "", ""],
        [
            "routing time p99 (ms)",
            f"{result['route_ms_p99']:.2f}",
            f"< {TARGET_MS}",
            common.verdict(result["route_ms_p99"] < TARGET_MS),
        ],
    ]
    common.write_result("routing", result)


def develop(
    args: argparse.Namespace,
    corpus: list[LabelledMessage],
    rules: list[RoutingRule],
    team_ids: dict[str, int],
    extra: list[LabelledMessage],
) -> None:
    result = cross_validate_routing(
        corpus,
        rules,
        team_ids,
        triage_team="Triage",
        threshold=args.threshold,
        test_share=args.test_share,
        seed=args.seed,
        folds=args.folds,
        extra_training=extra,
    )
    print(
        f"dev: {args.folds}-fold grouped cross-validation over the {result['messages']} training messages"
        f" (+ {result['extra_training']} demo tickets in each fold's training); test split not used;"
        f" threshold {args.threshold}"
    )
    report(result)
    print(
        f"  routing CPU time per message: p50 {result['route_cpu_ms_p50']:.2f} ms,"
        f" p99 {result['route_cpu_ms_p99']:.2f} ms"
    )
    if args.show_mistakes:
        show_mistakes(result["mistakes"])
    result["summary"] = [
        ["dev CV accuracy, rules only", f"{result['rules_only']['accuracy']:.3f}", "", ""],
        ["dev CV accuracy, classifier only", f"{result['classifier_only']['accuracy']:.3f}", "", ""],
        ["dev CV accuracy, combined", f"{result['combined']['accuracy']:.3f}", "", ""],
        ["dev CV macro-F1, combined", f"{result['combined']['macro_f1']:.3f}", "", ""],
    ]
    common.write_result("routing_dev", result)


def other_corpora(
    args: argparse.Namespace,
    rules: list[RoutingRule],
    team_ids: dict[str, int],
    extra: list[LabelledMessage],
) -> None:
    policy = policy_name(args)
    corpora = {path.resolve(): load(path) for path in DEVELOPMENT_CORPORA}
    if args.grouped_cv:
        messages = [m for corpus in corpora.values() for m in corpus]
        result = grouped_cross_validation(
            messages,
            rules,
            team_ids,
            triage_team="Triage",
            threshold=args.threshold,
            model_overrides_rules=args.model_overrides_rules,
            folds=args.folds,
            seed=args.seed,
        )
        print(
            f"grouped {args.folds}-fold cross-validation over the {len(corpora)} development corpora"
            f" ({len(messages)} messages; development figures: all were read); threshold"
            f" {args.threshold}; {policy}"
        )
        name = "routing_grouped_cv"
    else:
        targets = {path.resolve() for path in args.holdout}
        try:
            held_out = [m for path in args.holdout for m in load(path)]
        except (OSError, ValueError, KeyError) as error:
            sys.exit(f"cannot read {' '.join(map(str, args.holdout))}: {error}")
        training = [m for path, corpus in corpora.items() if path not in targets for m in corpus] + extra
        result = holdout_routing(
            training,
            held_out,
            rules,
            team_ids,
            triage_team="Triage",
            threshold=args.threshold,
            model_overrides_rules=args.model_overrides_rules,
        )
        print(
            f"held out {', '.join(path.name for path in args.holdout)}: {len(held_out)} messages, all"
            f" scored; classifier trained on {len(training)} messages of the other corpora;"
            f" threshold {args.threshold}; {policy}"
        )
        result["near_duplicates"] = near_duplicates(held_out, training)
        print(
            f"  held-out messages nearly the same as a training message (cosine >= {NEAR_DUPLICATE}):"
            f" {result['near_duplicates']} of {len(held_out)}"
        )
        name = "routing_holdout"
    report(result)
    report_timing(result)
    if args.show_mistakes:
        show_mistakes(result["mistakes"])
    else:
        del result["mistakes"]
    result["summary"] = [
        [f"{name} accuracy, {kind.replace('_', ' ')}", f"{result[kind]['accuracy']:.3f}", "", ""]
        for kind in ("rules_only", "classifier_only")
    ]
    combined = result["combined"]["accuracy"]
    target = [f">= {TARGET_ACCURACY}", common.verdict(combined >= TARGET_ACCURACY)]
    result["summary"].append(
        [f"{name} accuracy, combined", f"{combined:.3f}", *(target if args.holdout else ["", ""])]
    )
    common.write_result(name, result)


def leave_one_corpus_out(
    args: argparse.Namespace, rules: list[RoutingRule], team_ids: dict[str, int]
) -> None:
    """Each named corpus routed by a classifier trained on every other development corpus, once
    per threshold (one model per corpus, reused): how to choose the threshold and the policy on
    mail the rules were not fitted to, without touching the judged holdout."""
    corpora = {path.resolve(): load(path) for path in DEVELOPMENT_CORPORA}
    targets = [path.resolve() for path in args.leave_one_corpus_out]
    unknown = [str(path) for path in targets if path not in corpora]
    if unknown:
        sys.exit(f"not a development corpus (see DEVELOPMENT_CORPORA): {', '.join(unknown)}")
    policy = policy_name(args)
    models: dict[Path, TextClassifier] = {}
    summary = []
    for threshold in args.thresholds or [args.threshold]:
        correct = {"rules_only": 0.0, "classifier_only": 0.0, "combined": 0.0}
        total = 0
        print(f"threshold {threshold}; {policy}")
        for target in targets:
            training = [m for path, corpus in corpora.items() if path != target for m in corpus]
            result = holdout_routing(
                training,
                corpora[target],
                rules,
                team_ids,
                triage_team="Triage",
                threshold=threshold,
                model_overrides_rules=args.model_overrides_rules,
                trainer=lambda texts, labels, target=target: trained(models, target, texts, labels),
            )
            scored = result["test"]
            total += scored
            for kind in correct:
                correct[kind] += result[kind]["accuracy"] * scored
            figures = "  ".join(f"{kind} {result[kind]['accuracy']:.3f}" for kind in correct)
            print(f"  {target.name:34} {scored:5} messages  {figures}  decided by {result['decided_by']}")
        pooled = {kind: count / total for kind, count in correct.items()}
        figures = "  ".join(f"{kind} {accuracy:.3f}" for kind, accuracy in pooled.items())
        print(f"  {'pooled':34} {total:5} messages  {figures}")
        summary.append(
            [f"leave-one-corpus-out accuracy, combined at {threshold}", f"{pooled['combined']:.3f}", "", ""]
        )
    common.write_result("routing_leave_one_corpus_out", {"summary": summary})


def policy_name(args: argparse.Namespace) -> str:
    return "model overrides rules" if args.model_overrides_rules else "rules first, model when no rule"


def trained(
    models: dict[Path, TextClassifier], target: Path, texts: Sequence[str], labels: Sequence[str]
) -> TextClassifier:
    """The classifier that routes `target`, trained on first use (the same for every threshold)."""
    if target not in models:
        models[target] = TextClassifier.train(texts, labels)
    return models[target]


NEAR_DUPLICATE = 0.8


def near_duplicates(held_out: list[LabelledMessage], training: list[LabelledMessage]) -> int:
    """How many held-out messages say nearly what a training message says (word TF-IDF cosine of
    subject and routed body): a held-out score is only as new as its messages."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [classifier_text(m.subject, m.body) for m in (*training, *held_out)]
    vectors = TfidfVectorizer(strip_accents="unicode", sublinear_tf=True).fit_transform(texts)
    similarity = vectors[len(training) :] @ vectors[: len(training)].T
    return int((similarity.max(axis=1).toarray().ravel() >= NEAR_DUPLICATE).sum())


def load(path: Path) -> list[LabelledMessage]:
    corpus = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        corpus.append(
            LabelledMessage(row["subject"], row["body"], row["from"], row["team"], str(row["group"]))
        )
    return corpus


def report(result: dict[str, Any]) -> None:
    for name in ("rules_only", "classifier_only", "combined"):
        figures = result[name]
        print(f"  {name:16} accuracy {figures['accuracy']:.3f}  macro-F1 {figures['macro_f1']:.3f}")
    print(f"  decided by: {result['decided_by']}")


def report_timing(result: dict[str, Any]) -> None:
    print(
        f"  routing time per message: p50 {result['route_ms_p50']:.2f} ms,"
        f" p99 {result['route_ms_p99']:.2f} ms (CPU time p50 {result['route_cpu_ms_p50']:.2f},"
        f" p99 {result['route_cpu_ms_p99']:.2f} ms)"
    )


def show_mistakes(mistakes: list[dict[str, str]]) -> None:
    for mistake in mistakes:
        print(
            f"  expected {mistake['expected']:18} got {mistake['got']:18}"
            f" {mistake.get('by', ''):40.40} {mistake['subject']}"
        )


if __name__ == "__main__":
    sys.exit(main())
