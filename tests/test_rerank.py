"""Reranking: the reply parser, a real cross-encoder read from a folder, the reranked window."""

from pathlib import Path

import pytest
from sentence_transformers import CrossEncoder

from qa_service.core.schema import Passage
from qa_service.embedders.base import minilm_model_path
from qa_service.retrieval.rerank import CrossEncoderReranker, RerankingRetriever, parse_ranking
from qa_service.services import Services
from tests.conftest import INTERPOL_NEWS


def test_a_ranking_reply_becomes_a_full_order() -> None:
    assert parse_ranking("3 > 1 > 2", 3) == [2, 0, 1]
    assert parse_ranking("[2] > [2] > [9] > [1]", 4) == [1, 0, 2, 3]
    assert parse_ranking("I cannot rank these.", 3) == [0, 1, 2]


@pytest.fixture(scope="module")
def cross_encoder_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real cross-encoder saved to a folder, as a user would provide one. None ships offline,
    so it is MiniLM with a fresh scoring head: its order is arbitrary but really computed."""
    folder = tmp_path_factory.mktemp("cross-encoder")
    CrossEncoder(str(minilm_model_path()), num_labels=1, device="cpu").save(str(folder))
    return folder


def passages(texts: list[str]) -> list[Passage]:
    return [
        Passage(f"d{n}#v#0", f"d{n}", None, text, 0, len(text), 1.0 - n / 10)
        for n, text in enumerate(texts)
    ]


def test_the_cross_encoder_orders_by_its_own_scores(cross_encoder_folder: Path) -> None:
    found = passages(["Lyon hosts the secretariat.", "The budget grew.", "It rained in Oslo."])
    reranker = CrossEncoderReranker(cross_encoder_folder)
    ranked = reranker.run("Where is the secretariat?", found, top_k=3)
    model = CrossEncoder(str(cross_encoder_folder), device="cpu")
    expected = model.predict([("Where is the secretariat?", p.text) for p in found])
    assert [p.score for p in ranked] == pytest.approx(sorted(map(float, expected), reverse=True))
    assert {p.chunk_id for p in ranked} == {p.chunk_id for p in found}
    assert reranker.run("Where is the secretariat?", found, top_k=1) == ranked[:1]
    assert reranker.run("Where?", [], top_k=3) == []


def test_a_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no cross-encoder model folder"):
        CrossEncoderReranker(tmp_path / "absent")


def test_only_the_window_is_reranked(services: Services, cross_encoder_folder: Path) -> None:
    services.ingestor.run([INTERPOL_NEWS])
    question = "Who led the Moroccan delegation?"
    plain = services.retriever.run(question, 12)
    reranking = RerankingRetriever(
        services.retriever, CrossEncoderReranker(cross_encoder_folder), window=4
    )
    reranked = reranking.run(question, 12)
    assert {p.chunk_id for p in reranked[:4]} == {p.chunk_id for p in plain[:4]}
    assert reranked[4:] == plain[4:]
    assert len(reranking.run(question, 2)) == 2
