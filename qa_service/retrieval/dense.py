"""Nearest chunks by embedding (Chroma's HNSW index)."""

from qa_service.core.schema import Filters, Passage
from qa_service.embedders.base import Embedder
from qa_service.retrieval.base import BaseRetriever
from qa_service.stores.protocol import ChunkStore


class DenseRetriever(BaseRetriever):
    """Nearest chunks to the query's embedding, best first, with cosine similarity as the score."""

    def __init__(self, store: ChunkStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def _retrieve(self, query: str, top_k: int, filters: Filters | None) -> list[Passage]:
        return self.store.search(self.embedder.embed([query])[0], top_k, filters)
