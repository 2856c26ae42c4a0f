"""The chunk store's two faces: what readers use, and what ingest adds to it.

``ChromaChunkStore`` is the implementation; its keyword index (BM25) is kept in step behind
these methods, never by their callers.
"""

from collections.abc import Sequence
from typing import Protocol

from qa_service.core.schema import Chunk, DocumentInfo, Filters, Passage
from qa_service.embedders.base import Vectors
from qa_service.stores.keyword import KeywordHit

DocumentChunks = tuple[DocumentInfo, Sequence[Chunk]]


class StoreError(RuntimeError):
    """The store cannot be reached or refused an operation."""


class ChunkStore(Protocol):
    """Readers: the searches, the chunks and documents read back, and how many chunks there are.
    Only chunks of versions stored whole are ever returned."""

    def count(self) -> int: ...
    def search(
        self, vector: Vectors, top_k: int, filters: Filters | None = None
    ) -> list[Passage]: ...
    def keyword_search(
        self, query: str, top_k: int, filters: Filters | None = None, candidates: Sequence[str] = ()
    ) -> list[KeywordHit]: ...
    def fetch(self, chunk_ids: Sequence[str], vector: Vectors | None = None) -> list[Passage]: ...
    def document_text(self, passage: Passage) -> str: ...
    def document_chunks(self, document: DocumentInfo) -> list[Passage]: ...
    def list_documents(self, filters: Filters | None = None) -> list[DocumentInfo]: ...


class WritableChunkStore(ChunkStore, Protocol):
    """Ingest: a new version's chunks go in beside the old (``write_chunks``, in as many calls
    as it takes) and replace it at ``commit``; ``complete_versions`` says where a run left off."""

    def write_chunks(self, documents: Sequence[DocumentChunks], vectors: Vectors) -> None: ...
    def commit(self, documents: Sequence[DocumentInfo]) -> None: ...
    def delete_document(self, doc_id: str) -> int: ...
    def complete_versions(self) -> dict[str, str | None]: ...
