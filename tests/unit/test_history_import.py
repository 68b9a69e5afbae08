"""Reading labelled mail from before the desk (`train_router --import`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from p2pdesk.infrastructure.cli.history_import import HistoryFileError, ImportedMessage, read_history


def test_json_lines_are_read_with_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    rows = [
        {"subject": "Zahlung offen", "body": "Rechnung 4711 ist noch nicht bezahlt.", "team": "Payments"},
        {"subject": "", "body": "Avoir n° 88 ci-joint", "team": " Accounts Payable "},
    ]
    path.write_text(json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1], ensure_ascii=False) + "\n")
    assert read_history(path) == [
        ImportedMessage("Zahlung offen", "Rechnung 4711 ist noch nicht bezahlt.", "Payments", 1),
        ImportedMessage("", "Avoir n° 88 ci-joint", "Accounts Payable", 3),
    ]


def test_a_spreadsheet_csv_with_a_bom_and_a_multiline_body_is_read(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        '\ufeffsubject,body,team,extra\nPO 4500,"line one\nline two",Procurement,x\n'
        "GR 5000,short over,Inventory,\n",
        encoding="utf-8",
    )
    assert read_history(path) == [
        ImportedMessage("PO 4500", "line one\nline two", "Procurement", 2),
        ImportedMessage("GR 5000", "short over", "Inventory", 4),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("export.txt", "anything", "use a .jsonl"),
        ("export.csv", "subject,team\nx,AP\n", "lacks body"),
        ("export.jsonl", "", "no messages"),
        ("export.jsonl", '{"subject": "x", "body": "y"}\n', "export.jsonl:1: no team"),
        ("export.jsonl", '{"subject": "ok", "body": "", "team": "AP"}\n{oops\n', "export.jsonl:2: not JSON"),
        ("export.jsonl", '{"subject": "", "body": " ", "team": "AP"}\n', "neither subject nor body"),
        ("export.jsonl", '{"subject": 7, "body": "x", "team": "AP"}\n', "subject must be text"),
        ("export.jsonl", '["x", "y", "AP"]\n', "not an object"),
    ],
)
def test_a_bad_file_is_refused_whole_with_the_reason(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(HistoryFileError, match=message):
        read_history(path)


def test_every_bad_line_is_named_up_to_ten(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text('{"subject": "x"}\n' * 12)
    with pytest.raises(HistoryFileError) as refused:
        read_history(path)
    assert str(refused.value).startswith("12 bad line(s); nothing imported:")
    assert "export.jsonl:10: no team" in str(refused.value)
    assert "export.jsonl:11:" not in str(refused.value)
    assert "and 2 more" in str(refused.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryFileError, match="cannot read it"):
        read_history(tmp_path / "missing.jsonl")
