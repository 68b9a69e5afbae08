"""A local Maildir (or plain folder of .eml files) as a mailbox: the embedded default and the demo.

New mail is read from `new/` and `cur/` (Maildir) or the folder itself (*.eml); an acknowledged
message is moved to `processed/` beside them, so a restart re-reads only what was not committed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import structlog

from p2pdesk.ports.mailboxes import FetchBatch, FetchedMessage, MailboxUnavailable

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class MaildirSettings:
    path: Path


class MaildirMailboxReader:
    def __init__(self, settings: MaildirSettings) -> None:
        self._root = settings.path
        self._processed = self._root / "processed"
        self._queue: list[Path] = []

    def _sources(self) -> list[Path]:
        if (self._root / "new").is_dir() or (self._root / "cur").is_dir():
            return [self._root / "new", self._root / "cur"]
        return [self._root]

    def _pending(self) -> list[Path]:
        if not self._root.is_dir():
            raise MailboxUnavailable(f"maildir {self._root} does not exist")
        files = []
        for folder in self._sources():
            if not folder.is_dir():
                continue
            mail_folder = folder.name in ("new", "cur")
            with os.scandir(folder) as entries:
                for entry in entries:  # scandir: one directory read, file types without a stat each
                    name = entry.name
                    if name.startswith(".") or not entry.is_file():
                        continue
                    if mail_folder or name.lower().endswith(".eml"):
                        files.append((entry.stat().st_mtime_ns, name, Path(entry.path)))
        return [path for _, _, path in sorted(files)]

    def fetch(self, cursor: Mapping[str, Any], *, limit: int) -> FetchBatch:
        # One listing serves the whole poll: listing again for every batch made draining a backlog
        # of N messages cost N²/limit stats. Mail arriving meanwhile waits for the next poll.
        if not self._queue:
            self._queue = self._pending()
        taken, self._queue = self._queue[:limit], self._queue[limit:]
        messages = [
            FetchedMessage(ref=str(path.relative_to(self._root)), opener=partial(path.open, "rb"))
            for path in taken
        ]
        return FetchBatch(messages=messages, cursor={}, more=bool(self._queue))

    def acknowledge(self, refs: Sequence[str]) -> None:
        self._processed.mkdir(parents=True, exist_ok=True)
        for ref in refs:
            source = (self._root / ref).resolve()
            if self._root.resolve() not in source.parents:
                raise ValueError(f"{ref!r} is outside the maildir")
            if source.exists():
                os.replace(source, self._processed / source.name)
            else:
                log.warning("maildir.ack_missing", ref=ref)

    def close(self) -> None:
        return None
