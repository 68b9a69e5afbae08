"""Labelled mail from before the desk (a previous helpdesk's export, a mailbox sorted into folders)
for `p2pdesk train_router --import`: a new desk has no resolved tickets, and the classifier is only
as good as its history.

JSON lines (`.jsonl`: one object per line) or CSV (`.csv`, with a header row), each message with
`subject`, `body` and `team` (a team's name). A file with any bad line is refused whole, with every
bad line named: training on half a file would hide the mistake.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_ERRORS_SHOWN = 10


@dataclass(frozen=True)
class ImportedMessage:
    subject: str
    body: str
    team: str  # the team's name, as the export spells it
    line: int  # where it was in the file, for error messages


class HistoryFileError(ValueError):
    pass


def read_history(path: Path) -> list[ImportedMessage]:
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise HistoryFileError(f"{path}: use a .jsonl (JSON lines) or .csv file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheet CSVs often start with a BOM
    except (OSError, UnicodeDecodeError) as error:
        raise HistoryFileError(f"{path}: cannot read it ({error})") from None
    rows = _json_lines(text) if suffix == ".jsonl" else _csv_rows(path, text)
    messages, errors = [], []
    for line, row in rows:
        message, error = _message(row, line)
        if error:
            errors.append(f"{path}:{line}: {error}")
        elif message is not None:
            messages.append(message)
    if errors:
        shown = "\n".join(errors[:MAX_ERRORS_SHOWN])
        more = f"\n… and {len(errors) - MAX_ERRORS_SHOWN} more" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise HistoryFileError(f"{len(errors)} bad line(s); nothing imported:\n{shown}{more}")
    if not messages:
        raise HistoryFileError(f"{path}: no messages in it")
    return messages


def _json_lines(text: str) -> list[tuple[int, Any]]:
    rows: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            rows.append((number, f"not JSON ({error.msg})"))
    return rows


def _csv_rows(path: Path, text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))  # keeps line breaks inside quoted fields
    missing = {"subject", "body", "team"} - set(reader.fieldnames or ())
    if missing:
        raise HistoryFileError(f"{path}: the header row lacks {', '.join(sorted(missing))}")
    rows: list[tuple[int, Any]] = []
    first_line = reader.line_num + 1
    for row in reader:
        rows.append((first_line, row))  # the line a record starts on, though it may span several
        first_line = reader.line_num + 1
    return rows


def _message(row: Any, line: int) -> tuple[ImportedMessage | None, str]:
    if isinstance(row, str):
        return None, row
    if not isinstance(row, dict):
        return None, "not an object with subject, body and team"
    values = {key: row.get(key) for key in ("subject", "body", "team")}
    wrong = [key for key, value in values.items() if value is not None and not isinstance(value, str)]
    if wrong:
        return None, f"{', '.join(wrong)} must be text"
    subject, body, team = ((values[key] or "").strip() for key in ("subject", "body", "team"))
    if not team:
        return None, "no team"
    if not subject and not body:
        return None, "neither subject nor body"
    return ImportedMessage(subject, body, team, line), ""
