"""Nothing reaches the network: the guard is real, and the offline resources are local."""

import hashlib
import os
import socket
from pathlib import Path

import pytest
import tiktoken
from pytest_socket import SocketConnectBlockedError

from qa_service.core.offline import install_tiktoken_encoding
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS

CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_the_network_guard_blocks_outside_addresses() -> None:
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 443), timeout=1)


def test_tiktoken_reads_the_verified_local_encoding(tmp_path: Path) -> None:
    cached = Path(os.environ["TIKTOKEN_CACHE_DIR"]).iterdir()
    assert CL100K_SHA256 in {hashlib.sha256(path.read_bytes()).hexdigest() for path in cached}
    assert len(tiktoken.get_encoding("cl100k_base").encode("INTERPOL headquarters")) > 1

    target = install_tiktoken_encoding("cl100k_base", tmp_path)
    target.write_bytes(b"tampered")
    repaired = install_tiktoken_encoding("cl100k_base", tmp_path)
    assert hashlib.sha256(repaired.read_bytes()).hexdigest() == CL100K_SHA256


def test_chroma_embeds_text_with_our_model_not_its_default(services: Services) -> None:
    services.ingestor.run([INTERPOL_NEWS])
    collection = services.store._collection
    question = "Where is INTERPOL's headquarters?"
    by_text = collection.query(query_texts=[question], n_results=3)
    by_vector = collection.query(query_embeddings=services.embedder.embed([question]), n_results=3)
    assert by_text["ids"] == by_vector["ids"]
    assert by_text["distances"][0] == pytest.approx(by_vector["distances"][0], abs=1e-5)
    assert collection._client.get_settings().anonymized_telemetry is False
