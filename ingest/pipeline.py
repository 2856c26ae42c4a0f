"""The ingest pipeline: find files, skip what is current, load, split, embed in batches, write.

Chunks are embedded and written ``embed_batch`` at a time, however the documents cut them: a
batch may hold several small documents or a slice of a big one, so memory stays bounded by one
document's text and a batch's vectors. A document is committed once its last chunk is in (see
``qa_service.stores.chroma``), so an interrupted run loses nothing: the next run skips what was
finished and completes the rest.
"""

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ingest.load import LoadError, doc_type_of, load_document
from ingest.split import Splitter
from qa_service.core.metrics import count_documents
from qa_service.core.schema import Chunk, DocumentInfo
from qa_service.embedders.base import Embedder
from qa_service.stores.protocol import WritableChunkStore


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, doc_id: str, outcome: str) -> None: ...
    def written(self, doc_id: str, chunks: int, total: int) -> None:
        """``chunks`` of a document's ``total`` are in; called for documents of many batches."""


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    ignored: int = 0
    chunks_written: int = 0
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "skipped": self.skipped,
            "deleted": self.deleted,
            "failed": [{"doc_id": key, "reason": reason} for key, reason in self.failed.items()],
            "ignored": self.ignored,
            "chunks_written": self.chunks_written,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class SourceFile:
    path: Path
    doc_id: str
    root: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def location(self) -> str:
        return str(self.path)

    def read(self, max_bytes: int) -> bytes:
        size = self.path.stat().st_size
        if size > max_bytes:
            limit = max_bytes / 2**20
            raise LoadError(f"file too large ({size / 2**20:.0f} MiB > {limit:.0f} MiB)")
        return self.path.read_bytes()


@dataclass(frozen=True)
class TextDocument:
    """A document handed over as text rather than as a file (an evaluation corpus in BEIR
    layout). It is read exactly as a ``.txt`` file holding ``text`` would be: its first line is
    the title, and chunk offsets point into ``text``.
    """

    doc_id: str
    text: str
    location: str = "(text)"
    name: str = "document.txt"
    # The groups that may read it, when they are its own rather than the whole run's.
    groups: tuple[str, ...] | None = None

    def read(self, max_bytes: int) -> bytes:
        return self.text.encode("utf-8")


Source = SourceFile | TextDocument


@dataclass(frozen=True)
class _Prepared:
    document: DocumentInfo
    chunks: list[Chunk]
    replaces: bool


@dataclass
class _Batch:
    """Chunks waiting to be embedded, and the documents they belong to (in order)."""

    documents: list[_Prepared] = field(default_factory=list)
    chunks: list[tuple[_Prepared, Chunk]] = field(default_factory=list)


