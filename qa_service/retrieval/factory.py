"""The retriever the settings name, over a store."""

from qa_service.core.config import Settings
from qa_service.embedders.base import Embedder
from qa_service.retrieval.base import Retriever
from qa_service.retrieval.dense import DenseRetriever
from qa_service.retrieval.fusion import build_fusion
from qa_service.retrieval.hybrid import HybridRetriever
from qa_service.retrieval.keyword import KeywordRetriever
from qa_service.retrieval.select import PassageSelector
from qa_service.stores.protocol import ChunkStore


def build_retriever(
    settings: Settings, store: ChunkStore, embedder: Embedder, kind: str | None = None
) -> Retriever:
    """The retriever ``kind`` (default: ``settings.retriever``) over ``store``."""
    kind = kind or settings.retriever
    if kind == "dense":
        return DenseRetriever(store, embedder)
    if kind == "keyword":
        return KeywordRetriever(store)
    if kind == "hybrid":
        return HybridRetriever(
            store,
            embedder,
            candidates=settings.retrieval_candidates,
            fusion=build_fusion(settings.fusion, weight=settings.fusion_weight),
            selector=PassageSelector(max_per_document=settings.max_passages_per_document),
        )
    raise ValueError(f"unknown retriever {kind!r}: choose hybrid, dense or keyword")
