"""The check of a draft, the same for every answerer and for ``qa calibrate``.

A draft's sentences are checked as the composer writes them: each one that holds up can be shown
at once, and no other text ever is. When no sentence of it holds up, the fallback composer's
quote of the passage sentences closest to the question is checked instead. A small model often
restates the question or adds one wrong detail to the right sentence ("45 police chiefs"),
while the passage sentence that answers is right there. When the composer says the documents
don't say, the fallback is not asked: that refusal stands.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from qa_service.answering.answer import RefusalReason
from qa_service.answering.compose import Composer
from qa_service.answering.timing import Stopwatch
from qa_service.citations.checker import CitationChecker
from qa_service.citations.citation import CheckedAnswer, CheckedSentence, SentenceCheck
from qa_service.citations.claims import parse_claims
from qa_service.citations.rules import QUOTE_FALLBACK
from qa_service.core.schema import Passage
from qa_service.generation.prompts import Prompts


@dataclass(frozen=True)
class Settled:
    """What the check made of a draft."""

    # The whole draft as the composer wrote it.
    draft: str
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
    def checks(self) -> list[SentenceCheck]:
        """The verdict on each sentence of the draft, then of the quote when it was checked."""
        return self.checked.checks + (self.quoted.checks if self.quoted is not None else [])

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
        """A draft already written, checked as ``follow`` checks one being written."""
        for step in self.follow([draft], passages, question, original_question, stopwatch):
            if isinstance(step, Settled):
                return step
        raise RuntimeError("the check ended without a verdict")

    def follow(
        self,
        deltas: Iterable[str],
        passages: Sequence[Passage],
        question: str,
        original_question: str | None = None,
        stopwatch: Stopwatch | None = None,
    ) -> Iterator[CheckedSentence | Literal["checking"] | Settled]:
        """Reads the draft as it comes (``deltas``), and gives each sentence that holds up
        once it is whole; ``"checking"`` once the draft is written (what is left is its last
        sentence's check and the fallback); then the verdict on the whole draft (``Settled``).

        ``question`` is what the passages were retrieved for and the draft answers;
        ``original_question`` what was asked, when ``question`` is its translation. A sentence
        is whole when the next one has begun: its citation markers may follow its full stop."""
        check = self.checker.start(passages, question, original_question)
        written = ""
        added = 0
        opens_with_refusal: bool | None = None
        for delta in deltas:
            written += delta
            whole = parse_claims(written)[:-1]
            if not whole or opens_with_refusal:
                continue
            # The refusal opens a draft: once its first sentence is whole, it is known.
            if opens_with_refusal is None:
                opens_with_refusal = self.prompts.is_refusal(written)
                if opens_with_refusal:
                    continue
            for claim in whole[added:]:
                check.add(claim)
            added = len(whole)
            yield from check.release()
        if stopwatch:
            stopwatch.lap("generate")
        yield "checking"
        draft = written.strip()
        declined = self.prompts.is_refusal(draft)
        if not declined:
            for claim in parse_claims(draft)[added:]:
                check.add(claim)
            yield from check.release()
        checked = check.result()
        if stopwatch:
            stopwatch.lap("check")
        quoted = None
        fallback = self.fallback if self.checker.rules.on(QUOTE_FALLBACK.name) else None
        if not declined and not checked.supported and fallback is not None:
            quote = "".join(fallback.stream(question, passages))
            if not self.prompts.is_refusal(quote):
                quoting = self.checker.start(passages, question, original_question, "quote")
                quoting.add_text(quote)
                quoted = quoting.result()
                yield from quoting.release()
            if stopwatch:
                stopwatch.lap("fallback")
        yield Settled(draft, checked, quoted, declined)
