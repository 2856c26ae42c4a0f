"""The same ingest and retrieval against a real ``chroma run`` server on a loopback port."""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qa_service.core.config import Settings
from qa_service.core.embedder import Embedder
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI comes with the chromadb package"
    server = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else "exited"
            assert time.monotonic() < deadline, "chroma run did not start within 60 s"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_ingest_and_retrieve_through_a_chroma_server(
    chroma_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "local", chroma_url=chroma_url)
    services = Services(settings)
    services.embedder = embedder

    first = services.ingestor.run([INTERPOL_NEWS])
    assert len(first.added) == 5 and first.ok
    assert not (tmp_path / "local" / "chroma").exists()  # nothing went to the embedded store

    # A second client (as a second worker would be) sees the same state and skips everything.
    other = Services(settings)
    other.embedder = embedder
    assert len(other.ingestor.run([INTERPOL_NEWS]).skipped) == 5
    passages = other.retriever.run("Who chaired the Moroccan delegation?", 3)
    assert passages[0].doc_id == "000_bacf7507a92bc4d7.txt"
    text = (INTERPOL_NEWS / passages[0].doc_id).read_text(encoding="utf-8")
    assert text[passages[0].start : passages[0].end] == passages[0].text

    assert other.store.delete_document("000_bacf7507a92bc4d7.txt") == 3
    remaining = [d.doc_id for d in services.store.list_documents()]
    assert remaining == sorted(p.name for p in INTERPOL_NEWS.glob("*.txt"))[1:]
