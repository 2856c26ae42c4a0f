"""File helpers shared by the parts that build files once and reuse them (the ONNX export, the
assembled model file) and write results others read: a streamed sha256, an exclusive lock
between processes, an atomic write.
"""

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

_READ = 8 * 1024 * 1024  # bytes read at a time: a multi-GB model never sits in memory whole


def sha256_file(path: Path) -> str:
    """The hex sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_READ):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Held by one process at a time; the others wait for it."""
    # The lock file stays: deleting it would let a third process lock a different inode.
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds either its old bytes or ``data``, never a part of them."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(data)
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)
