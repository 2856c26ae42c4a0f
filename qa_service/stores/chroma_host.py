"""Which process opens the data folder's Chroma store, so that every process sees every write.

Chroma's embedded client keeps its vector index in its own memory: it never sees what another
process writes (a server left answering from a stale index got "Error finding id" on every
question that reached a document ``qa ingest`` had just replaced), and two processes writing
one folder can lose each other's writes. So the folder has one owner at a time, under an
exclusive lock (``chroma.lock``):

- ``qa serve`` (``serving_store``) takes the lock and runs Chroma's own server, ``chroma run``,
  over the folder on a free loopback port, published in ``chroma-server.json``. The API and
  every other ``qa`` process on this data folder (an ingest, a delete, a second ``qa serve``)
  reach the store through that one server.
- Any other process that finds no published server opens the folder embedded and holds the lock
  until it exits; a ``qa serve`` or another ingest starting meanwhile waits for it.

With ``QA_CHROMA_URL`` none of this applies: that server is the store, shared by everyone.
"""

import contextlib
import ctypes
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from qa_service.core.config import Settings
from qa_service.core.files import write_atomically

log = logging.getLogger(__name__)

SERVER_FILE = "chroma-server.json"
LOCK_FILE = "chroma.lock"
# How long `chroma run` may take to answer its heartbeat (about 1-2 s here).
SERVER_START_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1


class StoreBusyError(RuntimeError):
    """The data folder's store is held by another process for longer than we may wait."""


class ChromaServerError(RuntimeError):
    """``chroma run`` could not be started over the data folder."""


@dataclass(frozen=True)
class PublishedServer:
    url: str
    pid: int


class _HeldLocks:
    """The store locks this process holds, by folder: flock is per open file, so a second
    ``open`` in the same process would wait for itself. In one process every embedded client
    of a folder is the same Chroma instance, so holding the lock once covers them all."""

    def __init__(self) -> None:
        self._files: dict[Path, IO[str]] = {}
        self._guard = threading.Lock()

    def holds(self, folder: Path) -> bool:
        return folder.resolve() in self._files

    def fileno(self, folder: Path) -> int:
        return self._files[folder.resolve()].fileno()

    def try_acquire(self, folder: Path, role: str) -> bool:
        key = folder.resolve()
        with self._guard:
            if key in self._files:
                return True
            folder.mkdir(parents=True, exist_ok=True)
            file = (folder / LOCK_FILE).open("a+", encoding="utf-8")
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.close()
                return False
            file.seek(0)
            file.truncate()
            file.write(json.dumps({"pid": os.getpid(), "role": role}))
            file.flush()
            self._files[key] = file
            return True

    def release(self, folder: Path) -> None:
        with self._guard:
            file = self._files.pop(folder.resolve(), None)
            if file is not None:
                file.close()


_held = _HeldLocks()


def holder(folder: Path) -> str:
    """Who holds the folder's lock, for a message: ``"qa ingest (pid 123)"``."""
    try:
        owner = json.loads((folder / LOCK_FILE).read_text(encoding="utf-8"))
        return f"{owner['role']} (pid {owner['pid']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def published_server(folder: Path) -> PublishedServer | None:
    """The ``chroma run`` that a ``qa serve`` runs over ``folder``, if it is alive and answers."""
    try:
        found = json.loads((folder / SERVER_FILE).read_text(encoding="utf-8"))
        server = PublishedServer(str(found["url"]), int(found["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(server.pid, 0)
        answered = httpx.get(f"{server.url}/api/v2/heartbeat", timeout=2).status_code == 200
    except (OSError, httpx.HTTPError):
        return None
    return server if answered else None


def open_embedded_or_published(settings: Settings, role: str) -> str | None:
    """The URL of the data folder's published server, or ``None`` once this process may open
    the folder embedded (it then holds the lock until it exits). Waits while another process
    has the folder open embedded, up to ``settings.store_wait_seconds``."""
    folder = settings.chroma_dir
    deadline = time.monotonic() + settings.store_wait_seconds
    told = False
    while True:
        if _held.holds(folder):
            return None
        server = published_server(folder)
        if server is not None:
            return server.url
        if _held.try_acquire(folder, role):
            # A server may have been published while we took the lock: its owner has gone.
            with contextlib.suppress(FileNotFoundError):
                (folder / SERVER_FILE).unlink()
            return None
        if time.monotonic() > deadline:
            raise StoreBusyError(
                f"the store in {folder} is in use by {holder(folder)}; try again when it is done"
            )
        if not told:
            log.warning("the store in %s is in use by %s: waiting", folder, holder(folder))
            told = True
        time.sleep(0.25)


@contextlib.contextmanager
def serving_store(settings: Settings, role: str = "qa serve") -> Iterator[Settings]:
    """Settings whose store every process can share while the block runs.

    With ``QA_CHROMA_URL``, or a server another ``qa serve`` publishes, they are unchanged (or
    point there). Otherwise this process takes the folder, runs ``chroma run`` over it on a
    free loopback port, publishes it for the others and stops it at the end.
    """
    if settings.chroma_url:
        yield settings
        return
    url = open_embedded_or_published(settings, role)
    if url is not None:
        yield settings.model_copy(update={"chroma_url": url})
        return
    folder = settings.chroma_dir
    server, url = _start_server(settings)
    published = folder / SERVER_FILE
    try:
        write_atomically(published, json.dumps({"url": url, "pid": server.pid}).encode())
        yield settings.model_copy(update={"chroma_url": url})
    finally:
        with contextlib.suppress(FileNotFoundError):
            published.unlink()
        stop_process(server, grace_seconds=20)
        _held.release(folder)


def stop_process(process: subprocess.Popen[bytes], grace_seconds: float) -> None:
    """SIGTERM, then SIGKILL if ``process`` has not exited within ``grace_seconds``."""
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _start_server(settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    folder = settings.chroma_dir
    executable = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which(
        "chroma"
    )
    if executable is None:
        raise ChromaServerError("the chroma command (from the chromadb package) is not installed")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [executable, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)]
    with (settings.data_dir / "chroma-server.log").open("ab") as log_file:
        server = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            # The server holds the folder's lock too, so that no one opens the folder embedded
            # while it still runs, and it dies with us, so that the lock does not outlive us.
            pass_fds=(_held.fileno(folder),),
            preexec_fn=_die_with_parent,
        )
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            server.wait()
            _held.release(folder)
            raise ChromaServerError(
                f"Chroma's server did not start over {folder}; see "
                f"{settings.data_dir / 'chroma-server.log'}"
            )
        time.sleep(0.1)


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child when the process that started it dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
