"""Scores for one question: answer overlap, citations against gold sources, exact quotes, and
the reasons the question counts as failed. Deterministic; no model judges anything.
"""

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from eval.run import QuestionRun
from qa_service.citations.citation import Citation

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_MARKERS = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
# ASCII punctuation plus the typographic marks and Arabic comma and question mark that
# answers in other languages use.
_PUNCTUATION = set(string.punctuation) | set(
    "\u2018\u2019\u201c\u201d\u2013\u2014\u00ab\u00bb\u060c\u061f"
)

# Why a question failed; the report and results.json use these exact words.
REFUSED_ANSWERABLE = "refused an answerable question"
ANSWERED_UNANSWERABLE = "answered an unanswerable question"
LACKS_GOLD = "answer lacks gold"
CITED_OUTSIDE = "cited a document not among sources"
CITED_NO_SOURCE = "cited none of the sources"
QUOTE_MISMATCH = "quote does not match offsets"
NOT_RETRIEVED = "no source in the top 10 documents"

DocumentText = Callable[[str], str | None]


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces; citation
    markers ``[1]`` go first."""
    text = _MARKERS.sub(" ", text.lower())
    text = "".join(char for char in text if char not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between two answers after ``normalize_answer``."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: Sequence[str]) -> float:
    return max(token_f1(prediction, gold) for gold in golds)


def contains_gold(prediction: str, golds: Sequence[str]) -> bool:
    """Whether some normalised gold answer appears, on word boundaries, in the answer."""
    answer = f" {normalize_answer(prediction)} "
    return any(f" {normalize_answer(gold)} " in answer for gold in golds if normalize_answer(gold))


def citation_precision(cited: set[str], sources: set[str]) -> float | None:
    """Share of the cited documents that are gold sources (``None`` when nothing is cited)."""
    return len(cited & sources) / len(cited) if cited else None


def citation_recall(cited: set[str], sources: set[str]) -> float | None:
    """Share of the gold sources that are cited (``None`` when there are no sources)."""
    return len(cited & sources) / len(sources) if sources else None


def quote_matches(citation: Citation, document_text: DocumentText) -> bool:
    text = document_text(citation.doc_id)
    return text is not None and text[citation.start : citation.end] == citation.quote


def score_question(run: QuestionRun, document_text: DocumentText) -> dict[str, Any]:
    """The per-question record of ``results.json``: what was asked, what came out, the scores
    and the failure reasons (metrics that do not apply are ``None``)."""
    item, answer = run.item, run.answer
    sources = set(item.sources)
    ranked = [document.doc_id for document in run.ranking]
    record: dict[str, Any] = {
        "id": item.id,
        "question": item.question,
        "answerable": item.answerable,
        "gold_answers": list(item.answers),
        "sources": sorted(sources),
        "query": run.query,
        "retrieved": ranked[:10],
        "failures": [],
    }
    failures: list[str] = record["failures"]
    if run.error:
        failures.append(run.error)
    if sources and not sources & set(ranked[:10]):
        failures.append(NOT_RETRIEVED)
    if answer is None:
        return record

    quotes = [(citation, quote_matches(citation, document_text)) for citation in answer.citations]
    cited = {citation.doc_id for citation in answer.citations}
    answered_answerable = item.answerable and not answer.refused
    has_gold = item.answerable and bool(item.answers)
    # A refusal of an answerable question scores as an empty answer.
    answer_text = "" if answer.refused else answer.answer
    record.update(
        answer=answer.answer,
        refused=answer.refused,
        refusal_reason=answer.refusal_reason,
        quoted=answer.quoted,
        # The draft and the sentences the citation check removed from it: why an answer shrank
        # or was refused, and what ``qa calibrate`` re-checks at other thresholds.
        draft=answer.draft,
        # What the draft answers: the query can hold more than the question in English.
        english_question=answer.english_question,
        unsupported=list(answer.unsupported),
        checks=[asdict(check) for check in answer.checks],
        citations=[{**asdict(citation), "quote_exact": exact} for citation, exact in quotes],
        passages=[passage.doc_id for passage in answer.passages],
        latency_ms=answer.timings_ms.get("total"),
        first_token_ms=answer.timings_ms.get("first_token"),
        first_sentence_ms=answer.timings_ms.get("first_sentence"),
        passage_tokens=answer.passage_tokens,
        answer_f1=round(best_f1(answer_text, item.answers), 4) if has_gold else None,
        answer_contains=contains_gold(answer_text, item.answers) if has_gold else None,
        citation_precision=_rounded(citation_precision(cited, sources))
        if answered_answerable
        else None,
        citation_recall=_rounded(citation_recall(cited, sources)) if answered_answerable else None,
    )
    if item.answerable and answer.refused:
        failures.append(REFUSED_ANSWERABLE)
    if not item.answerable and not answer.refused:
        failures.append(ANSWERED_UNANSWERABLE)
    if answered_answerable and item.answers and not record["answer_contains"]:
        failures.append(LACKS_GOLD)
    if answered_answerable and cited - sources:
        failures.append(CITED_OUTSIDE)
    if answered_answerable and sources and not cited & sources:
        failures.append(CITED_NO_SOURCE)
    if not all(exact for _, exact in quotes):
        failures.append(QUOTE_MISMATCH)
    return record


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
