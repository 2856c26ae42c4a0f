"""Answering: question -> standalone question -> retrieve -> excerpt -> draft -> check -> answer.

The one pipeline behind ``qa ask``, ``POST /v1/ask``, its streaming twin and ``qa eval``.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from langchain_core.messages import HumanMessage

from qa_service.answering.answer import Answer, AnswerText, Event, RefusalReason
from qa_service.answering.checking import DraftCheck, Settled
from qa_service.answering.compose import Composer
from qa_service.answering.excerpts import Excerpter
from qa_service.answering.question import Question, Turn, question_text
from qa_service.answering.timing import Stopwatch
from qa_service.citations.checker import CitationChecker
from qa_service.core.schema import Passage
from qa_service.generation.base import Generator
from qa_service.generation.prompts import Prompts
from qa_service.retrieval.base import Retriever, relevance
from qa_service.text.language import (
    NAMES,
    detect_language,
    keeps_facts,
    nothing_to_translate,
    untranslated_terms,
)
from qa_service.text.tokens import count_tokens


@dataclass(frozen=True)
class SearchQuery:
    language: str  # of the question: "en", "fr" or "ar"
    standalone: str  # the question with what the conversation gave it, as asked
    english: str  # the standalone question in English: what the answer is drafted for
    text: str  # what the retriever searches with


class AnswerService:
    """Answers a question from the store, every sentence cited, or refuses plainly.

    ``assistant`` is the language model used for the small jobs around the answer (rewriting
    follow-ups, translating); without one (extractive mode) those steps are skipped.
    ``fallback`` quotes the passages when no sentence of the composer's draft holds up
    (``answering.checking``). ``excerpter`` cuts the passages down to the sentences most likely
    to answer before a language model reads them (``answering.excerpts``); the draft is still
    checked against the whole passages, so a citation's quote is the document's own text.
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
        excerpter: Excerpter | None = None,
        top_k: int = 5,
        min_retrieval_score: float = 0.25,
        max_question_chars: int = 2000,
        max_history_turns: int = 6,
    ) -> None:
        self.retriever = retriever
        self.composer = composer
        self.draft_check = DraftCheck(checker, prompts, fallback)
        self.prompts = prompts
        self.assistant = assistant
        self.excerpter = excerpter
        self.top_k = top_k
        self.min_retrieval_score = min_retrieval_score
        self.max_question_chars = max_question_chars
        self.max_history_turns = max_history_turns

    @property
    def fallback(self) -> Composer | None:
        return self.draft_check.fallback

    def warm_up(self) -> None:
        """Loads the models now rather than on the first question (``/readyz`` waits for it)."""
        self.composer.warm_up()

    def validate(self, question: Question) -> str:
        """The question's text, tidied; ``QuestionError`` when it cannot be asked."""
        return question_text(question, self.max_question_chars)

    def run(self, question: Question) -> Answer:
        for kind, value in self.stream(question):
            if kind == "done":
                assert isinstance(value, Answer)
                return value
        raise RuntimeError("the answer stream ended without an answer")

    def stream(self, question: Question) -> Iterator[Event]:
        """``status`` events as the work moves on, the answer's text as ``token`` events only
        once it has passed the citation check (a sentence at a time, with its citations), then
        ``done`` with the whole answer. Text that did not hold up is never given out."""
        clock = Stopwatch()
        text = self.validate(question)
        yield "status", "searching"
        search = self.search_query(text, question.history)
        language, standalone, query = search.language, search.standalone, search.english
        clock.lap("rewrite")

        passages = self.retriever.run(search.text, question.top_k or self.top_k, question.filters)
        clock.lap("retrieve")
        if not passages or relevance(passages) < self.min_retrieval_score:
            yield "done", self._refusal("retrieval", passages, search, clock)
            return

        yield "status", "writing"
        # Without a model the "standalone" question is only context glued on for retrieval; the
        # answer must still address what was asked now.
        asked = query if self.assistant is not None else text
        # A translated question is checked for what was asked: the kind of answer it wants, and
        # the names its asker wrote (``citations.evidence.Asked``).
        original = standalone if language != "en" and self.assistant is not None else None
        shown, shown_tokens = self._shown(asked, passages)
        clock.lap("excerpt")
        deltas = self.composer.stream(asked, shown)
        sent_any = False
        settled: Settled | None = None
        try:
            steps = self.draft_check.follow(
                _noting_first(deltas, clock), passages, asked, original, clock
            )
            for step in steps:
                if isinstance(step, Settled):
                    settled = step
                elif step == "checking":
                    yield "status", "checking"
                elif language == "en":
                    # Each checked sentence as it is kept; the answer is these, joined by spaces.
                    if not sent_any:
                        clock.since_start("first_sentence")
                    yield (
                        "token",
                        AnswerText(f" {step.text}" if sent_any else step.text, step.citations),
                    )
                    sent_any = True
        finally:
            # Closed now, not when garbage collected, if our own consumer stops (a client gone
            # mid-answer): the local model's stream holds the model's lock until it is closed.
            close = getattr(deltas, "close", None)
            if close is not None:
                close()

        if settled is None:
            raise RuntimeError("the check of the draft ended without a verdict")
        kept = settled.kept
        if kept is None:
            reason = settled.refusal_reason or "unsupported"
            refusal = self._refusal(reason, passages, search, clock)
            refusal.draft = settled.draft
            refusal.english_question = asked
            refusal.unsupported = settled.checked.unsupported
            refusal.checks = settled.checks
            refusal.passage_tokens = shown_tokens
            yield "done", refusal
            return

        answer = kept.answer
        if language != "en":
            if not nothing_to_translate(answer):
                yield "status", "translating"
                translated = self._translate(answer, language)
                # A translation that loses a marker would lose its citation; one that loses a
                # name or a number, the answer: the checked English answer is shown instead.
                if keeps_facts(answer, translated, language):
                    answer = translated
                clock.lap("translate")
            clock.since_start("first_sentence")
            yield "token", AnswerText(answer, tuple(kept.citations))
        clock.since_start("total")
        yield (
            "done",
            Answer(
                answer=answer,
                refused=False,
                citations=kept.citations,
                passages=list(passages),
                standalone_question=standalone,
                english_question=asked,
                language=language,
                timings_ms=clock.timings,
                draft=settled.draft,
                unsupported=settled.checked.unsupported,
                quoted=kept is settled.quoted,
                checks=settled.checks,
                passage_tokens=shown_tokens,
            ),
        )

    def _shown(
        self, question: str, passages: Sequence[Passage]
    ) -> tuple[list[Passage], int | None]:
        """The passages as the composer reads them, and the tokens of passage text in its prompt
        (``None``: the composer has no prompt)."""
        if self.excerpter is not None:
            excerpts = self.excerpter.run(question, passages)
            return excerpts.passages, excerpts.tokens
        if self.assistant is None:
            return list(passages), None
        return list(passages), sum(count_tokens(passage.text) for passage in passages)

    def search_query(self, text: str, history: Sequence[Turn] = ()) -> SearchQuery:
        """What the passages are searched with: the question made standalone from the
        conversation and, asked in French or Arabic, translated into English, with the names
        and numbers of the question as asked that the translation lacks."""
        language = detect_language(text)
        standalone = self._standalone(text, history)
        if language == "en" or self.assistant is None:
            return SearchQuery(language, standalone, standalone, standalone)
        english = self._in_english(standalone, language)
        extra = untranslated_terms(standalone, english)
        return SearchQuery(language, standalone, english, " ".join([english, *extra]))

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

    def _in_english(self, question: str, language: str) -> str:
        """A French or Arabic question in English (``prompts/translate_question.md``)."""
        prompt = self.prompts.render("translate_question", language=NAMES[language], text=question)
        reply = self.assistant.run([HumanMessage(prompt)]).strip() if self.assistant else ""
        return reply.splitlines()[0].strip() if reply else question

    def _translate(self, text: str, language: str) -> str:
        if self.assistant is None:
            return text
        prompt = self.prompts.render("translate", language=NAMES[language], text=text)
        return self.assistant.run([HumanMessage(prompt)]).strip() or text

    def _refusal(
        self,
        reason: RefusalReason,
        passages: Sequence[Passage],
        search: SearchQuery,
        clock: Stopwatch,
    ) -> Answer:
        clock.since_start("total")
        return Answer(
            answer=self.prompts.refusal(search.language),
            refused=True,
            citations=[],
            passages=list(passages),
            standalone_question=search.standalone,
            english_question=search.english,
            language=search.language,
            timings_ms=clock.timings,
            refusal_reason=reason,
        )


def _noting_first(deltas: Iterator[str], clock: Stopwatch) -> Iterator[str]:
    """The composer's deltas, with the time of the first one noted as ``first_token``."""
    for delta in deltas:
        if "first_token" not in clock.timings:
            clock.since_start("first_token")
        yield delta
