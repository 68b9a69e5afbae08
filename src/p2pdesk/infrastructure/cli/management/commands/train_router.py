from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from p2pdesk import bootstrap
from p2pdesk.infrastructure.cli.history_import import HistoryFileError, read_history


class Command(BaseCommand):
    help = (
        "Train the routing classifier on resolved tickets' final teams (and agents' corrections, and "
        "imported history), "
        "print its figures on a held-out split, and store it as the next active version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--test-share", type=float, default=0.2, help="held-out share (default 0.2)")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--dry-run", action="store_true", help="evaluate only; store nothing")
        parser.add_argument(
            "--import",
            dest="imports",
            action="append",
            type=Path,
            default=[],
            metavar="FILE",
            help="first import labelled mail from before the desk (.jsonl or .csv with subject, body"
            " and team, a team's name; repeatable): kept for every later training, once each",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0.05 <= options["test_share"] <= 0.5:
            raise CommandError("--test-share must be between 0.05 and 0.5")
        try:
            imported = [
                (m.subject, m.body, m.team) for path in options["imports"] for m in read_history(path)
            ]
            trained = bootstrap.train_router(
                test_share=options["test_share"],
                seed=options["seed"],
                store=not options["dry_run"],
                imported=imported,
                imported_from=", ".join(path.name for path in options["imports"]),
            )
        except HistoryFileError as error:
            raise CommandError(f"cannot import: {error}") from None
        except ValueError as error:
            raise CommandError(f"cannot train: {error}") from None
        from_files = ""
        if trained.imported:
            from_files = f" ({trained.imported} imported, {trained.newly_imported} of them now)"
        self.stdout.write(
            f"{trained.examples} examples{from_files} of {trained.classes} teams;"
            f" trained on {trained.train_examples}, "
            f"held out {trained.test_examples}: accuracy {trained.accuracy:.3f}, "
            f"macro-F1 {trained.macro_f1:.3f}"
        )
        if trained.version is None:
            self.stdout.write("Dry run: nothing stored.")
        else:
            self.stdout.write(
                f"Stored and activated router model v{trained.version} (trained on all examples)."
            )
