"""French and Arabic questions against their English originals, through the service's own path:
what retrieval finds for each, and the verdicts the citation check gives an English draft.

    QA_DATA_DIR=/tmp/qa-bench .venv/bin/python bench/multilingual.py [--checks] [--json]

The dataset (``--dataset``, default ``eval/datasets/interpol-news-multilingual``) holds each
question in English, French and Arabic, each line naming its English original (``original``).
Its corpus is ingested into the collection ``qa eval`` would use. Each question goes through
``AnswerService.search_query`` (language detection, then translation into English with the
configured model, ``QA_LLM``) and the configured retriever, as ``qa ask`` would search. Scored
against the English original's gold answers and sources:

- ``recall@5``: the share of a question's source documents of which one of the 5 passages the
  answerer reads (``QA_TOP_K``) holds a gold answer (an answerable question's English gold
  answers are all in its sources' text);
- ``mrr@10``: 1 / rank of the first passage of a source holding a gold answer in the top 10;
- ``doc_mrr@10``: the document ranking ``qa eval`` scores (``eval.metrics``). Document
  recall@5 is left out: with five documents it is 1.000 whatever the query.

The table gives each language's means over the answerable questions and then every French or
Arabic question that finds less than its English original, with the query it searched with.

``--checks`` also checks two English drafts of every question (the model's, and the extractive
quote) against the passages retrieved for the English question, once as the answer to the
English question and once as the answer to each translation (with the French or Arabic
question as the original, as the service does), and counts the questions whose every sentence
gets the same verdict (kept or not, by the same rule), and those where the same rules apply.

The model's replies are kept in ``bench/.cache/multilingual/`` by prompt (the local model
samples at temperature 0: the same prompt gets the same reply), so a second run that changes
only retrieval or the check does not wait for the model; ``--fresh`` asks it again. Results
go to ``bench/results/multilingual.json``.
"""

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path and bench/ingest.py would shadow "ingest".
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import hashlib
import json
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from eval.dataset import QAItem
from eval.loading import load_dataset
from eval.metrics import retrieval_scores
from eval.pipelines import build_pipeline
from eval.run import QuestionRun, rank_documents
from qa_service.answering.service import AnswerService, SearchQuery
from qa_service.citations.evidence import Asked, SpanFacts, Title, candidate_spans
from qa_service.citations.rules import RULES, RuleSet
from qa_service.core.config import Settings
from qa_service.core.files import write_atomically
from qa_service.core.schema import Passage
from qa_service.generation.base import Generator
from qa_service.generation.factory import build_generator
from qa_service.services import Services

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO / "eval" / "datasets" / "interpol-news-multilingual"
RESULTS = REPO / "bench" / "results" / "multilingual.json"
CACHE = REPO / "bench" / ".cache" / "multilingual" / "replies.json"
LANGUAGES = ("en", "fr", "ar")
READ = 5  # passages the answerer reads (QA_TOP_K's default)
DEPTH = 10


class CachedGenerator:
    """The model's replies kept on disk by prompt: at temperature 0 a prompt's reply is fixed."""

    def __init__(self, inner: Generator, path: Path, fresh: bool) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = path
        self.replies: dict[str, str] = {}
        if path.is_file() and not fresh:
            self.replies = json.loads(path.read_text(encoding="utf-8"))

    def run(self, messages: Sequence[BaseMessage]) -> str:
        key = hashlib.sha256(
            "\0".join([self.name, *(f"{m.type}:{m.text}" for m in messages)]).encode()
        ).hexdigest()
        if key not in self.replies:
            self.replies[key] = self.inner.run(messages)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, json.dumps(self.replies, ensure_ascii=False).encode())
        return self.replies[key]

    def stream(self, messages: Sequence[BaseMessage]) -> Iterator[str]:
        yield self.run(messages)

    def warm_up(self) -> None:
        self.inner.warm_up()


