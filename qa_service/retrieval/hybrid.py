"""The default retriever: dense and keyword candidates, joined by a fusion, tidied by a selector."""

from dataclasses import replace

from qa_service.core.schema import Filters, Passage
from qa_service.embedders.base import Embedder
from qa_service.retrieval.base import BaseRetriever
from qa_service.retrieval.fusion import Fusion, ZScoreFusion
from qa_service.retrieval.select import PassageSelector
from qa_service.stores.protocol import ChunkStore


class HybridRetriever(BaseRetriever):
    """Both searches' candidates, fused (``retrieval.fusion``), then selected
    (``retrieval.select``).

    Both searches return ``candidates`` chunks (or ``top_k`` if more); every candidate gets both
    scores (the BM25 score of a dense hit, the cosine of a keyword hit) before the fusion joins
    them. The fused value is each passage's ``score``; ``dense_score`` and ``keyword_score``
    keep the evidence (the answer service's relevance gate reads the cosine).
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        *,
        candidates: int = 50,
        fusion: Fusion | None = None,
        selector: PassageSelector | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.fusion = fusion or ZScoreFusion()
        self.selector = selector or PassageSelector()

    def _retrieve(self, query: str, top_k: int, filters: Filters | None) -> list[Passage]:
        pool = self.candidate_pool(query, max(self.candidates, top_k), filters)
        ranked = sorted(self.fusion.run(pool), key=lambda passage: -passage.score)
        return self.selector.run(ranked, top_k)

    def candidate_pool(self, query: str, depth: int, filters: Filters | None) -> list[Passage]:
        """Both searches' candidates, each with its cosine and its BM25 score."""
        vector = self.embedder.embed([query])[0]
        dense = self.store.search(vector, depth, filters)
        hits = self.store.keyword_search(
            query, depth, filters, candidates=[passage.chunk_id for passage in dense]
        )
        bm25 = {hit.chunk_id: hit.score for hit in hits}
        found = {passage.chunk_id for passage in dense}
        keyword_only = self.store.fetch(
            [h.chunk_id for h in hits if h.chunk_id not in found], vector
        )
        return [
            replace(passage, keyword_score=bm25.get(passage.chunk_id, 0.0))
            for passage in [*dense, *keyword_only]
        ]
