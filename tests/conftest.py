"""Shared fixtures. pytest runs with sockets disabled except loopback (see pyproject.toml)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.core.config import Settings
from qa_service.embedders.base import Embedder
from qa_service.embedders.sentence_transformer import SentenceTransformerEmbedder
from qa_service.services import Services
from tests.postgres import new_database, running_postgres

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
INTERPOL_NEWS = SHARED / "corpus" / "interpol-news"


def environment_without_settings() -> dict[str, str]:
    """This process's environment without any ``QA_`` setting: what a ``qa`` command or a
    server started by a test inherits, so that the developer's own settings never leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("QA_")}


# Where TestClient's requests come from: the service's own machine, which it answers without an
# API key when it has no keys file (TestClient's default, "testclient", is no address).
ON_THIS_MACHINE = ("127.0.0.1", 50000)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole session."""
    return SentenceTransformerEmbedder()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("QA_CHROMA_URL", raising=False)
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "data"))
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def services(settings: Settings, embedder: Embedder) -> Iterator[Services]:
    """Services over a fresh embedded store, sharing the session's model."""
    yield Services(settings, embedder=embedder)


@pytest.fixture
def extractive(settings: Settings, embedder: Embedder) -> Services:
    """Services that answer without a language model (``QA_LLM=extractive``)."""
    return Services(settings.model_copy(update={"llm": "extractive"}), embedder=embedder)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server for the session (``tests/postgres.py``); its admin URL."""
    with running_postgres() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty PostgreSQL database for one test."""
    return new_database(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The service's database on each backend: a SQLite file, and a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