@dataclass
class Searched:
    item: QAItem
    language: str
    original: str  # the English question's id
    search: SearchQuery
    passages: list[Passage]  # the top DEPTH, best first
    scores: dict[str, float] = field(default_factory=dict)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--checks", action="store_true", help="compare the check's verdicts")
    parser.add_argument("--fresh", action="store_true", help="ask the model again")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    settings = Settings()
    generator = build_generator(settings) if settings.llm != "extractive" else None
    cached = CachedGenerator(generator, CACHE, args.fresh) if generator else None
    services = Services(settings, generator=cached)
    dataset = load_dataset(args.dataset)
    pipeline = build_pipeline("default", services, dataset.name, dataset.corpus.fingerprint)
    dataset.corpus.ingest(pipeline.ingestor)
    answerer = pipeline.answerer
    assert isinstance(answerer, AnswerService)
    originals = _originals(args.dataset / "qa.jsonl")

    searched = [
        _search(answerer, item, originals[item.id], settings.top_k) for item in dataset.questions
    ]
    _score(searched, pipeline.retriever.inner, settings.top_k)
    results: dict[str, Any] = {
        "dataset": dataset.name,
        "llm": cached.name if cached else "extractive (questions searched as asked)",
        "retriever": settings.retriever,
        "languages": _per_language(searched),
        "misses": _misses(searched),
        "queries": {s.item.id: s.search.text for s in searched},
    }
    if args.checks:
        results["checks"] = _checks(answerer, services, searched)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(args.out, json.dumps(results, ensure_ascii=False, indent=1).encode())
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        _print(results)


def _originals(path: Path) -> dict[str, tuple[str, str]]:
    """Each question's id -> (its language, its English original's id)."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            found[record["id"]] = (record["id"].rsplit("-", 1)[1], record["original"])
    return found


def _search(answerer: AnswerService, item: QAItem, origin: tuple[str, str], top_k: int) -> Searched:
    search = answerer.search_query(item.question)
    passages = answerer.retriever.run(search.text, max(top_k, DEPTH))
    return Searched(item, origin[0], origin[1], search, passages)


def _score(searched: list[Searched], retriever: Any, top_k: int) -> None:
    """Each answerable question's scores against its English original's gold answers."""
    english = {s.item.id: s.item for s in searched if s.language == "en"}
    runs = []
    for found in searched:
        gold = english[found.original]
        if not gold.answerable:
            continue
        answering = [_answers(passage, gold) for passage in found.passages[:DEPTH]]
        hit = {p.doc_id for p, yes in zip(found.passages[:top_k], answering, strict=False) if yes}
        found.scores["recall@5"] = len(hit) / len(gold.sources)
        rank = next((n for n, yes in enumerate(answering, 1) if yes), 0)
        found.scores["mrr@10"] = 1 / rank if rank else 0.0
        ranking = rank_documents(retriever, found.search.text)
        item = QAItem(found.item.id, found.item.question, gold.answers, gold.relevance, True)
        runs.append(QuestionRun(item, found.search.text, ranking, None))
    for question_id, scores in retrieval_scores(runs).items():
        found = next(s for s in searched if s.item.id == question_id)
        found.scores["doc_mrr@10"] = scores["mrr@10"]


def _answers(passage: Passage, gold: QAItem) -> bool:
    """Whether ``passage`` is from a source of ``gold`` and holds one of its answers."""
    text = passage.text.lower()
    return passage.doc_id in gold.sources and any(a.lower() in text for a in gold.answers)


def _per_language(searched: list[Searched]) -> dict[str, dict[str, float | int]]:
    table: dict[str, dict[str, float | int]] = {}
    for language in LANGUAGES:
        scored = [s.scores for s in searched if s.language == language and s.scores]
        table[language] = {"questions": len(scored)} | {
            name: round(statistics.fmean(scores[name] for scores in scored), 3)
            for name in ("recall@5", "mrr@10", "doc_mrr@10")
            if scored
        }
    return table


def _misses(searched: list[Searched]) -> list[dict[str, Any]]:
    """The translated questions that find less than their English original."""
    english = {s.item.id: s for s in searched if s.language == "en"}
    misses = []
    for found in searched:
        base = english[found.original]
        if found.language == "en" or not found.scores:
            continue
        worse = {
            name: (base.scores[name], value)
            for name, value in found.scores.items()
            if value < base.scores[name] - 1e-9
        }
        if worse:
            misses.append({
                "id": found.item.id,
                "question": found.item.question,
                "searched": found.search.text,
                "english": base.item.question,
                "worse": worse,
            })  # fmt: skip
    return misses


def _checks(
    answerer: AnswerService, services: Services, searched: list[Searched]
) -> dict[str, Any]:
    """The check's verdicts on the English drafts, asked in English and in translation."""
    checker = answerer.draft_check.checker
    prompts = answerer.prompts
    english = {s.item.id: s for s in searched if s.language == "en"}
    drafts: dict[str, list[str]] = {}
    for question_id, base in english.items():
        passages = base.passages[:READ]
        written = ["".join(services.quoter.stream(base.item.question, passages))]
        if answerer.assistant is not None:
            written.insert(0, "".join(answerer.composer.stream(base.item.question, passages)))
        drafts[question_id] = [d for d in written if d.strip() and not prompts.is_refusal(d)]

    def verdicts(draft: str, passages: list[Passage], found: Searched) -> list[tuple[bool, str]]:
        original = found.search.standalone if found.language != "en" else None
        checked = checker.run(draft, passages, found.search.english, original)
        return [(check.kept, check.rule) for check in checked.checks]

    def applying(found: Searched, spans: list[SpanFacts]) -> list[str]:
        original = found.search.standalone if found.language != "en" else None
        asked = Asked(found.search.english, spans, original)
        return [name for name, rule in RULES.items() if RuleSet().applies(rule, asked)]

    table: dict[str, Any] = {}
    for language in LANGUAGES[1:]:
        same_verdicts = same_rules = 0
        differ = []
        translated = [s for s in searched if s.language == language]
        for found in translated:
            base = english[found.original]
            passages = base.passages[:READ]
            mine = [verdicts(d, passages, found) for d in drafts[found.original]]
            theirs = [verdicts(d, passages, base) for d in drafts[found.original]]
            spans = _spans(passages)
            rules_here, rules_there = applying(found, spans), applying(base, spans)
            same_verdicts += mine == theirs
            same_rules += rules_here == rules_there
            if mine != theirs or rules_here != rules_there:
                differ.append({
                    "id": found.item.id,
                    "searched": found.search.english,
                    "english": base.item.question,
                    "rules": {"translation": rules_here, "english": rules_there},
                    "verdicts": {"translation": mine, "english": theirs},
                })  # fmt: skip
        table[language] = {
            "questions": len(translated),
            "same_verdicts": same_verdicts,
            "same_rules": same_rules,
            "differ": differ,
        }
    return table


