"""The embedder the settings name."""

from qa_service.core.config import Settings
from qa_service.embedders.base import Embedder
from qa_service.embedders.onnx import OnnxEmbedder
from qa_service.embedders.sentence_transformer import SentenceTransformerEmbedder


def build_embedder(settings: Settings) -> Embedder:
    """The embedder ``QA_EMBEDDER`` names; both give all-MiniLM-L6-v2's vectors."""
    if settings.embedder == "torch":
        return SentenceTransformerEmbedder(batch_size=settings.embed_batch_size)
    return OnnxEmbedder(settings.cache_dir, batch_size=settings.embed_batch_size)
