"""What a checked answer cites: the exact words of a document that support each claim."""

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Citation:
    """``quote == document_text[start:end]``: the exact words that support the claim."""

    n: int
    doc_id: str
    title: str | None
    chunk_id: str
    quote: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class CheckedSentence:
    """A sentence that held up, with its ``[n]`` markers and the citations they stand for."""

    text: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict on one sentence of a draft (or of the fallback's quote): kept or dropped, by
    which rule (``support`` when the measure alone decided) and why."""

    sentence: str
    kept: bool
    rule: str
    reason: str
    source: Literal["draft", "quote"] = "draft"


@dataclass
class CheckedAnswer:
    answer: str
    citations: list[Citation]
    unsupported: list[str] = field(default_factory=list)
    corrected: int = 0  # citation numbers moved to the passage that supports the sentence
    # One verdict per sentence checked, in order.
    checks: list[SentenceCheck] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        return bool(self.citations)
