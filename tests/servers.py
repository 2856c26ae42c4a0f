"""Real servers started by tests on free loopback ports, and stopped after them."""

import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

from qa_service.stores.chroma_host import stop_process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(
    command: list[str],
    health_url: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``, wait until ``health_url`` answers 200, stop it on exit."""
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(health_url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log_path.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, f"{command[0]} did not start in {timeout} s"
            time.sleep(0.2)
        yield server
    finally:
        stop_process(server, grace_seconds=10)


@contextmanager
def serving(app: ASGIApp, timeout: float = 30) -> Iterator[str]:
    """``app`` served by a real uvicorn in a thread of this process (so a test can hand it
    stand-ins), on a free loopback port; yields the base URL, stops the server on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
