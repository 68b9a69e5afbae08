"""p2pdesk ingest PATH...: take in .eml files, folders of them (Maildirs too) and mbox files."""

from __future__ import annotations

import json
import mailbox
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from p2pdesk import bootstrap
from p2pdesk.application.errors import ValidationFailed
from p2pdesk.application.use_cases.ingest_message import IngestMessage


def _is_mbox(path: Path) -> bool:
    if path.suffix.lower() == ".mbox":
        return True
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def messages(paths: list[Path]) -> Iterator[tuple[str, bytes]]:
    """(where it came from, raw bytes) for every message under the paths, in a stable order."""
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            yield from messages(
                [p for p in files if p.suffix.lower() in (".eml", ".mbox") or p.parent.name in ("new", "cur")]
            )
        elif _is_mbox(path):
            box = mailbox.mbox(path, create=False)
            for key in box.iterkeys():
                yield f"{path}#{key}", box.get_bytes(key)
        else:
            yield str(path), path.read_bytes()


class Command(BaseCommand):
    help = "Ingest .eml files, folders of them and mbox files; prints a JSON summary of outcomes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--mailbox", default=None, help="mailbox name (default: the one named 'default')")

    def handle(self, *args: Any, paths: list[Path], mailbox: str | None, **options: Any) -> None:
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"no such file or folder: {', '.join(missing)}")
        desk = bootstrap.desk()
        outcomes: Counter[str] = Counter()
        quarantined: list[dict[str, Any]] = []
        show_progress = sys.stderr.isatty()
        for count, (source, raw) in enumerate(messages(paths), start=1):
            try:
                result = desk.ingest_message(IngestMessage(raw=raw, mailbox=mailbox))
            except ValidationFailed as error:
                if "mailbox" in error.message:
                    raise CommandError(error.message) from error
                outcomes["rejected"] += 1
                quarantined.append({"source": source, "reason": error.message})
                continue
            outcomes[result.outcome] += 1
            if result.outcome == "quarantined":
                quarantined.append({"source": source, "reason": result.reason, "id": result.quarantine_id})
            if show_progress:
                summary = " ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
                sys.stderr.write(f"\r{count} messages  {summary}")
        if show_progress:
            sys.stderr.write("\n")
        total = sum(outcomes.values())
        self.stdout.write(
            json.dumps({"messages": total, "outcomes": dict(outcomes), "quarantined": quarantined})
        )
