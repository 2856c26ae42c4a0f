"""The drafts of a ``qa eval`` run checked again under other settings; the model is not asked.

Each recorded draft is checked against the passages retrieved again for its recorded query
(retrieval is deterministic); questions refused before the check (by retrieval, or by the model
saying the documents don't say) stay refused. Two uses:
- ``calibrate``: other ``QA_MIN_SUPPORT`` thresholds. A threshold trades answerable questions
  refused against unanswerable ones answered; the calibration set is a run over ClapNQ, whose
  unanswerable questions come with passages from the same article (docs/evaluation.md);
- ``ablate``: each rule of the citation checker turned off in turn (``citations.rules``), so a
  rule shows what it is worth on every dataset (the report's ablation table).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from statistics import mean
from typing import Any

import numpy as np

from eval.score import best_f1, contains_gold
from qa_service.answering.checking import DraftCheck
from qa_service.answering.compose import Composer
from qa_service.citations.checker import CitationChecker
from qa_service.citations.rules import RULES, RuleSet
from qa_service.core.schema import Passage
from qa_service.embedders.base import Embedder, Vectors
from qa_service.generation.prompts import Prompts
from qa_service.retrieval.base import Retriever

DEFAULT_THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
# Refused before any sentence was checked: no threshold or rule changes these.
_REFUSED_UNCHECKED = {"retrieval", "composer"}


@dataclass(frozen=True)
class Rechecked:
    """What a run's drafts come to under one setting."""

    answerable_refused: float | None
    unanswerable_refused: float | None
    # Cited documents among the gold sources, over the answered answerable questions.
    citation_precision: float | None
    answered: int
    # Over the answerable questions with gold answers (a refusal scores 0), on the answer in
    # English: a translated question's gold answers may be in its own language.
    answer_f1: float | None = None
    answer_contains: float | None = None


@dataclass(frozen=True)
class ThresholdOutcome(Rechecked):
    min_support: float = 0.0


@dataclass(frozen=True)
class RuleOutcome(Rechecked):
    # The rule turned off; None for every rule in force.
    rule: str | None = None


@dataclass(frozen=True)
class CheckParts:
    """What a check is made of, besides the threshold and the rules."""

    retriever: Retriever
    embedder: Embedder
    top_k: int
    document_text: Callable[[Passage], str] | None = None
    # The quote fallback's composer, when the run used it.
    fallback: Composer | None = None
    prompts: Prompts | None = None


@dataclass(frozen=True)
class _Replay:
    answerable: bool
    sources: frozenset[str]
    # The question the draft answers (in English).
    query: str
    # What was asked, when the query is its translation.
    original: str | None
    golds: tuple[str, ...]
    draft: str | None  # None: refused before the check
    passages: list[Passage]


class MemoEmbedder(Embedder):
    """Embeds each distinct text once: every setting re-checks the same sentences and spans."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def dimension(self) -> int:  # type: ignore[override]
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = [text for text in dict.fromkeys(texts) if text not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.inner.embed(missing), strict=True))
        return np.stack([self._vectors[text] for text in texts]) if texts else self.inner.embed([])


def calibrate(
    results: dict[str, Any],
    parts: CheckParts,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    rules: RuleSet | None = None,
) -> list[ThresholdOutcome]:
    """The refusal rates and citation precision the run would have had at each threshold.

    Each draft goes through the service's own check (``answering.checking.DraftCheck``): with
    ``parts.fallback``, a draft with no supported sentence is replaced by its quote, as the
    service does (``QA_QUOTE_FALLBACK``)."""
    replays = _replays(results, parts)
    memo = MemoEmbedder(parts.embedder)
    return [
        ThresholdOutcome(
            **vars(_outcome(replays, _draft_check(parts, memo, threshold, rules or RuleSet()))),
            min_support=threshold,
        )
        for threshold in thresholds
    ]


def ablate(
    results: dict[str, Any],
    parts: CheckParts,
    min_support: float,
    off: Iterable[str] = (),
) -> list[RuleOutcome]:
    """The run with every rule in force (less ``off``, those the run had off), then with each
    other rule turned off in turn."""
    replays = _replays(results, parts)
    memo = MemoEmbedder(parts.embedder)
    already = frozenset(off)
    outcomes = []
    for rule in [None, *(name for name in RULES if name not in already)]:
        rules = RuleSet(off=already | ({rule} if rule else set()))
        outcome = _outcome(replays, _draft_check(parts, memo, min_support, rules))
        outcomes.append(RuleOutcome(**vars(outcome), rule=rule))
    return outcomes


def _draft_check(
    parts: CheckParts, embedder: Embedder, min_support: float, rules: RuleSet
) -> DraftCheck:
    checker = CitationChecker(
        embedder, min_support=min_support, document_text=parts.document_text, rules=rules
    )
    return DraftCheck(checker, parts.prompts or Prompts(), parts.fallback)


def _replays(results: dict[str, Any], parts: CheckParts) -> list[_Replay]:
    records = [record for record in results["per_question"] if "answer" in record]
    if not records:
        raise ValueError("the results hold no answers: run qa eval without --retrieval-only")
    if any("draft" not in record for record in records):
        raise ValueError("the results record no drafts: run qa eval again with this version")
    return [_replay(record, parts.retriever, parts.top_k) for record in records]


def _replay(record: dict[str, Any], retriever: Retriever, top_k: int) -> _Replay:
    unchecked = record["refused"] and record.get("refusal_reason") in _REFUSED_UNCHECKED
    draft = None if unchecked or not record["draft"] else record["draft"]
    passages = retriever.run(record["query"], top_k) if draft is not None else []
    # The search of a translated question adds the names the translation lost to the question
    # the draft answers; results from before it record only the query.
    asked = record.get("english_question") or record["query"]
    original = record["question"] if record["question"] != asked else None
    return _Replay(
        record["answerable"],
        frozenset(record["sources"]),
        asked,
        original,
        tuple(record.get("gold_answers") or ()),
        draft,
        passages,
    )


def _outcome(replays: Sequence[_Replay], draft_check: DraftCheck) -> Rechecked:
    refused_answerable: list[bool] = []
    refused_unanswerable: list[bool] = []
    precisions: list[float] = []
    f1s: list[float] = []
    contains: list[bool] = []
    for replay in replays:
        cited: set[str] = set()
        answer = ""
        if replay.draft is not None:
            settled = draft_check.run(replay.draft, replay.passages, replay.query, replay.original)
            if settled.kept is not None:
                cited = {citation.doc_id for citation in settled.kept.citations}
                answer = settled.kept.answer
        refused = not cited
        (refused_answerable if replay.answerable else refused_unanswerable).append(refused)
        if replay.answerable and not refused and replay.sources:
            precisions.append(len(cited & replay.sources) / len(cited))
        if replay.answerable and replay.golds:
            f1s.append(best_f1(answer, replay.golds))
            contains.append(contains_gold(answer, replay.golds))
    return Rechecked(
        answerable_refused=_share(refused_answerable),
        unanswerable_refused=_share(refused_unanswerable),
        citation_precision=round(mean(precisions), 4) if precisions else None,
        answered=sum(not r for r in refused_answerable + refused_unanswerable),
        answer_f1=round(mean(f1s), 4) if f1s else None,
        answer_contains=_share(contains),
    )


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None
