"""The Maildir reader on a real folder: oldest first, one listing per poll, batches, acknowledgement."""

from __future__ import annotations

import os
from pathlib import Path

from p2pdesk.infrastructure.email.maildir import MaildirMailboxReader, MaildirSettings


def deliver(folder: Path, name: str, mtime: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(f"Subject: {name}\n\nbody\n".encode())
    os.utime(folder / name, ns=(mtime, mtime))


def test_a_backlog_is_drained_oldest_first_in_batches_from_one_listing(tmp_path: Path) -> None:
    for n in range(7):  # delivered out of name order: the mtime decides
        deliver(tmp_path / ("new" if n % 2 else "cur"), f"m{6 - n}", mtime=1_000_000_000 * (n + 1))
    deliver(tmp_path / "new", ".hidden", mtime=1)
    reader = MaildirMailboxReader(MaildirSettings(path=tmp_path))

    refs, mores = [], []
    while True:
        batch = reader.fetch({}, limit=3)
        refs += [m.ref for m in batch.messages]
        mores.append(batch.more)
        if batch.messages:
            deliver(tmp_path / "new", f"late{len(mores)}", mtime=9_000_000_000_000)  # waits for the next poll
        reader.acknowledge([m.ref for m in batch.messages])
        if not batch.more:
            break

    assert [Path(ref).name for ref in refs] == ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]
    assert mores == [True, True, False]
    assert sorted(p.name for p in (tmp_path / "processed").iterdir()) == [f"m{n}" for n in range(7)]
    next_poll = MaildirMailboxReader(MaildirSettings(path=tmp_path)).fetch({}, limit=10)
    assert sorted(Path(m.ref).name for m in next_poll.messages) == ["late1", "late2", "late3"]


def test_a_plain_folder_offers_only_its_eml_files(tmp_path: Path) -> None:
    deliver(tmp_path, "a.eml", mtime=2)
    deliver(tmp_path, "b.EML", mtime=1)
    deliver(tmp_path, "notes.txt", mtime=3)
    batch = MaildirMailboxReader(MaildirSettings(path=tmp_path)).fetch({}, limit=10)
    assert [m.ref for m in batch.messages] == ["b.EML", "a.eml"]
    with batch.messages[0].open() as raw:
        assert raw.read().startswith(b"Subject: b.EML")
