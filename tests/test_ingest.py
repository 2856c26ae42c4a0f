"""Ingest into a real embedded Chroma with the real MiniLM model."""

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor, IngestReport, discover
from qa_service.core.schema import Chunk, DocumentInfo
from qa_service.embedders.base import Embedder, Vectors
from qa_service.services import Services
from qa_service.stores.chroma import ChromaChunkStore
from tests import samples
from tests.conftest import INTERPOL_NEWS


def chunk_records(services: Services) -> dict[str, dict[str, object]]:
    found = services.store._collection.get(include=["metadatas", "documents"])
    return {
        record_id: {**metadata, "text": text}
        for record_id, metadata, text in zip(
            found["ids"], found["metadatas"], found["documents"], strict=True
        )
    }


def test_interpol_news_is_ingested_once_then_skipped(services: Services) -> None:
    first = services.ingestor.run([INTERPOL_NEWS])
    assert sorted(first.added) == sorted(path.name for path in INTERPOL_NEWS.glob("*.txt"))
    assert len(first.added) == 5 and first.ok and first.chunks_written == services.store.count()
    before = chunk_records(services)

    second = services.ingestor.run([INTERPOL_NEWS])
    assert len(second.skipped) == 5 and not second.added and second.chunks_written == 0
    assert chunk_records(services) == before


def test_stored_chunks_quote_their_document_exactly(services: Services) -> None:
    services.ingestor.run([INTERPOL_NEWS])
    for record in chunk_records(services).values():
        text = (INTERPOL_NEWS / str(record["doc_id"])).read_text(encoding="utf-8")
        assert text[int(str(record["start"])) : int(str(record["end"]))] == record["text"]
    # A cited passage's whole document is put back together from its chunks.
    passage = services.store.fetch([next(iter(chunk_records(services)))])[0]
    whole = services.store.document_text(passage)
    text = (INTERPOL_NEWS / passage.doc_id).read_text(encoding="utf-8")
    assert whole.split() == text.split() and whole[passage.start : passage.end] == passage.text
    titles = {document.doc_id: document.title for document in services.store.list_documents()}
    assert titles["001_833621d1c7e724e7.txt"] == (
        "Interpol chief hails cooperation with MENA security services"
    )


def test_bad_files_are_reported_and_the_rest_ingested(services: Services, tmp_path: Path) -> None:
    samples.write_mixed_folder(tmp_path / "mixed")
    report = services.ingestor.run([tmp_path / "mixed"])
    assert sorted(report.added) == [
        "calendar.docx", "legacy.txt", "notes/roster.md", "operation.html", "report.pdf",
    ]  # fmt: skip
    assert set(report.failed) == {"broken.pdf", "image.txt", "empty.md", "blank.txt", "locked.pdf"}
    assert "binary" in report.failed["image.txt"] and "encrypted" in report.failed["locked.pdf"]
    assert report.ignored == 1 and not report.ok
    pdf = next(d for d in services.store.list_documents() if d.doc_id == "report.pdf")
    assert pdf.doc_type == "pdf" and pdf.title == "Liaison office report"


def test_a_hostile_folder_fails_file_by_file_and_loses_nothing(
    services: Services, tmp_path: Path
) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "memo.md").write_text("# Memo\n\nIngested before the hostile folder.\n")
    services.ingestor.run([kept])
    good, bad = samples.write_bad_folder(tmp_path / "bad")

    report = services.ingestor.run([tmp_path / "bad"])
    assert sorted(report.added) == sorted(good)
    assert report.failed.keys() == bad.keys()
    for doc_id, reason in report.failed.items():
        assert reason.startswith(bad[doc_id]), (doc_id, reason)
        assert str(tmp_path) not in reason and "Traceback" not in reason
    assert {d.doc_id for d in services.store.list_documents()} == {*good, "memo.md"}


