"""A content-addressed FileStore on the local filesystem.

Files live under `root` at `ab/cd/<sha256>` (the first two byte pairs of the digest fan the files out
over directories). `put` copies the stream in 64 KiB chunks into a temporary file under `root/.tmp`
(the same filesystem, so the final rename is atomic), hashing as it goes, and renames it into place:
the same content always gets the same key, a second put of it is a no-op, and concurrent puts of
the same content from threads or processes are safe because each writes its own temporary file and
the rename of identical bytes over identical bytes changes nothing a reader can see. A reader never
sees a partial file. Files are created readable by the owner only (mkstemp's 0600): attachments are
invoices and KYC documents.

A process killed mid-put can leave a stray file in `root/.tmp`; nothing refers to it, and it can be
deleted by age.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, cast

from p2pdesk.ports.mail import FileTooLarge, StoredFile

CHUNK_SIZE = 64 * 1024
_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
_TMP_DIR = ".tmp"


class LocalFileStore:
    def __init__(self, root: Path | str) -> None:
        self._root = Path(root).resolve()
        self._tmp = self._root / _TMP_DIR
        self._tmp.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> Path:
        return self._root

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredFile:
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-", suffix=".part")
        tmp_path = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise FileTooLarge(f"more than {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            key = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
            target = self._root / key
            if target.exists():
                tmp_path.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_path, target)  # atomic; a concurrent twin wrote identical bytes
                _fsync_dir(target.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
            raise
        return StoredFile(key=key, size=size, sha256=sha256)

    def open(self, key: str) -> BinaryIO:
        return cast(BinaryIO, self.path(key).open("rb"))

    def path(self, key: str) -> Path:
        """The file behind `key`; ValueError for anything that is not a key of this store."""
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(f"not a file store key: {key!r}")
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):
            raise ValueError(f"key escapes the store: {key!r}")
        return path


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable where the platform allows opening a directory (POSIX)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
