"""The naive RAG baseline that ``qa eval --config naive`` puts beside the real pipeline.

What a first LangChain or PrivateGPT setup does: fixed 1000-character chunks (``ingest.split.
CharacterSplitter``), the top 4 passages by embedding similarity, LangChain's plain RAG prompt
(``prompts/naive_rag.md``), the model's text taken as it comes, and every retrieved passage
listed as a source. Nothing checks that the sources support the answer.

Without a model (``QA_LLM=extractive``) the answer is the first sentences of the top passage:
the baseline refuses only when retrieval finds nothing. With a model it refuses when the model
says it does not know, as the prompt tells it to.
"""

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from langchain_core.messages import HumanMessage
from langchain_core.prompts import PromptTemplate

from qa_service.answering.answer import Answer, RefusalReason
from qa_service.answering.question import Question, question_text
from qa_service.answering.timing import Stopwatch
from qa_service.citations.citation import Citation
from qa_service.core.schema import Passage
from qa_service.generation.base import Generator
from qa_service.retrieval.base import Retriever
from qa_service.text.language import detect_language
from qa_service.text.sentences import split_sentences

# The prompt asks the model to "just say that you don't know".
_DONT_KNOW = re.compile(r"\b(?:don't|do not|don\u2019t) know\b", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
NO_ANSWER = "I don't know."


class NaiveAnswerService:
    """Answers like a plain RAG tutorial does; same ``run(Question) -> Answer`` as the real one."""

    def __init__(
        self,
        retriever: Retriever,
        prompt_file: Path,
        generator: Generator | None,
        *,
        top_k: int = 4,
        extractive_sentences: int = 2,
        max_question_chars: int = 2000,
    ) -> None:
        self.retriever = retriever
        # HTML comments in the file are notes for people (where the prompt comes from).
        self.prompt = PromptTemplate.from_template(
            _COMMENT.sub("", prompt_file.read_text(encoding="utf-8"))
        )
        self.generator = generator
        self.top_k = top_k
        self.extractive_sentences = extractive_sentences
        self.max_question_chars = max_question_chars

    def run(self, question: Question) -> Answer:
        clock = Stopwatch()
        text = question_text(question, self.max_question_chars)
        passages = self.retriever.run(text, self.top_k, question.filters)
        clock.lap("retrieve")
        parts: list[str] = []
        for delta in self._compose(text, passages):
            if not parts:
                clock.since_start("first_token")
            parts.append(delta)
        answer = "".join(parts).strip()
        refused = not answer or bool(_DONT_KNOW.search(answer))
        clock.since_start("total")
        reason: RefusalReason = "composer" if passages else "retrieval"
        return Answer(
            answer=answer or NO_ANSWER,
            refused=refused,
            citations=[] if refused else sources(passages),
            passages=list(passages),
            standalone_question=text,
            language=detect_language(text),
            timings_ms=clock.timings,
            refusal_reason=reason if refused else None,
        )

    def _compose(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        if not passages:
            return iter(())
        if self.generator is None:
            first = split_sentences(passages[0].text)[: self.extractive_sentences]
            return iter([" ".join(sentence.text for sentence in first)])
        context = "\n\n".join(passage.text for passage in passages)
        prompt = self.prompt.format(question=question, context=context)
        return self.generator.stream([HumanMessage(prompt)])


def sources(passages: Sequence[Passage]) -> list[Citation]:
    """Every retrieved passage as a whole-chunk citation, the way RAG demos list "sources"."""
    return [
        Citation(
            n=n,
            doc_id=passage.doc_id,
            title=passage.title,
            chunk_id=passage.chunk_id,
            quote=passage.text,
            start=passage.start,
            end=passage.end,
            score=round(passage.score, 4),
        )
        for n, passage in enumerate(passages, start=1)
    ]
