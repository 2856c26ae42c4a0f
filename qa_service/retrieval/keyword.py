"""BM25 over the same chunks (the store's keyword index)."""

from dataclasses import replace

from qa_service.core.schema import Filters, Passage
from qa_service.retrieval.base import BaseRetriever
from qa_service.stores.protocol import ChunkStore


class KeywordRetriever(BaseRetriever):
    """The chunks with the best BM25 score for the query's stemmed words; the score is BM25's."""

    def __init__(self, store: ChunkStore) -> None:
        self.store = store

    def _retrieve(self, query: str, top_k: int, filters: Filters | None) -> list[Passage]:
        hits = self.store.keyword_search(query, top_k, filters)
        scores = {hit.chunk_id: hit.score for hit in hits}
        return [
            replace(passage, score=scores[passage.chunk_id], keyword_score=scores[passage.chunk_id])
            for passage in self.store.fetch([hit.chunk_id for hit in hits])
        ]
