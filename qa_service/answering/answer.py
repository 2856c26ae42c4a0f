"""What an answerer returns: the answer, its citations, and the record of how it was reached."""

from dataclasses import dataclass, field
from typing import Literal

from qa_service.citations.citation import Citation, SentenceCheck
from qa_service.core.schema import Passage

RefusalReason = Literal["retrieval", "composer", "unsupported"]


@dataclass
class Answer:
    answer: str
    refused: bool
    citations: list[Citation]
    passages: list[Passage]
    standalone_question: str
    language: str
    # What the draft answers and the citation check reads: the question in English, translated
    # if it was asked in French or Arabic.
    english_question: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The model's answer before the citation check (empty when it was not asked).
    draft: str = ""
    # Sentences of the draft that no passage supported, removed from ``answer``.
    unsupported: list[str] = field(default_factory=list)
    # Why the answer is a refusal: "retrieval" (no passage relevant enough), "composer" (the
    # model said the documents don't say) or "unsupported" (no sentence of the draft held up).
    refusal_reason: RefusalReason | None = None
    # The model's answer did not hold up and this one quotes the passage sentences closest to
    # the question instead (see ``answering.checking.DraftCheck``).
    quoted: bool = False
    # The verdict on each sentence checked (the draft's, then the quote's): kept or dropped, by
    # which rule and why.
    checks: list[SentenceCheck] = field(default_factory=list)
    # The passage text in the language model's prompt, in tiktoken tokens (``None``: no model
    # was prompted). What decides the time to the first token on a CPU.
    passage_tokens: int | None = None


@dataclass(frozen=True)
class AnswerText:
    """A piece of the answer as it is shown: text that passed the citation check (a sentence,
    with the space that joins it to the one before), and the citations its markers stand for."""

    text: str
    citations: tuple[Citation, ...] = ()


# What the answer service is doing: searching (rewriting, translating the question, retrieving),
# writing (the composer's draft, each sentence checked as it is written), checking (the draft is
# written: its last sentence, and the quote fallback), translating (the checked answer, back
# into the question's language).
Stage = Literal["searching", "writing", "checking", "translating"]

Event = (
    tuple[Literal["status"], Stage]
    | tuple[Literal["token"], AnswerText]
    | tuple[Literal["done"], Answer]
)
