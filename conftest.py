"""Fixtures for every test pytest collects: the suite in ``tests/`` and the docstring examples
of ``qa_service``, ``ingest`` and ``eval`` (``--doctest-modules``)."""

import pytest

from qa_service.core.offline import enforce_offline


@pytest.fixture(scope="session", autouse=True)
def offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nothing loads from a hub: the models and tiktoken's encodings come from packages."""
    enforce_offline(tmp_path_factory.mktemp("cache"))