class Ingestor:
    """Brings files into the chunk store (``qa ingest``, and each ``qa eval`` dataset)."""

    def __init__(
        self,
        store: WritableChunkStore,
        embedder: Embedder,
        splitter: Splitter,
        *,
        embed_batch: int = 128,
        max_file_bytes: int = 100 * 2**20,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.splitter = splitter
        self.embed_batch = embed_batch
        self.max_file_bytes = max_file_bytes

    def run(
        self,
        paths: Sequence[Path],
        groups: tuple[str, ...] = (),
        prune: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        report = IngestReport()
        sources = discover(paths, report)

        def work() -> None:
            self._ingest(sources, groups, report, progress)
            if prune:
                self._prune(paths, {source.doc_id for source in sources}, report)

        return self._interruptible(report, work)

    def run_texts(
        self,
        documents: Sequence[TextDocument],
        groups: tuple[str, ...] = (),
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest documents given as text; incremental like ``run``, by ``doc_id`` and content."""
        report = IngestReport()
        unique: dict[str, TextDocument] = {}
        for document in documents:
            if document.doc_id in unique:
                report.failed[document.doc_id] = f"doc_id {document.doc_id!r} given twice"
            else:
                unique[document.doc_id] = document
        return self._interruptible(
            report, lambda: self._ingest(list(unique.values()), groups, report, progress)
        )

    @staticmethod
    def _interruptible(report: IngestReport, work: Callable[[], None]) -> IngestReport:
        """Runs ``work``; Ctrl-C ends it with what was committed so far, marked interrupted.
        What it did is counted in the process's metrics (a serving process shows them)."""
        started = time.perf_counter()
        try:
            work()
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            report.seconds = time.perf_counter() - started
            count_documents("added", len(report.added))
            count_documents("updated", len(report.updated))
            count_documents("deleted", len(report.deleted))
            count_documents("failed", len(report.failed))
        return report

    def _ingest(
        self,
        sources: Sequence[Source],
        groups: tuple[str, ...],
        report: IngestReport,
        progress: Progress | None,
    ) -> None:
        versions = self.store.complete_versions()
        if progress:
            progress.start(len(sources))
        batch = _Batch()
        for source in sources:
            own = source.groups if isinstance(source, TextDocument) else None
            prepared = self._prepare(source, groups if own is None else own, versions, report)
            if prepared is None:
                if progress:
                    outcome = "failed" if source.doc_id in report.failed else "skipped"
                    progress.advance(source.doc_id, outcome)
                continue
            batch.documents.append(prepared)
            for chunk in prepared.chunks:
                batch.chunks.append((prepared, chunk))
                if len(batch.chunks) >= self.embed_batch:
                    batch = self._write(batch, report, progress)
        self._write(batch, report, progress)

    def _prepare(
        self,
        source: Source,
        groups: tuple[str, ...],
        versions: dict[str, str | None],
        report: IngestReport,
    ) -> _Prepared | None:
        try:
            data = source.read(self.max_file_bytes)
        except (OSError, LoadError) as error:
            report.failed[source.doc_id] = _reason(error)
            return None
        content_hash = hashlib.sha256(data).hexdigest()
        version = self._version(source.doc_id, content_hash, groups)
        if versions.get(source.doc_id) == version:
            report.skipped.append(source.doc_id)
            return None
        try:
            loaded = load_document(source.name, data)
        except LoadError as error:
            report.failed[source.doc_id] = str(error)
            return None
        chunks = self.splitter.run(source.doc_id, loaded.text, loaded.page_starts)
        document = DocumentInfo(
            doc_id=source.doc_id,
            title=loaded.title,
            content_hash=content_hash,
            version=version,
            doc_type=loaded.doc_type,
            source=source.location,
            groups=groups,
            date=loaded.date,
            n_chunks=len(chunks),
            chars=len(loaded.text),
            ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        return _Prepared(document, chunks, replaces=source.doc_id in versions)

    def _write(self, batch: _Batch, report: IngestReport, progress: Progress | None) -> _Batch:
        """Embed and store the batch's chunks, commit the documents they finish; the batch that
        carries on (the unfinished document, with no chunks yet)."""
        if batch.chunks:
            vectors = self.embedder.embed([chunk.embed_text for _, chunk in batch.chunks])
            by_document: dict[str, list[Chunk]] = {}
            for item, chunk in batch.chunks:
                by_document.setdefault(item.document.doc_id, []).append(chunk)
            prepared = {item.document.doc_id: item for item in batch.documents}
            self.store.write_chunks(
                [(prepared[doc_id].document, chunks) for doc_id, chunks in by_document.items()],
                vectors,
            )
            report.chunks_written += len(batch.chunks)
        # Chunks come in document order, so only the last document can be unfinished.
        finished = batch.documents
        unfinished: list[_Prepared] = []
        if batch.chunks:
            item, last = batch.chunks[-1]
            if last.index < item.document.n_chunks - 1:
                finished, unfinished = batch.documents[:-1], [item]
                if progress:
                    progress.written(last.doc_id, last.index + 1, item.document.n_chunks)
        self.store.commit([item.document for item in finished])
        for item in finished:
            outcome = "updated" if item.replaces else "added"
            getattr(report, outcome).append(item.document.doc_id)
            if progress:
                progress.advance(item.document.doc_id, outcome)
        return _Batch(documents=unfinished)

    def _prune(self, paths: Sequence[Path], found: set[str], report: IngestReport) -> None:
        roots = [path.resolve() for path in paths if path.is_dir()]
        for document in self.store.list_documents():
            source = Path(document.source)
            if document.doc_id not in found and any(source.is_relative_to(root) for root in roots):
                self.store.delete_document(document.doc_id)
                report.deleted.append(document.doc_id)

    def _version(self, doc_id: str, content_hash: str, groups: tuple[str, ...]) -> str:
        parts = [
            doc_id,
            content_hash,
            ",".join(groups),
            self.splitter.fingerprint,
            self.embedder.name,
        ]
        recipe = "|".join(parts)
        return hashlib.sha256(recipe.encode()).hexdigest()


def discover(paths: Sequence[Path], report: IngestReport) -> list[SourceFile]:
    """The files under ``paths`` that a reader handles, each with its ``doc_id``.

    Hidden files and folders are left out; a link that leads outside its PATH, a missing PATH,
    a path that is not UTF-8 and a ``doc_id`` found twice are reported as failures.
    """
    sources: dict[str, SourceFile] = {}
    for path in paths:
        if not path.exists():
            report.failed[_utf8(str(path))] = "no such file or directory"
            continue
        if path.is_file():
            # Only the folder is resolved: a link given as PATH keeps its own name.
            root = path.parent.resolve()
            if doc_type_of(path.name) is None:
                report.failed[_utf8(path.name)] = (
                    f"unsupported file type {path.suffix or '(none)'!r}"
                )
                continue
            candidates = [(root / path.name, path.name)]
        else:
            root = path.resolve()
            candidates = []
            for file in sorted(root.rglob("*")):
                relative = file.relative_to(root)
                if any(part.startswith(".") for part in relative.parts) or not file.is_file():
                    continue
                if doc_type_of(file.name) is None:
                    report.ignored += 1
                    continue
                if not file.resolve().is_relative_to(root):
                    report.failed[_utf8(relative.as_posix())] = "a link to a file outside PATH"
                    continue
                candidates.append((file, relative.as_posix()))
        if _utf8(str(root)) != str(root):
            report.failed[_utf8(str(path))] = "path is not valid UTF-8: rename its folders"
            continue
        for file, doc_id in candidates:
            if _utf8(doc_id) != doc_id:
                report.failed[_utf8(doc_id)] = "file name is not valid UTF-8: rename the file"
            elif doc_id in sources:
                report.failed[f"{root}/{doc_id}"] = (
                    f"doc_id {doc_id!r} also found under {sources[doc_id].root}"
                )
            else:
                sources[doc_id] = SourceFile(file, doc_id, root)
    return list(sources.values())


def _utf8(name: str) -> str:
    """``name`` as text a store, JSON and a terminal take: bytes that are not UTF-8 (which the
    file system hands over as surrogate escapes) are shown as ``\\xNN``.
    """
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _reason(error: Exception) -> str:
    if isinstance(error, OSError):
        return f"cannot read file: {error.strerror or error}"
    return str(error)
