"""all-MiniLM-L6-v2 (or another local folder) on torch, through sentence-transformers."""

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa_service.embedders.base import Embedder, Vectors, minilm_model_path

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


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
