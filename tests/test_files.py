"""The file helpers shared by the model files, the ONNX export and the eval results."""

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from qa_service.core.files import exclusive, sha256_file, write_atomically


def test_sha256_of_a_file_larger_than_one_read(tmp_path: Path) -> None:
    data = os.urandom(9 * 1024 * 1024)  # more than one 8 MiB read
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("old", encoding="utf-8")
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_atomic_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("old", encoding="utf-8")
    blocked = tmp_path / "in-the-way"
    blocked.mkdir()
    (blocked / "child").touch()  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError):
        write_atomically(blocked, b"new")
    assert path.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in-the-way", "results.json"]


def test_exclusive_lets_one_holder_in_at_a_time(tmp_path: Path) -> None:
    lock = tmp_path / "model.lock"
    inside: list[int] = []
    overlaps: list[int] = []

    def hold(n: int) -> None:
        # flock locks belong to open files, so threads with their own handle exclude each other
        # just as processes do.
        with exclusive(lock):
            if inside:
                overlaps.append(n)
            inside.append(n)
            time.sleep(0.05)
            inside.remove(n)

    threads = [threading.Thread(target=hold, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert lock.exists(), "the lock file stays for the next holder"
