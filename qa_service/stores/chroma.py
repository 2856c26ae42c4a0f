"""The chunk store: chunks, their vectors and metadata in a Chroma collection.

Chroma is the single source of truth: what documents exist, their content hashes and groups are
read back from chunk metadata, so an embedded store and a Chroma server behave the same, and
there is no second registry to drift out of step.

Crash safety comes from the write order. Chunk ids carry the document's version, so a new version is
upserted beside the old one, in as many calls as it takes (``write_chunks``); only once all of its
chunks are in are the old version's chunks deleted (``commit``). A run cut off midway leaves the
old version whole plus some new chunks; the next run sees the new version incomplete (fewer
chunks than its ``n_chunks``) and finishes it.

Readers may be other processes (``qa serve`` while ``qa ingest`` writes): searches return only
chunks of complete versions, so a question never cites a document half written, and the keyword
index is brought back in step whenever the collection's change mark moved (see
``ChromaChunkStore._follow_other_writers``).
"""

import math
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings
from chromadb.utils.embedding_functions import register_embedding_function

from qa_service.core.config import Settings
from qa_service.core.schema import DocumentInfo, Filters, Passage
from qa_service.embedders.base import Embedder, Vectors
from qa_service.stores.chroma_host import StoreBusyError, open_embedded_or_published
from qa_service.stores.keyword import KeywordHit, KeywordIndex
from qa_service.stores.protocol import DocumentChunks, StoreError
from qa_service.stores.records import (
    Metadata,
    chroma_where,
    chunk_id,
    chunk_metadata,
    document_from_metadata,
    keyword_entry,
    passage_from_record,
)

# Set deliberately rather than left to defaults: cosine matches the normalised MiniLM vectors;
# the graph parameters trade a little ingest time for recall. bench/retrieval.py measured at 100k
# real chunks: recall@50 against exact search 0.994 with ef_search 256 (0.980 with 128, 0.944
# with 64) for 0.6 ms more per query; ef_construction 100 lost recall (0.955).
HNSW_CONFIGURATION: dict[str, Any] = {
    "space": "cosine",
    "ef_construction": 200,
    "ef_search": 256,
    "max_neighbors": 32,
}
# How often (seconds) a search checks whether another process changed the collection (a request
# for the collection's change mark and two counts: cheap, but not needed on every question).
CHANGE_CHECK_SECONDS = 2.0
# The collection metadata field that every write sets to a new value (see ``_mark_changed``).
CHANGE_MARK = "changed"
WRITE_BATCH = 256
_PAGE = 5000


@register_embedding_function
class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Hands Chroma our embedder, so its default (which downloads a model) is never used."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "qa-service"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "ChromaEmbeddingFunction":
        raise StoreError("open collections through qa_service.stores.chroma.open_chunk_store")

    def default_space(self) -> Any:
        return "cosine"


def chroma_client(settings: Settings) -> Any:
    """An HTTP client when ``QA_CHROMA_URL`` is set, else an embedded store in the data dir."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in {"http", "https"} or not url.hostname:
            raise StoreError(f"QA_CHROMA_URL {settings.chroma_url!r} is not an http(s) URL")
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as error:
            raise StoreError(f"cannot reach Chroma at {settings.chroma_url}: {error}") from error
    # Another process may own the folder: its server is then the way in (see chroma_host).
    try:
        published = open_embedded_or_published(settings, _process_name())
    except StoreBusyError as error:
        raise StoreError(str(error)) from error
    if published is not None:
        return chroma_client(settings.model_copy(update={"chroma_url": published}))
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def _process_name() -> str:
    """``qa ingest``, for a message telling another process who holds the store."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]]) if sys.argv else "python"


def open_chunk_store(
    settings: Settings, embedder: Embedder, collection: str | None = None
) -> "ChromaChunkStore":
    """The collection in Chroma, with its keyword index in ``data_dir/keyword/``."""
    name = collection or settings.collection
    keyword = KeywordIndex(settings.data_dir / "keyword" / f"{name}.sqlite3")
    return ChromaChunkStore(chroma_client(settings), name, embedder, keyword)


