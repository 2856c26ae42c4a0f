"""Retrieval over the real corpus (dense, keyword and hybrid): relevant passages first, exact
offsets, filters inside every search, the keyword index in step with Chroma."""

import datetime as dt
import itertools
from pathlib import Path

import pytest

from qa_service.core.schema import Filters, Passage
from qa_service.retrieval.base import Retriever, relevance
from qa_service.retrieval.factory import build_retriever
from qa_service.retrieval.hybrid import HybridRetriever
from qa_service.retrieval.select import PassageSelector
from qa_service.services import Services
from tests import samples
from tests.conftest import INTERPOL_NEWS


@pytest.fixture
def loaded(services: Services) -> Services:
    services.ingestor.run([INTERPOL_NEWS])
    return services


KINDS = ["hybrid", "dense", "keyword"]


def retriever(services: Services, kind: str) -> Retriever:
    return build_retriever(services.settings, services.store, services.embedder, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_the_relevant_document_ranks_first(loaded: Services, kind: str) -> None:
    question = "Who led the Moroccan delegation to the meeting in Lyon?"
    passages = retriever(loaded, kind).run(question, 5)
    assert passages[0].doc_id == "000_bacf7507a92bc4d7.txt"
    assert "Hammouchi" in passages[0].text
    scores = [passage.score for passage in passages]
    assert scores == sorted(scores, reverse=True) and len(passages) == 5


def test_hybrid_passages_carry_both_scores(loaded: Services) -> None:
    passages = loaded.retriever.run("Who led the Moroccan delegation to the meeting in Lyon?", 5)
    assert isinstance(loaded.retriever, HybridRetriever)
    for passage in passages:
        assert passage.dense_score is not None and -1.0 <= passage.dense_score <= 1.0
        assert passage.keyword_score is not None and passage.keyword_score >= 0.0
    assert relevance(passages) == max(p.dense_score or 0.0 for p in passages)


@pytest.mark.parametrize("kind", KINDS)
def test_passages_carry_exact_offsets_and_metadata(loaded: Services, kind: str) -> None:
    for passage in retriever(loaded, kind).run("cybercrime threats in the region", 8):
        text = (INTERPOL_NEWS / passage.doc_id).read_text(encoding="utf-8")
        assert text[passage.start : passage.end] == passage.text
        assert passage.chunk_id.startswith(passage.doc_id + "#")
        assert passage.metadata["doc_type"] == "txt"


@pytest.mark.parametrize("kind", KINDS)
def test_document_and_type_filters_apply_inside_the_search(loaded: Services, kind: str) -> None:
    only = ("003_14515b7f1000e8c1.txt", "004_310e22f54dfcc9c5.txt")
    search = retriever(loaded, kind)
    passages = search.run("Moroccan delegation", 10, Filters(doc_ids=only))
    assert passages and {passage.doc_id for passage in passages} <= set(only)
    assert search.run("Moroccan delegation", 5, Filters(doc_types=("pdf",))) == []


@pytest.mark.parametrize("kind", KINDS)
def test_group_filter_hides_documents_of_other_groups(
    loaded: Services, tmp_path: Path, kind: str
) -> None:
    restricted = tmp_path / "restricted"
    restricted.mkdir()
    (restricted / "operation.md").write_text(
        "# Operation Nightjar\n\nOperation Nightjar seized 40 kilograms of cocaine in Rotterdam.\n"
    )
    loaded.ingestor.run([restricted], groups=("narcotics",))
    question = "How much cocaine did Operation Nightjar seize?"

    def doc_ids(groups: tuple[str, ...] | None) -> set[str]:
        search = retriever(loaded, kind)
        return {p.doc_id for p in search.run(question, 10, Filters(groups=groups))}

    assert "operation.md" in doc_ids(None)
    assert "operation.md" in doc_ids(("narcotics",))
    assert "operation.md" not in doc_ids(("cyber",)) and doc_ids(("cyber",))
    assert "operation.md" not in doc_ids(())


@pytest.mark.parametrize("kind", KINDS)
def test_date_filter(services: Services, tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "dated"
    folder.mkdir()
    (folder / "operation.html").write_text(samples.HTML)
    (folder / "undated.md").write_text(samples.MARKDOWN)
    services.ingestor.run([folder])
    in_june = Filters(date_from=dt.date(2025, 6, 1), date_to=dt.date(2025, 6, 30))
    search = retriever(services, kind)
    assert {p.doc_id for p in search.run("arrests", 5, in_june)} == {"operation.html"}
    later = Filters(date_from=dt.date(2025, 7, 1))
    assert search.run("arrests", 5, later) == []


@pytest.mark.parametrize("kind", KINDS)
def test_empty_store_and_empty_query(services: Services, kind: str) -> None:
    search = retriever(services, kind)
    assert search.run("anything", 5) == []
    with pytest.raises(ValueError, match="empty"):
        search.run("   ", 5)


def chroma_ids(services: Services) -> set[str]:
    return set(services.store._collection.get(include=[])["ids"])


def test_keyword_index_follows_every_write_and_delete(loaded: Services, tmp_path: Path) -> None:
    keyword = loaded.store.keyword
    assert keyword is not None and keyword.chunk_ids() == chroma_ids(loaded)
    folder = tmp_path / "notes"
    folder.mkdir()
    note = folder / "note.md"
    note.write_text("# Note\n\nThe quartermaster ordered new radios.\n")
    loaded.ingestor.run([folder])
    assert loaded.retriever.run("quartermaster radios", 1)[0].doc_id == "note.md"
    note.write_text("# Note\n\nThe harbourmaster ordered new boats.\n")
    loaded.ingestor.run([folder])
    assert keyword.chunk_ids() == chroma_ids(loaded)
    assert keyword.search("quartermaster", 5) == []
    assert keyword.search("harbourmaster", 5)[0].chunk_id.startswith("note.md#")
    loaded.store.delete_document("note.md")
    assert keyword.chunk_ids() == chroma_ids(loaded)
    assert keyword.search("harbourmaster", 5) == []


def test_a_lost_keyword_index_is_rebuilt_from_chroma(loaded: Services) -> None:
    keyword = loaded.store.keyword
    assert keyword is not None
    keyword.delete_chunks(keyword.chunk_ids())
    passages = retriever(loaded, "keyword").run("Hammouchi Moroccan delegation", 3)
    assert passages[0].doc_id == "000_bacf7507a92bc4d7.txt"
    assert keyword.chunk_ids() == chroma_ids(loaded)


def test_a_crash_between_the_two_writes_is_caught_up_by_the_next_ingest(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    note = folder / "note.md"
    note.write_text("# Note\n\nThe quartermaster ordered new radios.\n")
    services.ingestor.run([folder])
    note.write_text("# Note\n\nThe harbourmaster ordered new boats.\n")
    keyword = services.store.keyword
    assert keyword is not None

    def power_cut(*args: object) -> None:
        raise KeyboardInterrupt

    # Cut off once Chroma holds only the new version, before the keyword index drops the old:
    # only a reconciliation by chunk id can see it.
    with monkeypatch.context() as patch:
        patch.setattr(keyword, "keep_versions", power_cut)
        assert services.ingestor.run([folder]).interrupted
    assert keyword.search("quartermaster", 5) and keyword.chunk_ids() != chroma_ids(services)
    report = services.ingestor.run([folder])
    assert report.ok and report.skipped == ["note.md"]
    assert keyword.chunk_ids() == chroma_ids(services)
    assert keyword.search("quartermaster", 5) == [] and keyword.search("harbourmaster", 5)


def test_hybrid_finds_what_only_one_search_finds(loaded: Services, tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "case.md").write_text(
        "# Case file\n\nFile QX7731 concerns an excavator stolen from a building site.\n"
    )
    loaded.ingestor.run([folder])
    hybrid = loaded.retriever
    assert isinstance(hybrid, HybridRetriever)
    # A bare reference number means little to the embedder; BM25 matches it exactly.
    assert hybrid.run("QX7731", 3)[0].doc_id == "case.md"
    pool = hybrid.candidate_pool("QX7731", 5, None)
    found = next(passage for passage in pool if passage.doc_id == "case.md")
    vector = loaded.embedder.embed(["QX7731"])[0]
    chunk = loaded.embedder.embed([found.text])[0]
    assert found.keyword_score and found.keyword_score > 0
    assert found.dense_score == pytest.approx(float(chunk @ vector), abs=1e-4)
    # No shared word: only the embedding connects the question to the passage.
    assert "case.md" in {p.doc_id for p in hybrid.run("theft of heavy construction machinery", 5)}


def test_passages_are_merged_capped_and_not_repeated(services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    sentences = [
        f"Patrol {n} on the river checked {n + 3} barges for smuggled fuel near lock {n}."
        for n in range(60)
    ]
    (folder / "river.txt").write_text("River patrols\n" + " ".join(sentences) + "\n")
    twin = "Fuel smuggling on barges\nSmugglers hide fuel in the ballast tanks of river barges.\n"
    (folder / "barges-a.txt").write_text(twin)
    (folder / "barges-b.txt").write_text(twin)
    services.ingestor.run([folder])
    passages = services.retriever.run("river patrols checking barges for smuggled fuel", 5)
    by_document: dict[str, list[Passage]] = {}
    for passage in passages:
        by_document.setdefault(passage.doc_id, []).append(passage)
        text = (folder / passage.doc_id).read_text(encoding="utf-8")
        assert text[passage.start : passage.end] == passage.text
    assert len(by_document["river.txt"]) <= services.settings.max_passages_per_document
    river = sorted(by_document["river.txt"], key=lambda passage: passage.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(river))
    assert len({"barges-a.txt", "barges-b.txt"} & by_document.keys()) == 1


def test_overlapping_chunks_merge_into_the_documents_own_text() -> None:
    text = "abcdefghijklmnopqrstuvwxyz"

    def chunk(start: int, end: int, score: float) -> Passage:
        return Passage(f"d#v#{start}", "d", None, text[start:end], start, end, score)

    merged = PassageSelector(3, 0.9).run(
        [chunk(5, 15, 0.9), chunk(10, 20, 0.8), chunk(0, 4, 0.7)], 5
    )
    assert [(p.start, p.end, p.text) for p in merged] == [(5, 20, text[5:20]), (0, 4, text[0:4])]
    assert merged[0].score == 0.9


def test_merged_chunks_use_the_places_of_the_chunks_they_join() -> None:
    text = "abcdefghijklmnopqrstuvwxyz"

    def chunk(doc: str, start: int, end: int, score: float) -> Passage:
        return Passage(f"{doc}#v#{start}", doc, None, text[start:end], start, end, score)

    ranked = [
        chunk("a", 0, 10, 0.9),
        chunk("a", 6, 9, 0.85),  # inside the first: nothing new to read, no place used
        chunk("a", 8, 18, 0.8),
        chunk("a", 16, 26, 0.75),  # a third chunk of "a": past its two places
        chunk("b", 0, 10, 0.7),
        chunk("c", 10, 20, 0.65),
        chunk("d", 20, 26, 0.6),  # the places are used up
    ]
    chosen = PassageSelector(2, 0.9).run(ranked, 4)
    assert [(p.doc_id, p.start, p.end) for p in chosen] == [
        ("a", 0, 18),
        ("b", 0, 10),
        ("c", 10, 20),
    ]
