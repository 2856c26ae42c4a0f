"""The check of a draft, the same for every answerer and for ``qa calibrate``.

A draft's citations are checked; when no sentence of it holds up, the fallback composer's quote
of the passage sentences closest to the question is checked instead. A small model often
restates the question or adds one wrong detail to the right sentence ("45 police chiefs"),
while the passage sentence that answers is right there. When the composer says the documents
don't say, the fallback is not asked: that refusal stands.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from qa_service.answering.answer import RefusalReason
from qa_service.answering.compose import Composer
from qa_service.answering.timing import Stopwatch
from qa_service.citations.checker import CitationChecker
from qa_service.citations.citation import CheckedAnswer
from qa_service.core.schema import Passage
from qa_service.generation.prompts import Prompts


@dataclass(frozen=True)
class Settled:
    """What the check made of a draft."""

    # The draft's own check (its unsupported sentences are the record of what was removed).
    checked: CheckedAnswer
    # The fallback's check, when it was asked and its quote was not itself a refusal.
    quoted: CheckedAnswer | None
    # The draft says the documents don't say.
    declined: bool

    @property
    def kept(self) -> CheckedAnswer | None:
        """The checked answer to give, or ``None``: the answer is a refusal."""
        if self.declined:
            return None
        if self.checked.supported:
            return self.checked
        return self.quoted if self.quoted is not None and self.quoted.supported else None

    @property
    def refusal_reason(self) -> RefusalReason | None:
        if self.kept is not None:
            return None
        return "composer" if self.declined else "unsupported"


class DraftCheck:
    def __init__(
        self, checker: CitationChecker, prompts: Prompts, fallback: Composer | None = None
    ) -> None:
        self.checker = checker
        self.prompts = prompts
        self.fallback = fallback

    def run(
        self,
        draft: str,
        passages: Sequence[Passage],
        question: str,
        original_question: str | None = None,
        stopwatch: Stopwatch | None = None,
    ) -> Settled:
        """``question`` is what the passages were retrieved for and the draft answers;
        ``original_question`` what was asked, when ``question`` is its translation."""
        checked = self.checker.run(draft, passages, question, original_question)
        if stopwatch:
            stopwatch.lap("check")
        declined = self.prompts.is_refusal(draft)
        quoted = None
        if not declined and not checked.supported and self.fallback is not None:
            quote = "".join(self.fallback.stream(question, passages))
            if not self.prompts.is_refusal(quote):
                quoted = self.checker.run(quote, passages, question, original_question)
            if stopwatch:
                stopwatch.lap("fallback")
        return Settled(checked, quoted, declined)
