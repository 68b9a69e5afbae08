"""A content-addressed FileStore on the local filesystem.

Files live under `root` at `ab/cd/<sha256>` (the first two byte pairs of the digest fan the files out
over directories). `put` copies the stream in 64 KiB chunks into a temporary file under `root/.tmp`
(the same filesystem, so the final rename is atomic), hashing as it goes, makes it durable (fsync)
and renames it into place, then makes the rename durable (fsync of the directory): the same content
always gets the same key, a second put of it is a no-op, and concurrent puts of the same content from
threads or processes are safe because each writes its own temporary file and the rename of identical
bytes over identical bytes changes nothing a reader can see. A reader never sees a partial file, and
a file is only ever renamed into place once its bytes are on disk, so after a crash a key that exists
holds its whole content. Files are created readable by the owner only (mkstemp's 0600): attachments
are invoices and KYC documents.

Inside `batch()` (a poll's commit group) a put returns as soon as its bytes are written: the file
stays in `root/.tmp` while a small thread pool fsyncs it in the background (the poller parses and
persists meanwhile), `open` inside the batch reads it from there, and the batch's end waits for those
fsyncs, renames every file into place and fsyncs each directory touched once. Whatever the batch
refers to is committed after that, so nothing is acknowledged before its files are durable; a
message costs two fsyncs no longer waited for one after the other, and a group shares one directory
fsync per directory (one journal commit on ext4 rather than one per file).

A process killed mid-put or mid-batch can leave stray files in `root/.tmp`; nothing refers to them
(their batch never committed), and they can be deleted by age.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from p2pdesk.ports.mail import FileTooLarge, StoredFile

CHUNK_SIZE = 64 * 1024
SYNC_THREADS = 4  # fsyncs of one batch in flight at once (the disk batches their journal commits)
_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
_TMP_DIR = ".tmp"


@dataclass
class _Held:
    """A file written inside a batch: still in root/.tmp, its fsync running in the pool."""

    tmp: str
    key: str
    synced: Future[None]


@dataclass
class _Batch:
    held: dict[str, _Held] = field(default_factory=dict)  # by key
    present: set[str] = field(default_factory=set)  # keys already in place when put again


class LocalFileStore:
    def __init__(self, root: Path | str) -> None:
        self._root = Path(root).resolve()
        self._tmp = self._root / _TMP_DIR
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._root_s = str(self._root)
        self._tmp_s = str(self._tmp)
        self._dirs: set[str] = set()  # "ab/cd" directories known to exist
        self._batch: ContextVar[_Batch | None] = ContextVar(f"p2pdesk_file_batch_{id(self)}", default=None)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()

    @property
    def root(self) -> Path:
        return self._root

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredFile:
        batch = self._batch.get()
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self._tmp_s, prefix="put-", suffix=".part")
        handed_over = False  # the fd belongs to a background fsync from then on
        try:
            while chunk := stream.read(CHUNK_SIZE):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise FileTooLarge(f"more than {max_bytes} bytes")
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            sha256 = digest.hexdigest()
            key = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
            twin = (batch is not None and key in batch.held) or os.path.exists(self._target(key))
            if twin:  # the same bytes are there already (or will be when the batch ends)
                os.close(fd)
                handed_over = True
                os.unlink(tmp)
                if batch is not None:
                    batch.present.add(key)
                else:
                    self._place({}, present=[key])
            elif batch is not None:
                batch.held[key] = _Held(tmp, key, self._sync_pool().submit(_fsync_and_close, fd))
                handed_over = True
            else:
                handed_over = True
                _fsync_and_close(fd)
                self._place({key: tmp}, present=[])
        except BaseException:
            if not handed_over:
                os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return StoredFile(key=key, size=size, sha256=sha256)

    def open(self, key: str) -> BinaryIO:
        batch = self._batch.get()
        if batch is not None and key in batch.held:
            return cast(BinaryIO, open(batch.held[key].tmp, "rb"))  # the caller closes it
        return cast(BinaryIO, self.path(key).open("rb"))

    def path(self, key: str) -> Path:
        """The file behind `key`; ValueError for anything that is not a key of this store."""
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(f"not a file store key: {key!r}")
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):
            raise ValueError(f"key escapes the store: {key!r}")
        return path

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Puts inside are made durable together when the block ends (which waits for it, and raises
        OSError if it fails): commit what refers to them after the block. Nested: the outer one."""
        if self._batch.get() is not None:
            yield
            return
        batch = _Batch()
        token = self._batch.set(batch)
        try:
            yield
        finally:
            self._batch.reset(token)
            self._settle(batch)  # also when the block failed: its work is redone with these files

    # -- internals ---------------------------------------------------------------------------------

    def _target(self, key: str) -> str:
        return os.path.join(self._root_s, key)

    def _settle(self, batch: _Batch) -> None:
        """Wait for the batch's fsyncs, then rename its files into place and make that durable."""
        failure: BaseException | None = None
        for held in batch.held.values():
            try:
                held.synced.result()
            except BaseException as error:  # re-raised below, after the cleanup
                failure = failure or error
        if failure is not None:  # none of them goes into place: nothing may refer to them
            for held in batch.held.values():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(held.tmp)
            raise failure
        self._place({held.key: held.tmp for held in batch.held.values()}, present=batch.present)

    def _place(self, files: dict[str, str], *, present: set[str] | list[str]) -> None:
        """Rename durable temporary files into place (or drop them for a twin already there), then
        fsync each directory whose entries changed, and those of keys another writer just placed."""
        directories: set[str] = set()
        for key in present:
            directories.add(os.path.dirname(self._target(key)))
        for key, tmp in files.items():
            target = self._target(key)
            directories.update(self._ensure_dirs(key[:5]))
            directories.add(os.path.dirname(target))
            if os.path.exists(target):
                os.unlink(tmp)
                continue
            try:
                os.replace(tmp, target)  # atomic; a concurrent twin wrote identical bytes
            except FileNotFoundError:  # its directory was removed behind our back: make it again
                self._dirs.discard(key[:5])
                directories.update(self._ensure_dirs(key[:5]))
                os.replace(tmp, target)
        if len(directories) > 1:
            pool = self._sync_pool()
            for done in [pool.submit(_fsync_dir, d) for d in sorted(directories)]:
                done.result()
        elif directories:
            _fsync_dir(directories.pop())

    def _ensure_dirs(self, fan: str) -> list[str]:
        """root/ab/cd exists afterwards; the directories whose entries that changed (to fsync)."""
        if fan in self._dirs:
            return []
        changed = []
        outer = os.path.join(self._root_s, fan[:2])
        for parent, directory in ((self._root_s, outer), (outer, os.path.join(self._root_s, fan))):
            try:
                os.mkdir(directory)
            except FileExistsError:
                continue
            changed.append(parent)
        self._dirs.add(fan)
        return changed

    def _sync_pool(self) -> ThreadPoolExecutor:
        """Made on first use in each process (a pool's threads do not survive a fork)."""
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="p2pdesk-fsync")
                self._pool_pid = os.getpid()
            return self._pool


def _fsync_and_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: str) -> None:
    """Make renames in `directory` durable where the platform allows opening a directory (POSIX)."""
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
