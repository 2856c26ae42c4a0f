"""Answering: question -> standalone question -> retrieve -> draft -> check citations -> answer.

The one pipeline behind ``qa ask``, ``POST /v1/ask``, its streaming twin and ``qa eval``.
"""

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.messages import HumanMessage

from qa_service.answering.compose import Composer
from qa_service.citations.checker import Citation, CitationChecker
from qa_service.core.schema import Filters, Passage
from qa_service.generation.base import Generator
from qa_service.generation.prompts import Prompts
from qa_service.retrieval.hybrid import Retriever, relevance
from qa_service.text.language import NAMES, detect_language, keeps_facts, nothing_to_translate


class QuestionError(ValueError):
    """The question cannot be answered as asked (empty, too long, malformed history)."""


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Question:
    text: str
    history: tuple[Turn, ...] = ()
    filters: Filters | None = None
    top_k: int | None = None


RefusalReason = Literal["retrieval", "composer", "unsupported"]


@dataclass
class Answer:
    answer: str
    refused: bool
    citations: list[Citation]
    passages: list[Passage]
    standalone_question: str
    language: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The model's answer before the citation check (empty when it was not asked).
    draft: str = ""
    # Sentences of the draft that no passage supported, removed from ``answer``.
    unsupported: list[str] = field(default_factory=list)
    # Why the answer is a refusal: "retrieval" (no passage relevant enough), "composer" (the
    # model said the documents don't say) or "unsupported" (no sentence of the draft held up).
    refusal_reason: RefusalReason | None = None
    # The model's answer did not hold up and this one quotes the passage sentences closest to
    # the question instead (see ``AnswerService``).
    quoted: bool = False


Event = tuple[Literal["token"], str] | tuple[Literal["done"], Answer]


