"""Retrievers: a question in, the passages most likely to answer it out."""

from typing import Protocol

from qa_service.core.embedder import Embedder
from qa_service.core.schema import Filters, Passage
from qa_service.core.store import ChunkStore


class Retriever(Protocol):
    def run(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]: ...


class DenseRetriever:
    """Nearest chunks to the query's embedding, best first, with cosine similarity as the score.

    >>> DenseRetriever(store, embedder).run("Where is INTERPOL based?", top_k=3)[0].doc_id
    '001_833621d1c7e724e7.txt'
    """

    def __init__(self, store: ChunkStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def run(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        if not query.strip():
            raise ValueError("the query is empty")
        return self.store.search(self.embedder.embed([query])[0], top_k, filters)