def test_a_changed_file_is_replaced_without_stale_chunks(
    services: Services, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(INTERPOL_NEWS, corpus)
    services.ingestor.run([corpus])
    changed = corpus / "000_bacf7507a92bc4d7.txt"
    changed.write_text("A short replacement text about the Lyon meeting.", encoding="utf-8")

    report = services.ingestor.run([corpus])
    assert report.updated == ["000_bacf7507a92bc4d7.txt"] and len(report.skipped) == 4
    records = [r for r in chunk_records(services).values() if r["doc_id"] == changed.name]
    assert [r["text"] for r in records] == ["A short replacement text about the Lyon meeting."]
    assert services.store.complete_versions()[changed.name] == records[0]["version"]


def test_prune_removes_documents_whose_files_are_gone(services: Services, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(INTERPOL_NEWS, corpus)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "memo.md").write_text("# Memo\n\nKept: not under the pruned PATH.\n")
    services.ingestor.run([corpus, elsewhere])
    (corpus / "004_310e22f54dfcc9c5.txt").unlink()

    assert services.ingestor.run([corpus]).deleted == []
    report = services.ingestor.run([corpus], prune=True)
    assert report.deleted == ["004_310e22f54dfcc9c5.txt"]
    remaining = {document.doc_id for document in services.store.list_documents()}
    assert "004_310e22f54dfcc9c5.txt" not in remaining and "memo.md" in remaining
    assert {r["doc_id"] for r in chunk_records(services).values()} == remaining


def test_new_groups_reingest_and_are_stored(services: Services) -> None:
    services.ingestor.run([INTERPOL_NEWS])
    report = services.ingestor.run([INTERPOL_NEWS], groups=("analysts", "cyber"))
    assert len(report.updated) == 5
    assert {d.groups for d in services.store.list_documents()} == {("analysts", "cyber")}


def test_problem_paths_are_failures_not_crashes(services: Services, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for folder in (first, second):
        folder.mkdir()
        (folder / "same.md").write_text(f"# Same name\n\nIn {folder.name}.\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("Outside the corpus.")
    (first / "link.txt").symlink_to(outside)

    report = services.ingestor.run([first, second, tmp_path / "missing"])
    assert report.added == ["same.md"]
    assert report.failed["link.txt"] == "a link to a file outside PATH"
    assert "also found under" in report.failed[f"{second}/same.md"]
    assert report.failed[str(tmp_path / "missing")] == "no such file or directory"


def test_a_link_is_named_by_itself_and_read_through(tmp_path: Path) -> None:
    target = tmp_path / "archive" / "2019-minutes-final-v3.md"
    target.parent.mkdir()
    target.write_text("# Minutes\n\nThe board met in Lyon.\n")
    (tmp_path / "minutes.md").symlink_to(target)
    corpus = tmp_path / "corpus"
    (corpus / "notes").mkdir(parents=True)
    (corpus / "roster.md").write_text(samples.MARKDOWN)
    (corpus / "notes" / "current.md").symlink_to(corpus / "roster.md")

    report = IngestReport()
    sources = discover([tmp_path / "minutes.md", corpus], report)
    assert {source.doc_id: source.read(2**20) for source in sources} == {
        "minutes.md": target.read_bytes(),
        "notes/current.md": samples.MARKDOWN.encode(),
        "roster.md": samples.MARKDOWN.encode(),
    }
    assert not report.failed


def test_a_path_that_is_not_utf8_is_refused_and_the_rest_ingested(
    services: Services, tmp_path: Path
) -> None:
    # The file system hands such names over with surrogate escapes, which no store can keep.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / os.fsdecode(b"caf\xe9.txt")).write_text("Minutes of the cafe meeting.")
    (corpus / "plain.txt").write_text("Minutes of the plain meeting.")
    folder = tmp_path / os.fsdecode(b"d\xfcsseldorf")
    folder.mkdir()
    (folder / "memo.txt").write_text("A memo from the regional office.")

    report = services.ingestor.run([corpus, folder, folder / "memo.txt"])
    assert report.added == ["plain.txt"]
    assert report.failed == {
        "caf\\xe9.txt": "file name is not valid UTF-8: rename the file",
        f"{tmp_path}/d\\xfcsseldorf": "path is not valid UTF-8: rename its folders",
        f"{tmp_path}/d\\xfcsseldorf/memo.txt": "path is not valid UTF-8: rename its folders",
    }


class _InterruptedStore(ChromaChunkStore):
    """The real store, cut off (as by Ctrl-C) after ``budget`` batches reach Chroma."""

    budget = 0

    def _upsert(self, *args: object, **kwargs: object) -> None:
        if self.budget == 0:
            raise KeyboardInterrupt
        self.budget -= 1
        super()._upsert(*args, **kwargs)  # type: ignore[arg-type]


def test_an_interrupted_run_is_finished_by_the_next(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(INTERPOL_NEWS, corpus)
    services.ingestor.run([corpus])
    reference = {k: v["version"] for k, v in chunk_records(services).items()}
    changed = sorted(corpus.glob("*.txt"))[:3]
    for path in changed:
        path.write_text(path.read_text() + "\nAn added closing paragraph.\n" * 30)

    # One chunk a batch (one upsert each), cut off after the first chunk of the second changed
    # document.
    services.ingestor.embed_batch = 1
    first_chunks = len(services.splitter.run(changed[0].name, changed[0].read_text()))
    services.store.__class__ = _InterruptedStore
    services.store.budget = first_chunks + 1  # type: ignore[attr-defined]
    interrupted: IngestReport = services.ingestor.run([corpus])
    assert interrupted.interrupted and not interrupted.ok
    assert interrupted.updated == [changed[0].name]
    half_done = services.store.complete_versions()
    assert half_done[changed[1].name] is None  # its old and new chunks side by side
    assert (
        half_done[changed[2].name]
        == reference[next(k for k in reference if k.startswith(changed[2].name))]
    )
    still_old = {
        k for k, v in chunk_records(services).items() if v["version"] in reference.values()
    }
    assert {k for k in reference if not k.startswith(changed[0].name)} <= still_old

    services.store.__class__ = ChromaChunkStore
    finished = services.ingestor.run([corpus])
    assert finished.ok and finished.updated == [path.name for path in changed[1:]]

    fresh = Services(services.settings, "fresh-reference", embedder=services.embedder)
    fresh.ingestor.run([corpus])
    assert set(chunk_records(services)) == set(chunk_records(fresh))
    assert all(version is not None for version in services.store.complete_versions().values())


class _RecordingEmbedder(Embedder):
    """The real embedder, noting how many texts each call embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(len(texts))
        return self.inner.embed(texts)


@dataclass
class _Progress:
    batches: list[tuple[str, int, int]] = field(default_factory=list)
    advanced: list[tuple[str, str]] = field(default_factory=list)

    def start(self, total: int) -> None:
        pass

    def advance(self, doc_id: str, outcome: str) -> None:
        self.advanced.append((doc_id, outcome))

    def written(self, doc_id: str, chunks: int, total: int) -> None:
        self.batches.append((doc_id, chunks, total))


def test_a_big_document_is_embedded_and_written_a_batch_at_a_time(
    services: Services, tmp_path: Path
) -> None:
    # Before, a document's chunks were embedded in one call and written only at its end: a
    # 50 MB text reached 2.4 GB with nothing written after 170 s.
    folder = tmp_path / "big"
    folder.mkdir()
    paragraphs = [f"Paragraph {n} of the annual report names case {n * 7}." for n in range(900)]
    (folder / "report.txt").write_text("Annual report\n\n" + "\n\n".join(paragraphs))
    (folder / "small.txt").write_text("A small note\n\nThe radio room opens at six.")
    recording = _RecordingEmbedder(services.embedder)
    ingestor = Ingestor(services.store, recording, services.splitter, embed_batch=16)
    progress = _Progress()
    report = ingestor.run([folder], progress=progress)

    assert report.ok and sorted(report.added) == ["report.txt", "small.txt"]
    assert max(recording.calls) <= 16 and sum(recording.calls) == report.chunks_written > 64
    counts = [chunks for doc_id, chunks, _ in progress.batches if doc_id == "report.txt"]
    total = progress.batches[0][2]
    assert counts == sorted(counts) and len(counts) >= total // 16 - 1 and counts[-1] < total
    assert progress.advanced == [("report.txt", "added"), ("small.txt", "added")]
    assert services.store.complete_versions().keys() == {"report.txt", "small.txt"}


def test_a_version_half_written_is_never_returned(services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    note = folder / "note.md"
    note.write_text("# Note\n\n" + "The quartermaster ordered new radios for the harbour. " * 60)
    services.ingestor.run([folder])
    old = services.retriever.run("quartermaster radios", 3)
    assert old and all(p.doc_id == "note.md" for p in old)

    # A writer in another process has written the first chunks of a new version (as a run cut
    # off midway leaves it): questions still get the old version only, whole.
    note.write_text("# Note\n\n" + "The harbourmaster ordered new patrol boats for the port. " * 60)
    document, chunks = _prepared(services, note)
    assert len(chunks) > 2
    vectors = services.embedder.embed([chunk.embed_text for chunk in chunks[:2]])
    services.store.write_chunks([(document, chunks[:2])], vectors)
    for question in ("harbourmaster patrol boats", "quartermaster radios"):
        passages = services.retriever.run(question, 5)
        assert {p.metadata["version"] for p in passages} == {old[0].metadata["version"]}
    assert [d.version for d in services.store.list_documents()] == [old[0].metadata["version"]]

    rest = services.embedder.embed([chunk.embed_text for chunk in chunks[2:]])
    services.store.write_chunks([(document, chunks[2:])], rest)
    services.store.commit([document])
    passages = services.retriever.run("harbourmaster patrol boats", 5)
    assert passages and {p.metadata["version"] for p in passages} == {document.version}


def _prepared(services: Services, path: Path) -> tuple[DocumentInfo, list[Chunk]]:
    chunks = services.splitter.run(path.name, path.read_text())
    document = DocumentInfo(
        doc_id=path.name,
        title="Note",
        content_hash="new",
        version="f" * 64,
        doc_type="md",
        source=str(path),
        n_chunks=len(chunks),
        chars=len(path.read_text()),
        ingested_at="2026-12-03T20:00:00+00:00",
    )
    return document, chunks
