"""What every retriever is: a query in, the passages most likely to answer it out, best first."""

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

from qa_service.core.schema import Filters, Passage


class Retriever(Protocol):
    def run(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]: ...


class BaseRetriever(ABC):
    """Checks the query once for every retriever, then hands it to ``_retrieve``."""

    def run(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        if not query.strip():
            raise ValueError("the query is empty")
        return self._retrieve(query, top_k, filters)

    @abstractmethod
    def _retrieve(self, query: str, top_k: int, filters: Filters | None) -> list[Passage]: ...


def relevance(passages: Sequence[Passage]) -> float:
    """How close the best passage is to the question, as a cosine whatever the fusion: what the
    answer service's refusal gate compares with ``min_retrieval_score``."""
    scores = [p.dense_score if p.dense_score is not None else p.score for p in passages]
    return max(scores) if scores else -math.inf
