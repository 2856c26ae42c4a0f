"""Composers write a draft answer with ``[n]`` markers from a question and its passages.

The draft is then checked by ``qa_service.citations.checker``; a composer need not be trusted.
"""

from collections.abc import Iterator, Sequence
from typing import Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from qa_service.answering.excerpts import passage_sentences, rank_sentences
from qa_service.core.schema import Passage
from qa_service.embedders.base import Embedder
from qa_service.generation.base import Generator
from qa_service.generation.prompts import Prompts


class Composer(Protocol):
    name: str

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]: ...

    def warm_up(self) -> None: ...


class GenerativeComposer:
    """A language model writes the answer from the numbered passages (see ``prompts/``)."""

    def __init__(self, generator: Generator, prompts: Prompts) -> None:
        self.generator = generator
        self.prompts = prompts
        self.name = generator.name

    def messages(self, question: str, passages: Sequence[Passage]) -> list[BaseMessage]:
        shown = "\n\n".join(
            self.prompts.render(
                "passage", n=n, title=passage.title or passage.doc_id, text=passage.text
            )
            for n, passage in enumerate(passages, start=1)
            # An excerpt with nothing chosen from its passage (``answering.excerpts``).
            if passage.text
        )
        refusal = self.prompts.refusal("en")
        # Worked examples as earlier turns: a small model copies a demonstrated answer's shape
        # (the fact itself, cited) far more faithfully than it follows a described one.
        return [
            SystemMessage(self.prompts.render("system", refusal=refusal)),
            HumanMessage(self.prompts.render("example_question")),
            AIMessage(self.prompts.render("example_answer")),
            HumanMessage(self.prompts.render("example_refusal_question")),
            AIMessage(refusal),
            HumanMessage(self.prompts.render("answer", passages=shown, question=question)),
        ]

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        return self.generator.stream(self.messages(question, passages))

    def warm_up(self) -> None:
        """Loads the model and runs the fixed start of every prompt (rules and examples) once,
        so a local model keeps it cached and the first question waits for neither."""
        self.generator.warm_up()
        self.generator.run(self.messages("Are you ready?", []))


class ExtractiveComposer:
    """No language model: quotes the passage sentences closest to the question.

    Sentences are scored as the citation checker scores support (``citations.scoring``: the
    share of the question's content words they hold, blended with embedding similarity), so the
    answer is deterministic and fast.
    """

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        prompts: Prompts,
        max_sentences: int = 2,
        min_score: float = 0.35,
        lexical_weight: float = 0.5,
        runner_up_margin: float = 0.1,
    ) -> None:
        self.embedder = embedder
        self.prompts = prompts
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.lexical_weight = lexical_weight
        self.runner_up_margin = runner_up_margin

    def warm_up(self) -> None:
        self.embedder.embed(["warm-up"])

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        ranked = rank_sentences(
            question, passage_sentences(passages), self.embedder, self.lexical_weight
        )
        if not ranked:
            yield self.prompts.refusal("en")
            return
        # A runner-up far behind the best is usually about something else: leave it out.
        floor = max(self.min_score, ranked[0].score - self.runner_up_margin)
        chosen = [item for item in ranked[: self.max_sentences] if item.score >= floor]
        if not chosen:
            yield self.prompts.refusal("en")
            return
        for index, item in enumerate(chosen):
            # One line: a sentence of hand-wrapped text keeps its line breaks in the document.
            quoted = " ".join(item.sentence.text.split())
            yield ("" if index == 0 else " ") + f"{quoted} [{item.passage + 1}]"
