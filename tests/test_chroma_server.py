"""The same ingest and retrieval against a real ``chroma run`` server on a loopback port."""

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.core.config import Settings
from qa_service.embedders.base import Embedder
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS
from tests.servers import free_port, running_server


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI comes with the chromadb package"
    command = [chroma, "run", "--path", str(tmp_path / "server")]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with running_server(command, f"{url}/api/v2/heartbeat", tmp_path / "chroma.log", environment):
        yield url


def test_ingest_and_retrieve_through_a_chroma_server(
    chroma_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "local", chroma_url=chroma_url)
    services = Services(settings, embedder=embedder)

    first = services.ingestor.run([INTERPOL_NEWS])
    assert len(first.added) == 5 and first.ok
    assert not (tmp_path / "local" / "chroma").exists()  # nothing went to the embedded store

    # A second client (as a second worker would be) sees the same state and skips everything.
    other = Services(settings, embedder=embedder)
    assert len(other.ingestor.run([INTERPOL_NEWS]).skipped) == 5
    passages = other.retriever.run("Who chaired the Moroccan delegation?", 3)
    assert passages[0].doc_id == "000_bacf7507a92bc4d7.txt"
    text = (INTERPOL_NEWS / passages[0].doc_id).read_text(encoding="utf-8")
    assert text[passages[0].start : passages[0].end] == passages[0].text

    assert other.store.delete_document("000_bacf7507a92bc4d7.txt") == 3
    remaining = [d.doc_id for d in services.store.list_documents()]
    assert remaining == sorted(p.name for p in INTERPOL_NEWS.glob("*.txt"))[1:]
