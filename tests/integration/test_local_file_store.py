"""LocalFileStore: the content-addressed file store on the local filesystem (no database)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

import pytest

from p2pdesk.infrastructure.storage import LocalFileStore
from p2pdesk.infrastructure.storage.local import CHUNK_SIZE
from p2pdesk.ports.mail import FileTooLarge


class TrickleStream(io.RawIOBase):
    """A stream that hands out at most `step` bytes per read, like a socket, and counts the reads."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step
        self._pos = 0
        self.largest_request = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.largest_request = max(self.largest_request, size)
        end = min(len(self._data), self._pos + min(self._step, size if size >= 0 else self._step))
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        return chunk


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_put_then_open_round_trip(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "store")
    data = os.urandom(300_000)
    stored = store.put(io.BytesIO(data))
    digest = hashlib.sha256(data).hexdigest()
    assert stored.sha256 == digest
    assert stored.size == len(data)
    assert stored.key == f"{digest[:2]}/{digest[2:4]}/{digest}"
    with store.open(stored.key) as fh:
        assert fh.read() == data
    assert files_under(tmp_path / "store") == [tmp_path / "store" / stored.key]


def test_reads_in_64_kib_chunks_and_handles_short_reads(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    data = os.urandom(200_000)
    stream = TrickleStream(data, step=1000)
    stored = store.put(stream)  # type: ignore[arg-type]
    assert stream.largest_request == CHUNK_SIZE == 64 * 1024
    assert stored.size == len(data)
    with store.open(stored.key) as fh:
        assert fh.read() == data


def test_empty_stream(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    stored = store.put(io.BytesIO(b""))
    assert (stored.size, stored.sha256) == (0, hashlib.sha256(b"").hexdigest())
    with store.open(stored.key) as fh:
        assert fh.read() == b""


def test_same_content_same_key_once_on_disk(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    first = store.put(io.BytesIO(b"invoice 4711"))
    second = store.put(io.BytesIO(b"invoice 4711"))
    other = store.put(io.BytesIO(b"invoice 4712"))
    assert first == second
    assert other.key != first.key
    assert len(files_under(tmp_path)) == 2


def test_too_large_raises_and_leaves_nothing_behind(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    with pytest.raises(FileTooLarge):
        store.put(io.BytesIO(b"x" * (CHUNK_SIZE * 3)), max_bytes=CHUNK_SIZE + 1)
    assert files_under(tmp_path) == []
    exactly = store.put(io.BytesIO(b"y" * 100), max_bytes=100)  # the limit itself is allowed
    assert exactly.size == 100
    with pytest.raises(FileTooLarge):
        store.put(io.BytesIO(b"y" * 101), max_bytes=100)
    assert files_under(tmp_path) == [tmp_path / exactly.key]


def test_a_failing_stream_leaves_nothing_behind(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            raise OSError("connection reset")

    store = LocalFileStore(tmp_path)
    with pytest.raises(OSError, match="connection reset"):
        store.put(Broken())  # type: ignore[arg-type]
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    "key",
    [
        "../outside",
        "../../etc/passwd",
        "/etc/passwd",
        "ab/cd/../../../secret",
        "ab/cd/" + "0" * 64 + "/../../..",
        "AB/CD/" + "A" * 64,
        "ab\\cd\\" + "a" * 64,
        "",
        "ab/cd/" + "a" * 64 + "\x00",
    ],
)
def test_keys_that_escape_or_are_not_keys_are_rejected(tmp_path: Path, key: str) -> None:
    store = LocalFileStore(tmp_path / "store")
    (tmp_path / "outside").write_bytes(b"secret")
    with pytest.raises(ValueError, match="key"):
        store.open(key)


def test_a_symlink_out_of_the_store_is_rejected(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "store")
    (tmp_path / "secret").write_bytes(b"secret")
    key = "ab/cd/" + "ab" * 32
    (tmp_path / "store" / "ab" / "cd").mkdir(parents=True)
    (tmp_path / "store" / key).symlink_to(tmp_path / "secret")
    with pytest.raises(ValueError, match="escapes"):
        store.open(key)


def test_unknown_key_is_file_not_found(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    with pytest.raises(FileNotFoundError):
        store.open("ab/cd/" + "ab" * 32)


def test_concurrent_puts_of_the_same_content(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    data = os.urandom(3 * CHUNK_SIZE + 17)
    threads = 16
    barrier = threading.Barrier(threads)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            stored = store.put(io.BytesIO(data))
            with store.open(stored.key) as fh:
                assert fh.read() == data  # never a partial file
            with lock:
                results.append(stored.key)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    assert len(results) == threads
    assert len(set(results)) == 1
    assert files_under(tmp_path) == [tmp_path / results[0]]  # one file, no temporary leftovers


def test_concurrent_puts_of_different_content(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    blobs = [os.urandom(CHUNK_SIZE + i) for i in range(12)]
    keys: dict[int, str] = {}

    def worker(index: int) -> None:
        keys[index] = store.put(io.BytesIO(blobs[index])).key

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(len(blobs))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    for index, blob in enumerate(blobs):
        with store.open(keys[index]) as fh:
            assert fh.read() == blob
    assert len(files_under(tmp_path)) == len(blobs)


def test_a_batch_keeps_its_files_aside_until_it_ends_then_puts_them_in_place(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    kept = store.put(io.BytesIO(b"already here"))
    with store.batch():
        first = store.put(io.BytesIO(b"invoice 4711"))
        again = store.put(io.BytesIO(b"invoice 4711"))
        known = store.put(io.BytesIO(b"already here"))
        with store.open(first.key) as fh:  # readable inside the batch ...
            assert fh.read() == b"invoice 4711"
        assert not (tmp_path / first.key).exists()  # ... but not in place before it is durable
        assert len(list((tmp_path / ".tmp").iterdir())) == 1  # the twin and the known one dropped
    assert (first, known) == (again, kept)
    assert files_under(tmp_path) == sorted([tmp_path / first.key, tmp_path / kept.key])
    with store.open(first.key) as fh:
        assert fh.read() == b"invoice 4711"


def test_a_batch_whose_block_fails_still_puts_its_files_in_place(tmp_path: Path) -> None:
    """The poller redoes a failed group message by message with the files the group stored."""
    store = LocalFileStore(tmp_path)
    stored = []

    def group() -> None:
        with store.batch():
            stored.append(store.put(io.BytesIO(b"raw message")))
            raise RuntimeError("group conflict")

    with pytest.raises(RuntimeError, match="group conflict"):
        group()
    assert files_under(tmp_path) == [tmp_path / stored[0].key]


def test_a_batch_whose_files_cannot_be_made_durable_puts_nothing_in_place_and_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalFileStore(tmp_path)

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    def group() -> None:
        with store.batch():
            store.put(io.BytesIO(b"raw message"))
            monkeypatch.setattr(os, "fsync", full_disk)  # the first one's fsync may be done already
            store.put(io.BytesIO(b"another one"))

    with pytest.raises(OSError, match="No space left"):
        group()
    assert files_under(tmp_path) == []
