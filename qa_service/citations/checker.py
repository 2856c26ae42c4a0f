"""Citation checking: every sentence of an answer must be backed by a quoted passage span.

For each sentence the checker scores every candidate span of every passage (one sentence, or
two adjacent ones) by explainable measures, and keeps the best:
- ``answer``: the share of what the sentence adds to the question (its content words, stemmed,
  that the question does not hold) found in the span. A sentence that only restates the
  question adds nothing and scores 0. A span that one of the span rules blocks (an invented
  number or name, an answer of the wrong type: ``citations.rules``) gives 0;
- ``topic``: the share of the question's content words in the span or the passage's title, so
  that a right-looking word in a sentence about something else ("2018", from an unrelated
  date) is not taken for the answer;
- ``semantic``: cosine similarity of the MiniLM embeddings of "question + sentence" and span.
``lexical = answer * (1 + topic) / 2`` and
``support = lexical_weight * lexical + (1 - lexical_weight) * semantic``. A citation stays only
if its passage supports the sentence at ``min_support``; the rules' second chances follow (cite
the passage that supports, cut a place the question did not ask about, read two passages
together), and a sentence nothing supports is dropped and listed in ``unsupported``. Last, the
documents the answer cites must be about the question. Each sentence's verdict, with the rule
that decided and why, is kept in ``CheckedAnswer.checks``.
"""

import difflib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

import numpy as np

from qa_service.citations import rules as named
from qa_service.citations.citation import CheckedAnswer, CheckedSentence, Citation, SentenceCheck
from qa_service.citations.claims import Claim, parse_claims, with_markers
from qa_service.citations.evidence import (
    Asked,
    ClaimFacts,
    SpanFacts,
    Title,
    candidate_spans,
    without_places,
)
from qa_service.citations.rules import SUPPORT, RuleSet, SpanRule
from qa_service.citations.scoring import share_found, support_score
from qa_service.core.schema import Passage
from qa_service.embedders.base import Embedder
from qa_service.text.analysis import analyse
from qa_service.text.sentences import numbers, words


@dataclass(frozen=True)
class Support:
    passage: int
    start: int  # within the passage text
    end: int
    answer: float
    topic: float
    semantic: float
    score: float
    # The score the span would have had if no rule had blocked it, and the rule that did.
    unblocked: float
    blocked_by: tuple[str, str] | None = None  # (rule, reason)


@dataclass(frozen=True)
class _Evidence:
    """What every claim of one answer is checked against: the candidate spans, their
    embeddings, what the question asks, and the span rules that apply to it."""

    spans: list[SpanFacts]
    vectors: np.ndarray
    asked: Asked
    span_rules: tuple[SpanRule, ...]


@dataclass(frozen=True)
class Backing:
    """The passages (1-based) that back a claim, the best span of each, and the verdict."""

    passages: list[int]
    best: dict[int, Support]
    rule: str
    reason: str


@dataclass(frozen=True)
class Rejection:
    rule: str
    reason: str


class CitationChecker:
    """Checks and repairs the citations of an answer against the passages it was written from.

    >>> from qa_service.embedders.sentence_transformer import SentenceTransformerEmbedder
    >>> text = "Police chiefs from 12 countries met at INTERPOL headquarters in Lyon in May."
    >>> passage = Passage("a#v#0", "a", None, text, 0, len(text), 1.0)
    >>> checker = CitationChecker(SentenceTransformerEmbedder())
    >>> question = "Where did the police chiefs meet?"
    >>> checked = checker.run("They met in Lyon [1].", [passage], question)
    >>> checked.answer, checked.citations[0].quote == text, checked.checks[0].rule
    ('They met in Lyon [1].', True, 'support')
    """

    def __init__(
        self,
        embedder: Embedder,
        min_support: float = 0.5,
        lexical_weight: float = 0.5,
        document_text: Callable[[Passage], str] | None = None,
        rules: RuleSet | None = None,
    ) -> None:
        """``document_text`` gives the whole document a passage comes from (the store's); without
        it, what a cited document mentions is read from its retrieved passages only. ``rules``:
        all of them unless some are turned off (``RuleSet(off=...)``)."""
        self.embedder = embedder
        self.min_support = min_support
        self.lexical_weight = lexical_weight
        self.document_text = document_text
        self.rules = rules or RuleSet()

    def run(
        self,
        answer: str,
        passages: Sequence[Passage],
        question: str = "",
        original_question: str | None = None,
    ) -> CheckedAnswer:
        """``question`` is what the passages were retrieved for; ``original_question``, when it
        was translated into it, what was asked (only names written alike in both are trusted)."""
        check = self.start(passages, question, original_question)
        check.add_text(answer)
        return check.result()

    def start(
        self,
        passages: Sequence[Passage],
        question: str = "",
        original_question: str | None = None,
        source: Literal["draft", "quote"] = "draft",
    ) -> "AnswerCheck":
        """The check of an answer still being written: its claims are added as they come.
        ``source`` names it in the verdict trail."""
        return AnswerCheck(self, passages, question, original_question, source)