class ChromaChunkStore:
    """A Chroma collection holding one record per chunk (``open_chunk_store`` opens one)."""

    def __init__(
        self,
        client: Any,
        collection: str,
        embedder: Embedder,
        keyword: KeywordIndex | None = None,
    ) -> None:
        self.embedder = embedder
        self.keyword = keyword
        self._client = client
        self._embedding_function = ChromaEmbeddingFunction(embedder)
        self._collection = client.get_or_create_collection(
            collection,
            embedding_function=self._embedding_function,
            configuration={"hnsw": HNSW_CONFIGURATION},
            metadata={"embedder": embedder.name},
        )
        # An existing collection keeps the configuration it was made with; ef_search is the one
        # parameter that can change afterwards (it takes effect when the index is next loaded).
        hnsw = (self._collection.configuration or {}).get("hnsw") or {}
        if hnsw.get("ef_search") != HNSW_CONFIGURATION["ef_search"]:
            self._collection.modify(
                configuration={"hnsw": {"ef_search": HNSW_CONFIGURATION["ef_search"]}}
            )
        self._checked = -math.inf
        self._seen_mark = ""
        # Versions known to have all their chunks in: a version never loses one but by deletion.
        self._complete: set[str] = set()

    @property
    def name(self) -> str:
        return str(self._collection.name)

    def count(self) -> int:
        return int(self._collection.count())

    def write_documents(self, documents: Sequence[DocumentChunks], vectors: Vectors) -> None:
        """Store whole documents (``write_chunks`` then ``commit``).

        ``vectors`` holds one row per chunk, in the order of ``documents`` and their chunks.
        Several documents go in one call because Chroma's cost is mostly per call.
        """
        for document, chunks in documents:
            if len(chunks) != document.n_chunks:
                raise ValueError(f"{document.doc_id}: chunks and n_chunks disagree")
        self.write_chunks(documents, vectors)
        self.commit([document for document, _ in documents])

    def write_chunks(self, documents: Sequence[DocumentChunks], vectors: Vectors) -> None:
        """Add chunks of documents' new versions beside what is stored; a version may come in
        several calls, and replaces nothing until ``commit``. Readers skip it until it is whole.
        """
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[Metadata] = []
        for document, chunks in documents:
            ids.extend(chunk_id(document, chunk.index) for chunk in chunks)
            texts.extend(chunk.text for chunk in chunks)
            metadatas.extend(chunk_metadata(document, chunk) for chunk in chunks)
        if len(vectors) != len(ids):
            raise ValueError(f"{len(ids)} chunks but {len(vectors)} vectors")
        for begin in range(0, len(ids), WRITE_BATCH):
            end = begin + WRITE_BATCH
            self._upsert(ids[begin:end], vectors[begin:end], texts[begin:end], metadatas[begin:end])
        if self.keyword is not None:
            # After Chroma: a crash in between leaves the keyword index behind, never ahead,
            # and sync_keyword_index catches it up from Chroma.
            self.keyword.add(
                [
                    keyword_entry(record_id, str(metadata["version"]), text, metadata)
                    for record_id, text, metadata in zip(ids, texts, metadatas, strict=True)
                ]
            )

    def commit(self, documents: Sequence[DocumentInfo]) -> None:
        """Make these versions their documents' only ones: the other versions' chunks go."""
        if not documents:
            return
        # A version belongs to one document, so one "$nin" covers every document here.
        doc_ids = [document.doc_id for document in documents]
        versions = [document.version for document in documents]
        self._collection.delete(
            where={"$and": [{"doc_id": {"$in": doc_ids}}, {"version": {"$nin": versions}}]}
        )
        if self.keyword is not None:
            self.keyword.keep_versions({d.doc_id: d.version for d in documents})
        self._mark_changed()

    def _mark_changed(self) -> None:
        """Tell other processes' readers that their keyword index may be behind."""
        mark = uuid.uuid4().hex
        self._collection.modify(metadata={"embedder": self.embedder.name, CHANGE_MARK: mark})
        if self.keyword is not None:
            self.keyword.set_mark(mark)

    def _upsert(
        self, ids: list[str], vectors: Vectors, texts: list[str], metadatas: list[Metadata]
    ) -> None:
        self._collection.upsert(ids=ids, embeddings=vectors, documents=texts, metadatas=metadatas)

    def delete_document(self, doc_id: str) -> int:
        found = self._collection.get(where={"doc_id": doc_id}, include=[])
        if found["ids"]:
            self._collection.delete(ids=found["ids"])
        if self.keyword is not None:
            self.keyword.delete_documents([doc_id])
        if found["ids"]:
            self._mark_changed()
        return len(found["ids"])

    def sync_keyword_index(self) -> tuple[int, int]:
        """Make the keyword index hold exactly Chroma's chunks; (added, removed) chunk counts.

        Needed after a crash between the two writes, for a store filled before the index
        existed, or when another machine writes to a shared Chroma server.
        """
        if self.keyword is None:
            return 0, 0
        mark = self._change_mark()
        present = set(self._all_ids())
        indexed = self.keyword.chunk_ids()
        stale = indexed - present
        missing = sorted(present - indexed)
        if stale:
            self.keyword.delete_chunks(stale)
        for begin in range(0, len(missing), _PAGE):
            page = self._collection.get(
                ids=missing[begin : begin + _PAGE], include=["documents", "metadatas"]
            )
            self.keyword.add(
                [
                    keyword_entry(record_id, str(metadata["version"]), text, metadata)
                    for record_id, text, metadata in zip(
                        page["ids"], page["documents"] or [], page["metadatas"] or [], strict=True
                    )
                ]
            )
        # The mark read before the ids: a write after it leaves the marks apart, and the next
        # check syncs again.
        self.keyword.set_mark(mark)
        return len(missing), len(stale)

    def _change_mark(self) -> str:
        collection = self._client.get_collection(
            self.name, embedding_function=self._embedding_function
        )
        return str((collection.metadata or {}).get(CHANGE_MARK, ""))

    def keyword_search(
        self, query: str, top_k: int, filters: Filters | None = None, candidates: Sequence[str] = ()
    ) -> list[KeywordHit]:
        """BM25 hits from the keyword index (see ``KeywordIndex.search``)."""
        if self.keyword is None:
            raise StoreError(f"collection {self.name!r} has no keyword index")
        self._follow_other_writers()
        return self.keyword.search(query, top_k, filters, candidates)

    def _follow_other_writers(self) -> None:
        """Every few seconds: forget which versions were whole if anything was written since
        (a deleted version may be written again), and bring the keyword index in step. A
        writer on this data folder keeps both indexes in step and leaves the same mark in
        both; one elsewhere (another machine on a shared Chroma server) leaves them apart, and
        a crash between the two writes leaves the counts apart."""
        now = time.monotonic()
        if now - self._checked < CHANGE_CHECK_SECONDS:
            return
        self._checked = now
        mark = self._change_mark()
        if mark != self._seen_mark:
            self._complete.clear()
            self._seen_mark = mark
        if self.keyword is not None and (
            self.keyword.mark() != mark or self.keyword.count() != self.count()
        ):
            self.sync_keyword_index()

    def fetch(self, chunk_ids: Sequence[str], vector: Vectors | None = None) -> list[Passage]:
        """The chunks ``chunk_ids`` as passages, in that order (unknown ids left out); with a
        query ``vector``, each passage's ``dense_score`` is its cosine similarity to it."""
        if not chunk_ids:
            return []
        include = ["documents", "metadatas"] + (["embeddings"] if vector is not None else [])
        found = self._collection.get(ids=list(chunk_ids), include=include)
        records: dict[str, Passage] = {}
        for index, (record_id, text, metadata) in enumerate(
            zip(found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True)
        ):
            passage = passage_from_record(record_id, text, metadata, 0.0)
            if vector is not None:
                similarity = float(np.dot(np.asarray(found["embeddings"][index]), vector))
                passage = replace(passage, score=similarity, dense_score=similarity)
            records[record_id] = passage
        return self._whole([records[chunk_id] for chunk_id in chunk_ids if chunk_id in records])

    def _whole(self, passages: list[Passage]) -> list[Passage]:
        """``passages`` less those of a version whose chunks are not all in yet: another
        process is still writing it (or was cut off), and its text is not the document's."""
        whole = self._complete_among(
            {str(p.metadata["version"]): int(p.metadata["n_chunks"]) for p in passages}
        )
        return [p for p in passages if p.metadata["version"] in whole]

    def _complete_among(self, versions: dict[str, int]) -> set[str]:
        """Which of ``versions`` (version -> its ``n_chunks``) have all their chunks stored."""
        unknown = {v: expected for v, expected in versions.items() if v not in self._complete}
        if unknown:
            found = self._collection.get(where={"version": {"$in": list(unknown)}}, include=[])
            # A chunk id carries its version's first 16 characters (see ``chunk_id``).
            present = Counter(record_id.rsplit("#", 2)[1] for record_id in found["ids"])
            self._complete.update(
                version
                for version, expected in unknown.items()
                if present[version[:16]] >= expected
            )
        return self._complete & versions.keys()

    def document_text(self, passage: Passage) -> str:
        """The whole text of the document (the version) ``passage`` comes from, put together
        from its chunks by their offsets."""
        where: dict[str, Any] = {"doc_id": passage.doc_id}
        if "version" in passage.metadata:
            where = {"$and": [where, {"version": passage.metadata["version"]}]}
        found = self._collection.get(where=where, include=["documents", "metadatas"])
        pieces = sorted(
            (int(metadata["start"]), text)
            for text, metadata in zip(
                found["documents"] or [], found["metadatas"] or [], strict=True
            )
        )
        text = ""
        for start, piece in pieces:
            # Chunks overlap: each adds only what lies past the end of the text so far.
            text = text.ljust(start) + piece[max(0, len(text) - start) :]
        return text

    def document_chunks(self, document: DocumentInfo) -> list[Passage]:
        """The chunks of ``document`` (that version of it) as passages in document order, each
        with its offsets and page: where a quote sits in it."""
        where = {"$and": [{"doc_id": document.doc_id}, {"version": document.version}]}
        found = self._collection.get(where=where, include=["documents", "metadatas"])
        passages = [
            passage_from_record(record_id, text, metadata, 0.0)
            for record_id, text, metadata in zip(
                found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
            )
        ]
        return sorted(passages, key=lambda passage: passage.start)

    def complete_versions(self) -> dict[str, str | None]:
        """``doc_id`` -> its one complete version, or ``None`` if it needs work (its old and new
        versions side by side); a document with no complete version at all is left out.

        A writer asks this first, so the keyword index is brought in step here: a run cut off
        between the vector and keyword writes left it behind."""
        self.sync_keyword_index()
        present: Counter[tuple[str, str]] = Counter()
        expected: dict[tuple[str, str], int] = {}
        for metadata in self._all_metadata():
            version = (str(metadata["doc_id"]), str(metadata["version"]))
            present[version] += 1
            expected[version] = int(metadata["n_chunks"])
        hashes: dict[str, list[str]] = defaultdict(list)
        for doc_id, version_hash in present:
            hashes[doc_id].append(version_hash)
        complete = {version for version, count in present.items() if count >= expected[version]}
        return {
            doc_id: found[0] if len(found) == 1 and (doc_id, found[0]) in complete else None
            for doc_id, found in hashes.items()
            if any((doc_id, version) in complete for version in found)
        }

    def list_documents(self, filters: Filters | None = None) -> list[DocumentInfo]:
        where = chroma_where(filters, {"chunk_index": 0})
        found = self._collection.get(where=where, include=["metadatas"])
        metadatas = found["metadatas"] or []
        whole = self._complete_among({str(m["version"]): int(m["n_chunks"]) for m in metadatas})
        latest: dict[str, DocumentInfo] = {}
        for metadata in metadatas:
            document = document_from_metadata(metadata)
            if document.version not in whole:
                continue
            kept = latest.get(document.doc_id)
            if kept is None or document.ingested_at > kept.ingested_at:
                latest[document.doc_id] = document
        return sorted(latest.values(), key=lambda document: document.doc_id)

    def search(self, vector: Vectors, top_k: int, filters: Filters | None = None) -> list[Passage]:
        self._follow_other_writers()
        found = self._collection.query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=top_k,
            where=chroma_where(filters),
            include=["documents", "metadatas", "distances"],
        )
        return self._whole(
            [
                replace(
                    passage_from_record(record_id, text, metadata, 1.0 - float(distance)),
                    dense_score=1.0 - float(distance),
                )
                for record_id, text, metadata, distance in zip(
                    found["ids"][0],
                    (found["documents"] or [[]])[0],
                    (found["metadatas"] or [[]])[0],
                    (found["distances"] or [[]])[0],
                    strict=True,
                )
            ]
        )

    def _all_ids(self) -> Iterator[str]:
        offset = 0
        while True:
            page = self._collection.get(include=[], limit=_PAGE, offset=offset)
            yield from page["ids"]
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def _all_metadata(self) -> Iterator[Metadata]:
        offset = 0
        while True:
            page = self._collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            metadatas = page["metadatas"] or []
            yield from metadatas
            if len(metadatas) < _PAGE:
                return
            offset += _PAGE