class AnswerService:
    """Answers a question from the store, every sentence cited, or refuses plainly.

    ``assistant`` is the language model used for the small jobs around the answer (rewriting
    follow-ups, translating); without one (extractive mode) those steps are skipped.
    ``fallback`` answers when no sentence of the composer's draft holds up: a small model often
    restates the question or adds one wrong detail to the right sentence ("45 police chiefs"),
    while the passage sentence that answers is right there. Its answer is checked the same way;
    when the composer itself says the documents don't say, it is not asked.
    """

    def __init__(
        self,
        retriever: Retriever,
        composer: Composer,
        checker: CitationChecker,
        prompts: Prompts,
        *,
        assistant: Generator | None = None,
        fallback: Composer | None = None,
        top_k: int = 5,
        min_retrieval_score: float = 0.25,
        max_question_chars: int = 2000,
        max_history_turns: int = 6,
    ) -> None:
        self.retriever = retriever
        self.composer = composer
        self.checker = checker
        self.prompts = prompts
        self.assistant = assistant
        self.fallback = fallback
        self.top_k = top_k
        self.min_retrieval_score = min_retrieval_score
        self.max_question_chars = max_question_chars
        self.max_history_turns = max_history_turns

    def warm_up(self) -> None:
        """Loads the models now rather than on the first question (``/readyz`` waits for it)."""
        self.composer.warm_up()

    def run(self, question: Question) -> Answer:
        for kind, value in self.stream(question):
            if kind == "done":
                assert isinstance(value, Answer)
                return value
        raise RuntimeError("the answer stream ended without an answer")

    def stream(self, question: Question) -> Iterator[Event]:
        started = time.perf_counter()
        timings: dict[str, float] = {}

        def lap(name: str, since: float) -> float:
            now = time.perf_counter()
            timings[name] = round((now - since) * 1000, 1)
            return now

        text = self.validate(question)
        language = detect_language(text)
        standalone = self._standalone(text, question.history)
        query = standalone if language == "en" else self._translate(standalone, "en")
        mark = lap("rewrite", started)

        passages = self.retriever.run(query, question.top_k or self.top_k, question.filters)
        mark = lap("retrieve", mark)
        if not passages or relevance(passages) < self.min_retrieval_score:
            yield (
                "done",
                self._refusal("retrieval", passages, standalone, language, timings, started),
            )
            return

        # Without a model the "standalone" question is only context glued on for retrieval; the
        # answer must still address what was asked now.
        asked = query if self.assistant is not None else text
        draft_parts: list[str] = []
        deltas = self.composer.stream(asked, passages)
        try:
            for delta in deltas:
                if not draft_parts:
                    timings["first_token"] = round((time.perf_counter() - started) * 1000, 1)
                draft_parts.append(delta)
                if language == "en":
                    yield "token", delta
        finally:
            # Closed now, not when garbage collected, if our own consumer stops (a client gone
            # mid-answer): the local model's stream holds the model's lock until it is closed.
            close = getattr(deltas, "close", None)
            if close is not None:
                close()
        draft = "".join(draft_parts).strip()
        mark = lap("generate", mark)

        # A translated question's names are the translation's spelling: only those the asker wrote
        # alike are held against the passages.
        original = standalone if language != "en" and self.assistant is not None else None
        checked = self.checker.run(draft, passages, asked, original)
        mark = lap("check", mark)
        declined = self.prompts.is_refusal(draft)
        quoted = None
        if not declined and not checked.supported and self.fallback is not None:
            quote = "".join(self.fallback.stream(asked, passages))
            if not self.prompts.is_refusal(quote):
                quoted = self.checker.run(quote, passages, asked, original)
            mark = lap("fallback", mark)
        if declined or not (checked.supported or (quoted and quoted.supported)):
            reason: RefusalReason = "composer" if declined else "unsupported"
            refusal = self._refusal(reason, passages, standalone, language, timings, started)
            refusal.draft = draft
            refusal.unsupported = checked.unsupported
            yield "done", refusal
            return

        unsupported = checked.unsupported
        if quoted is not None:
            checked = quoted
        answer = checked.answer
        if language != "en":
            if not nothing_to_translate(answer):
                translated = self._translate(answer, language)
                # A translation that loses a marker would lose its citation; one that loses a
                # name or a number, the answer: the checked English answer is shown instead.
                if keeps_facts(answer, translated, language):
                    answer = translated
                lap("translate", mark)
            yield "token", answer
        timings["total"] = round((time.perf_counter() - started) * 1000, 1)
        yield (
            "done",
            Answer(
                answer=answer,
                refused=False,
                citations=checked.citations,
                passages=list(passages),
                standalone_question=standalone,
                language=language,
                timings_ms=timings,
                draft=draft,
                unsupported=unsupported,
                quoted=quoted is not None,
            ),
        )

    def validate(self, question: Question) -> str:
        """The question's text, tidied; ``QuestionError`` when it cannot be asked."""
        text = " ".join(question.text.split())
        if not text:
            raise QuestionError("the question is empty")
        if len(text) > self.max_question_chars:
            raise QuestionError(
                f"the question is too long ({len(text)} characters, at most "
                f"{self.max_question_chars})"
            )
        return text

    def _standalone(self, text: str, history: Sequence[Turn]) -> str:
        recent = list(history)[-self.max_history_turns :]
        if not recent:
            return text
        if self.assistant is None:
            # Without a model, the previous question carries the context into retrieval.
            asked = [turn.content for turn in recent if turn.role == "user"]
            return f"{asked[-1]} {text}" if asked else text
        conversation = "\n".join(f"{turn.role}: {turn.content}" for turn in recent)
        prompt = self.prompts.render("rewrite", history=conversation, question=text)
        rewritten = self.assistant.run([HumanMessage(prompt)]).strip().strip('"')
        return rewritten.splitlines()[0] if rewritten else text

    def _translate(self, text: str, language: str) -> str:
        if self.assistant is None:
            return text
        prompt = self.prompts.render("translate", language=NAMES[language], text=text)
        return self.assistant.run([HumanMessage(prompt)]).strip() or text

    def _refusal(
        self,
        reason: RefusalReason,
        passages: Sequence[Passage],
        standalone: str,
        language: str,
        timings: dict[str, float],
        started: float,
    ) -> Answer:
        timings["total"] = round((time.perf_counter() - started) * 1000, 1)
        return Answer(
            answer=self.prompts.refusal(language),
            refused=True,
            citations=[],
            passages=list(passages),
            standalone_question=standalone,
            language=language,
            timings_ms=timings,
            refusal_reason=reason,
        )
