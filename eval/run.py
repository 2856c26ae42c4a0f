"""Runs every question of a dataset through a pipeline, as the API would, and keeps what came out.

Retrieval is judged at the document level on a deeper ranking than the answerer reads: the
chunks found for the answerer's own query are grouped by document, each ranked by its best chunk.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from eval.dataset import QAItem
from eval.pipelines import Pipeline
from qa_service.answering.answer import Answer
from qa_service.answering.question import Question, QuestionError
from qa_service.retrieval.base import Retriever

RANKING_DEPTH = 100  # documents: enough for recall@100
_FIRST_CHUNKS = 200


class QuestionProgress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, label: str, outcome: str) -> None: ...


@dataclass
class RankedDocument:
    doc_id: str
    score: float  # the best chunk's score


@dataclass
class QuestionRun:
    """What one question got. ``answer`` is ``None`` in a retrieval-only run or on ``error``."""

    item: QAItem
    query: str | None
    ranking: list[RankedDocument]
    answer: Answer | None
    error: str | None = None
    retrieval_ms: float = 0.0


def run_questions(
    pipeline: Pipeline,
    items: Sequence[QAItem],
    *,
    retrieval_only: bool,
    progress: QuestionProgress | None = None,
) -> list[QuestionRun]:
    if progress:
        progress.start(len(items))
    runs = []
    for item in items:
        run = _run_one(pipeline, item, retrieval_only)
        runs.append(run)
        if progress:
            progress.advance(item.id, _outcome(run))
    return runs


def _run_one(pipeline: Pipeline, item: QAItem, retrieval_only: bool) -> QuestionRun:
    answer: Answer | None = None
    query: str | None = " ".join(item.question.split())
    if not retrieval_only:
        pipeline.retriever.last_query = None
        try:
            answer = pipeline.answerer.run(Question(item.question))
        except QuestionError as error:
            return QuestionRun(item, None, [], None, error=f"question rejected: {error}")
        query = pipeline.retriever.last_query
    if not query:
        return QuestionRun(item, None, [], answer)
    started = time.perf_counter()
    ranking = rank_documents(pipeline.retriever.inner, query)
    retrieval_ms = round((time.perf_counter() - started) * 1000, 1)
    return QuestionRun(item, query, ranking, answer, retrieval_ms=retrieval_ms)


def rank_documents(
    retriever: Retriever, query: str, depth: int = RANKING_DEPTH
) -> list[RankedDocument]:
    """The top ``depth`` documents for ``query``, each scored by its best chunk, best first."""
    chunks = _FIRST_CHUNKS
    found = -1
    while True:
        passages = retriever.run(query, chunks)
        best: dict[str, float] = {}
        for passage in passages:  # best first, so a document's first chunk is its best
            best.setdefault(passage.doc_id, passage.score)
        # A few long documents can fill the chunk list: search deeper until enough documents,
        # or until searching deeper finds no new one (the collection has no more).
        if len(best) >= depth or len(best) == found:
            return [RankedDocument(doc_id, score) for doc_id, score in best.items()][:depth]
        found = len(best)
        chunks *= 2


def _outcome(run: QuestionRun) -> str:
    if run.error:
        return "error"
    if run.answer is None:
        return "retrieved"
    return "refused" if run.answer.refused else "answered"