def _spans(passages: Sequence[Passage]) -> list[SpanFacts]:
    """The passages' candidate spans, as the checker reads them."""
    return [
        SpanFacts(n, start, end, passage.text[start:end], Title(passage.title or ""))
        for n, passage in enumerate(passages)
        for start, end in candidate_spans(passage.text)
    ]


def _print(results: dict[str, Any]) -> None:
    print(f"{results['dataset']}: {results['llm']}, {results['retriever']} retrieval")
    print(f"{'':4}{'questions':>10}{'recall@5':>10}{'mrr@10':>9}{'doc_mrr@10':>12}")
    for language, row in results["languages"].items():
        print(
            f"{language:4}{row['questions']:>10}{row.get('recall@5', 0):>10.3f}"
            f"{row.get('mrr@10', 0):>9.3f}{row.get('doc_mrr@10', 0):>12.3f}"
        )
    if results["misses"]:
        print("\nFinding less than in English (metric: English -> this one):")
    for miss in results["misses"]:
        worse = ", ".join(f"{k} {a:.2f}->{b:.2f}" for k, (a, b) in miss["worse"].items())
        print(f"  {miss['id']}: {worse}\n    searched: {miss['searched']}")
    checks = results.get("checks")
    if checks:
        print("\nThe check on English drafts, asked in translation:")
        for language, row in checks.items():
            print(
                f"  {language}: same verdicts {row['same_verdicts']}/{row['questions']}, "
                f"same rules {row['same_rules']}/{row['questions']}"
            )
            for differ in row["differ"]:
                print(f"    {differ['id']}: {differ['searched']}")
                rules = differ["rules"]
                if rules["translation"] != rules["english"]:
                    added = sorted(set(rules["translation"]) - set(rules["english"]))
                    lost = sorted(set(rules["english"]) - set(rules["translation"]))
                    print(f"      rules added {added}, lost {lost}")
                if differ["verdicts"]["translation"] != differ["verdicts"]["english"]:
                    print(
                        f"      verdicts {differ['verdicts']['translation']} "
                        f"(English {differ['verdicts']['english']})"
                    )


if __name__ == "__main__":
    main()
