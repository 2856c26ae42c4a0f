"""What an answerer returns: the answer, its citations, and the record of how it was reached."""

from dataclasses import dataclass, field
from typing import Literal

from qa_service.citations.citation import Citation
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


Event = tuple[Literal["token"], str] | tuple[Literal["done"], Answer]
