"""Optional reranking of the first retrieved passages, off by default (``QA_RERANKER``).

A reranker reads the question and each passage together, which an embedding cannot, but it costs
a model call per question. Two kinds:

- ``CrossEncoderReranker``: a cross-encoder the user provides as a local folder (none ships
  offline here; any sentence-transformers ``CrossEncoder`` model works);
- ``LanguageModelReranker``: the answering model ranks the top few passages listwise (as in
  RankGPT, Sun et al. 2023).

``RerankingRetriever`` puts either in front of any retriever; the passages past the reranked
window keep their order.
"""

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from langchain_core.messages import HumanMessage

from qa_service.core.schema import Filters, Passage
from qa_service.generation.base import Generator
from qa_service.generation.prompts import Prompts
from qa_service.retrieval.base import BaseRetriever, Retriever

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

_NUMBER = re.compile(r"\d+")


class Reranker(Protocol):
    def run(self, query: str, passages: Sequence[Passage], top_k: int) -> list[Passage]: ...


class CrossEncoderReranker:
    """Scores each (question, passage) pair with a cross-encoder read from ``model_path``, a
    sentence-transformers ``CrossEncoder`` folder (``ms-marco-MiniLM-L6-v2``, for one)."""

    def __init__(self, model_path: Path, batch_size: int = 16) -> None:
        if not model_path.is_dir():
            raise FileNotFoundError(f"no cross-encoder model folder at {model_path}")
        self.model_path = model_path
        self.batch_size = batch_size

    @cached_property
    def _model(self) -> "CrossEncoder":
        from sentence_transformers import CrossEncoder

        model: CrossEncoder = CrossEncoder(
            str(self.model_path), device="cpu", local_files_only=True
        )
        return model

    def run(self, query: str, passages: Sequence[Passage], top_k: int) -> list[Passage]:
        if not passages:
            return []
        scores = self._model.predict(
            [(query, passage.text) for passage in passages],
            batch_size=self.batch_size,
            show_progress_bar=False,
        )
        scored = [replace(p, score=float(s)) for p, s in zip(passages, scores, strict=True)]
        return sorted(scored, key=lambda passage: -passage.score)[:top_k]


class LanguageModelReranker:
    """Asks the language model to order the passages (``prompts/rerank.md``); whatever it
    leaves out or garbles keeps its retrieval order after the ones it ranked."""

    def __init__(self, generator: Generator, prompts: Prompts, passage_words: int = 80) -> None:
        self.generator = generator
        self.prompts = prompts
        self.passage_words = passage_words

    def run(self, query: str, passages: Sequence[Passage], top_k: int) -> list[Passage]:
        if len(passages) < 2:
            return list(passages)[:top_k]
        listing = "\n\n".join(
            f"[{number}] {' '.join(passage.text.split()[: self.passage_words])}"
            for number, passage in enumerate(passages, start=1)
        )
        prompt = self.prompts.render("rerank", question=query, passages=listing)
        reply = self.generator.run([HumanMessage(prompt)])
        order = parse_ranking(reply, len(passages))
        return [passages[index] for index in order][:top_k]


def parse_ranking(reply: str, count: int) -> list[int]:
    """Zero-based order from a reply such as ``"3 > 1 > 2"``: numbers out of range or repeated
    are skipped, and the ones never named follow in their original order."""
    named: list[int] = []
    for match in _NUMBER.findall(reply):
        index = int(match) - 1
        if 0 <= index < count and index not in named:
            named.append(index)
    return named + [index for index in range(count) if index not in named]


class RerankingRetriever(BaseRetriever):
    """Retrieves ``window`` passages (or ``top_k`` if more) and reranks the first ``window``."""

    def __init__(self, inner: Retriever, reranker: Reranker, window: int = 20) -> None:
        self.inner = inner
        self.reranker = reranker
        self.window = window

    def _retrieve(self, query: str, top_k: int, filters: Filters | None) -> list[Passage]:
        passages = self.inner.run(query, max(top_k, self.window), filters)
        head = self.reranker.run(query, passages[: self.window], self.window)
        return [*head, *passages[self.window :]][:top_k]
