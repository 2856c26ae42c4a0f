"""Dense retrieval over the real corpus: relevant passages first, exact offsets, filters."""

import datetime as dt
from pathlib import Path

import pytest

from qa_service.core.schema import Filters
from qa_service.services import Services
from tests import samples
from tests.conftest import INTERPOL_NEWS


@pytest.fixture
def loaded(services: Services) -> Services:
    services.ingestor.run([INTERPOL_NEWS])
    return services


def test_the_relevant_document_ranks_first(loaded: Services) -> None:
    passages = loaded.retriever.run("Who led the Moroccan delegation to the meeting in Lyon?", 5)
    assert passages[0].doc_id == "000_bacf7507a92bc4d7.txt"
    assert "Hammouchi" in passages[0].text
    scores = [passage.score for passage in passages]
    assert scores == sorted(scores, reverse=True) and len(passages) == 5
    assert -1.0 <= scores[-1] <= scores[0] <= 1.0


def test_passages_carry_exact_offsets_and_metadata(loaded: Services) -> None:
    for passage in loaded.retriever.run("cybercrime threats in the region", 8):
        text = (INTERPOL_NEWS / passage.doc_id).read_text(encoding="utf-8")
        assert text[passage.start : passage.end] == passage.text
        assert passage.chunk_id.startswith(passage.doc_id + "#")
        assert passage.metadata["doc_type"] == "txt"


def test_document_and_type_filters_apply_inside_the_search(loaded: Services) -> None:
    only = ("003_14515b7f1000e8c1.txt", "004_310e22f54dfcc9c5.txt")
    passages = loaded.retriever.run("Moroccan delegation", 10, Filters(doc_ids=only))
    assert passages and {passage.doc_id for passage in passages} <= set(only)
    assert loaded.retriever.run("Moroccan delegation", 5, Filters(doc_types=("pdf",))) == []


def test_group_filter_hides_documents_of_other_groups(loaded: Services, tmp_path: Path) -> None:
    restricted = tmp_path / "restricted"
    restricted.mkdir()
    (restricted / "operation.md").write_text(
        "# Operation Nightjar\n\nOperation Nightjar seized 40 kilograms of cocaine in Rotterdam.\n"
    )
    loaded.ingestor.run([restricted], groups=("narcotics",))
    question = "How much cocaine did Operation Nightjar seize?"

    def doc_ids(groups: tuple[str, ...] | None) -> set[str]:
        return {p.doc_id for p in loaded.retriever.run(question, 10, Filters(groups=groups))}

    assert "operation.md" in doc_ids(None)
    assert "operation.md" in doc_ids(("narcotics",))
    assert "operation.md" not in doc_ids(("cyber",)) and doc_ids(("cyber",))
    assert "operation.md" not in doc_ids(())


def test_date_filter(services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "dated"
    folder.mkdir()
    (folder / "operation.html").write_text(samples.HTML)
    (folder / "undated.md").write_text(samples.MARKDOWN)
    services.ingestor.run([folder])
    in_june = Filters(date_from=dt.date(2025, 6, 1), date_to=dt.date(2025, 6, 30))
    assert {p.doc_id for p in services.retriever.run("arrests", 5, in_june)} == {"operation.html"}
    later = Filters(date_from=dt.date(2025, 7, 1))
    assert services.retriever.run("arrests", 5, later) == []


def test_empty_store_and_empty_query(services: Services) -> None:
    assert services.retriever.run("anything", 5) == []
    with pytest.raises(ValueError, match="empty"):
        services.retriever.run("   ", 5)
