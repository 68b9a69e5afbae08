from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from p2pdesk import bootstrap


class Command(BaseCommand):
    help = (
        "Train the routing classifier on resolved tickets' final teams (and agents' corrections), "
        "print its figures on a held-out split, and store it as the next active version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--test-share", type=float, default=0.2, help="held-out share (default 0.2)")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--dry-run", action="store_true", help="evaluate only; store nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0.05 <= options["test_share"] <= 0.5:
            raise CommandError("--test-share must be between 0.05 and 0.5")
        try:
            trained = bootstrap.train_router(
                test_share=options["test_share"], seed=options["seed"], store=not options["dry_run"]
            )
        except ValueError as error:
            raise CommandError(f"cannot train: {error}") from None
        self.stdout.write(
            f"{trained.examples} examples of {trained.classes} teams; trained on {trained.train_examples}, "
            f"held out {trained.test_examples}: accuracy {trained.accuracy:.3f}, "
            f"macro-F1 {trained.macro_f1:.3f}"
        )
        if trained.version is None:
            self.stdout.write("Dry run: nothing stored.")
        else:
            self.stdout.write(
                f"Stored and activated router model v{trained.version} (trained on all examples)."
            )