class AnswerCheck:
    """One answer's check, claim by claim in the order they are written: what
    ``CitationChecker.run`` does to a whole answer, so that a stream can show each sentence as
    soon as it holds up. A sentence kept now stays kept and keeps its citation numbers: each
    claim is judged on its own, numbers are given in order, and the documents cited only grow
    (so once they mention what the question is about, they still do)."""

    def __init__(
        self,
        checker: CitationChecker,
        passages: Sequence[Passage],
        question: str,
        original_question: str | None,
        source: Literal["draft", "quote"] = "draft",
    ) -> None:
        self.checker = checker
        self.rules = checker.rules
        self.passages = passages
        self.question = question
        self.original_question = original_question
        self.source: Literal["draft", "quote"] = source
        self._claims: list[Claim] = []
        self._kept: list[CheckedSentence] = []
        self._checks: list[SentenceCheck] = []
        self._shown = 0
        self._numbered: dict[tuple[str, int, int], Citation] = {}
        self._unsupported: list[str] = []
        self._corrected = 0
        self._anchored = False
        # What the cited documents say, each passage (or whole document) read once.
        self._read: dict[str, str] = {}
        self._passages_read: set[int] = set()

    @cached_property
    def _evidence(self) -> "_Evidence | None":
        """Every candidate span, embedded, what the question asks and the span rules that
        apply to it: made on the first claim, so a draft that says the documents don't say
        costs nothing here."""
        titles = [Title(passage.title or "") for passage in self.passages]
        analyses = [analyse(passage.text) for passage in self.passages]
        spans = [
            SpanFacts(
                index,
                start,
                end,
                passage.text[start:end],
                titles[index],
                analyses[index].within(start, end),
            )
            for index, passage in enumerate(self.passages)
            for start, end in candidate_spans(passage.text)
        ]
        if not spans:
            return None
        vectors = self.checker.embedder.embed([span.text for span in spans])
        asked = Asked(self.question, spans, self.original_question)
        return _Evidence(spans, vectors, asked, self.rules.span_rules(asked))

    def add(self, claim: Claim) -> None:
        self._claims.append(claim)
        if self._evidence is None:
            self._unsupported.append(claim.text)
            self._drop(claim.text, SUPPORT, "no passage text to check against")
            return
        asked = self._evidence.asked
        found = self._supported(claim)
        # A small model adds a wrong place to a right sentence ("held in Morocco from May 16
        # to 18"): the sentence without it is tried, and the place listed as unsupported.
        if isinstance(found, Rejection) and self.rules.applies(named.CUT_UNASKED_PLACES, asked):
            shorter = without_places(claim.text, asked)
            retried = None if shorter is None else self._supported(Claim(shorter, claim.cited))
            if isinstance(retried, Backing) and shorter is not None:
                cut = _cut(claim.text, shorter)
                self._unsupported.append(cut)
                claim = Claim(shorter, claim.cited)
                found = replace(
                    retried,
                    rule=named.CUT_UNASKED_PLACES.name,
                    reason=f'without "{cut}": {retried.reason}',
                )
        if isinstance(found, Rejection):
            self._unsupported.append(claim.text)
            self._drop(claim.text, found.rule, found.reason)
            return
        self._corrected += bool(claim.cited) and not set(found.passages) <= set(claim.cited)
        cited: dict[int, Citation] = {}
        for n in found.passages:
            citation = _citation(self.passages[n - 1], found.best[n - 1], len(self._numbered) + 1)
            citation = self._numbered.setdefault(
                (citation.chunk_id, citation.start, citation.end), citation
            )
            cited[citation.n] = citation
        markers = sorted(cited)
        self._kept.append(
            CheckedSentence(with_markers(claim.text, markers), tuple(cited[n] for n in markers))
        )
        self._checks.append(SentenceCheck(claim.text, True, found.rule, found.reason, self.source))
        self._anchored = self._anchored or self._about_the_question(asked)

    def add_text(self, text: str) -> None:
        """Every claim of ``text``, in order."""
        for claim in parse_claims(text):
            self.add(claim)

    def release(self) -> list[CheckedSentence]:
        """The sentences kept since the last call, once the documents they cite are about the
        question; until then none (and, if they never are, none at all)."""
        if not self._anchored:
            return []
        new = self._kept[self._shown :]
        self._shown = len(self._kept)
        return new

    def result(self) -> CheckedAnswer:
        if self._kept and not self._anchored:
            rule = named.CITED_DOCUMENTS_ABOUT_QUESTION
            checks = [
                replace(check, kept=False, rule=rule.name, reason=self._off_topic)
                if check.kept
                else check
                for check in self._checks
            ]
            return CheckedAnswer("", [], [claim.text for claim in self._claims], checks=checks)
        return CheckedAnswer(
            " ".join(sentence.text for sentence in self._kept),
            sorted(self._numbered.values(), key=lambda citation: citation.n),
            self._unsupported,
            self._corrected,
            list(self._checks),
        )

    def _drop(self, sentence: str, rule: str, reason: str) -> None:
        self._checks.append(SentenceCheck(sentence, False, rule, reason, self.source))

    def _supported(self, claim: Claim) -> Backing | Rejection:
        assert self._evidence is not None
        span_vectors, asked = self._evidence.vectors, self._evidence.asked
        # The sentence is read as the answer to the question: "2018." alone means nothing.
        vector = self.checker.embedder.embed([f"{self.question} {claim.text}".strip()])[0]
        similarity = span_vectors @ vector
        sentence = ClaimFacts(claim.text, asked)
        best, unblocked = self._best_per_passage(sentence, similarity)
        kept = [n for n in claim.cited if self._supports(best.get(n - 1))]
        if kept:
            return Backing(kept, best, SUPPORT, _scored(best, kept))
        strongest = max(best.values(), key=lambda support: support.score)
        moving = bool(claim.cited)
        if self._supports(strongest) and (
            not moving or self.rules.on(named.CITE_THE_SUPPORTING_PASSAGE.name)
        ):
            n = strongest.passage + 1
            if not moving:
                return Backing([n], best, SUPPORT, _scored(best, [n]))
            cited = "".join(f"[{m}]" for m in claim.cited)
            reason = f"cited {cited}, but {_scored(best, [n])}"
            return Backing([n], best, named.CITE_THE_SUPPORTING_PASSAGE.name, reason)
        if self.rules.applies(named.JOIN_TWO_PASSAGES, asked) and (
            pair := self._best_pair(sentence, similarity)
        ):
            first, second = (support.passage + 1 for support in pair)
            reason = f"passages {first} and {second} read together score {pair[0].score:.2f}"
            return Backing(
                [first, second],
                {s.passage: s for s in pair},
                named.JOIN_TWO_PASSAGES.name,
                reason,
            )
        where = f"the best span (passage {unblocked.passage + 1})"
        if unblocked.blocked_by is not None:
            rule, why = unblocked.blocked_by
            return Rejection(rule, f"{where}: {why}")
        return Rejection(
            SUPPORT, f"{where} scores {unblocked.score:.2f} < {self.checker.min_support}"
        )

    @property
    def _spans(self) -> list[SpanFacts]:
        assert self._evidence is not None
        return self._evidence.spans

    def _supports(self, support: Support | None) -> bool:
        return support is not None and support.score >= self.checker.min_support

    def _best_per_passage(
        self, sentence: ClaimFacts, similarity: np.ndarray
    ) -> tuple[dict[int, Support], Support]:
        """Each passage's best span for the claim, and the span that would be best of all if no
        rule blocked any (why the claim fails, when it does)."""
        spans = self._spans
        best: dict[int, Support] = {}
        unblocked: Support | None = None
        for column, span in enumerate(spans):
            support = self._support(sentence, span, float(similarity[column]))
            if span.passage not in best or support.score > best[span.passage].score:
                best[span.passage] = support
            if unblocked is None or support.unblocked > unblocked.unblocked:
                unblocked = support
        assert unblocked is not None
        return best, unblocked

    def _best_pair(
        self, sentence: ClaimFacts, similarity: np.ndarray
    ) -> tuple[Support, Support] | None:
        """Two spans of two passages that support the sentence together and neither alone: a
        sentence joining facts from two documents ("Operation Neptune II and Operation Trigger
        II"). Each span must give some of the sentence's words that the other lacks."""
        spans = self._spans
        candidates: dict[int, list[int]] = {}
        for column, span in enumerate(spans):
            candidates.setdefault(span.passage, []).append(column)
        for passage, columns in candidates.items():
            # The few spans of each passage that give most of the sentence's words.
            columns.sort(key=lambda c: (-len(sentence.terms & spans[c].terms), -similarity[c]))
            candidates[passage] = columns[:_PAIR_CANDIDATES]
        found: tuple[Support, Support] | None = None
        passages = sorted(candidates)
        for index, first in enumerate(passages):
            for second in passages[index + 1 :]:
                for a, b in itertools.product(candidates[first], candidates[second]):
                    one, other = spans[a], spans[b]
                    if not (sentence.terms & one.terms) - other.terms:
                        continue
                    if not (sentence.terms & other.terms) - one.terms:
                        continue
                    semantic = max(float(similarity[a]), float(similarity[b]))
                    joint = self._support(sentence, one.joined(other), semantic)
                    if self._supports(joint) and (found is None or joint.score > found[0].score):
                        found = (
                            replace(joint, passage=one.passage, start=one.start, end=one.end),
                            replace(joint, passage=other.passage, start=other.start, end=other.end),
                        )
        return found

    def _support(self, sentence: ClaimFacts, span: SpanFacts, semantic: float) -> Support:
        """``lexical = answer * (1 + topic) / 2``; a span a rule blocks gives no ``answer``."""
        assert self._evidence is not None
        asked, span_rules = self._evidence.asked, self._evidence.span_rules
        blocked_by = None
        for rule in span_rules:
            verdict = rule.check(asked, sentence, span)
            if not verdict.ok:
                blocked_by = (rule.name, verdict.reason)
                break
        share = share_found(sentence.terms, span.terms)
        topic = share_found(asked.terms, span.terms | span.title_terms, if_nothing_wanted=1.0)
        weight = self.checker.lexical_weight
        unblocked = support_score(share * (1 + topic) / 2, semantic, weight)
        answer = 0.0 if blocked_by else share
        score = support_score(answer * (1 + topic) / 2, semantic, weight)
        return Support(
            span.passage,
            span.start,
            span.end,
            answer,
            topic,
            semantic,
            score,
            unblocked,
            blocked_by,
        )

    def _about_the_question(self, asked: Asked) -> bool:
        """Whether the documents the answer cites mention what the question is about: every
        name and number of the question (see ``rules.CitedDocumentsAboutQuestion``)."""
        rule = named.CITED_DOCUMENTS_ABOUT_QUESTION
        if not self.rules.applies(rule, asked):
            return True
        cited = {citation.doc_id for citation in self._numbered.values()}
        read = self.checker.document_text
        for index, passage in enumerate(self.passages):
            if passage.doc_id not in cited or index in self._passages_read:
                continue
            self._passages_read.add(index)
            if read and passage.doc_id in self._read:
                continue  # the whole document is read already
            text = read(passage) if read else passage.text
            earlier = self._read.get(passage.doc_id, passage.title or "")
            self._read[passage.doc_id] = f"{earlier}\n{text}"
        everything = "\n".join(self._read.values())
        verdict = rule.check(asked, words(everything), numbers(everything))
        self._off_topic = verdict.reason
        return verdict.ok

    _off_topic = ""


def _citation(passage: Passage, support: Support, n: int) -> Citation:
    return Citation(
        n=n,
        doc_id=passage.doc_id,
        title=passage.title,
        chunk_id=passage.chunk_id,
        quote=passage.text[support.start : support.end],
        start=passage.start + support.start,
        end=passage.start + support.end,
        score=round(support.score, 4),
    )


def _scored(best: dict[int, Support], passages: list[int]) -> str:
    """``passage 2 scores 0.71``, for the passages (1-based) that back a claim."""
    return "; ".join(f"passage {n} scores {best[n - 1].score:.2f}" for n in passages)


# Spans of each passage tried in pairs with another passage's.
_PAIR_CANDIDATES = 3


def _cut(text: str, kept: str) -> str:
    """What ``kept`` leaves out of ``text``, for the record of what was unsupported."""
    matcher = difflib.SequenceMatcher(a=text, b=kept, autojunk=False)
    removed = [text[i1:i2] for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"]
    return " … ".join(part.strip(" ,") for part in removed if part.strip(" ,"))
