"""Named pipeline configurations that ``qa eval --config`` runs side by side on the same data.

- ``default``: the service as configured (``QA_*`` settings): token chunks, the ``AnswerService``
  behind ``qa ask`` and ``/v1/ask``, checked citations.
- ``dense``, ``bm25``: the default pipeline with one search alone instead of the hybrid, over
  the same collection (retrieval ablations).
- ``whole-passages``, ``evidence-first``: the default pipeline with the language model reading
  the whole passages (``QA_EVIDENCE_TOKENS=0``), or only the sentences picked to answer from
  (``QA_EVIDENCE_TOKENS``, 400 where it is 0): the two prompts on the same data.
- ``naive``: the plain RAG baseline (``qa_service.answering.naive``): 1000-character chunks, top 4
  passages, LangChain's RAG prompt, every passage listed as a source, nothing checked.

Each configuration's chunking gets its own collection, named from a hash of the corpus, the
chunking and the embedder, so a second run over the same corpus embeds nothing.
"""

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Protocol

from ingest.pipeline import Ingestor
from ingest.split import CharacterSplitter, Splitter, TokenSplitter
from qa_service.answering.answer import Answer
from qa_service.answering.naive import NaiveAnswerService
from qa_service.answering.question import Question
from qa_service.answering.service import AnswerService
from qa_service.core.config import Settings
from qa_service.core.schema import Filters, Passage
from qa_service.embedders.base import Embedder
from qa_service.generation.base import Generator
from qa_service.generation.prompts import Prompts
from qa_service.retrieval.base import Retriever
from qa_service.retrieval.factory import build_retriever
from qa_service.stores.chroma import open_chunk_store

NAIVE_CHUNK_CHARS = 1000
NAIVE_TOP_K = 4
# The passage budget of the evidence-first configuration where the settings give none.
EVIDENCE_FIRST_TOKENS = 400


class Answerer(Protocol):
    def run(self, question: Question) -> Answer: ...


class SharedParts(Protocol):
    """What every configuration shares, given by the composition root
    (``qa_service.services.Services``): one embedder and one language model in memory, however
    many configurations run."""

    @property
    def settings(self) -> Settings: ...
    @property
    def embedder(self) -> Embedder: ...
    @property
    def generator(self) -> Generator | None: ...
    @property
    def prompts(self) -> Prompts: ...
    def answerer_over(
        self, collection: str, retriever: Retriever, evidence_tokens: int | None = None
    ) -> AnswerService:
        """The service's own answerer over another collection (``evidence_tokens``: another
        budget of passage text for the model)."""
        ...


class AsCaller:
    """Searches as a caller who may read ``groups`` would (``qa eval --groups``): only their
    documents and those without groups, inside both searches, as the API does for a key."""

    def __init__(self, inner: Retriever, groups: tuple[str, ...]) -> None:
        self.inner = inner
        self.groups = groups

    def run(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        return self.inner.run(query, top_k, replace(filters or Filters(), groups=self.groups))


class RecordingRetriever:
    """Passes searches through and remembers the last query, so the evaluation can rank the
    documents for exactly the query the answerer used (rewritten or translated), deeper."""

    def __init__(self, inner: Retriever) -> None:
        self.inner = inner
        self.last_query: str | None = None

    def run(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        self.last_query = query
        return self.inner.run(query, top_k, filters)


@dataclass
class Pipeline:
    name: str
    description: str
    collection: str
    ingestor: Ingestor
    retriever: RecordingRetriever
    build_answerer: Callable[[], Answerer] = field(repr=False)

    @cached_property
    def answerer(self) -> Answerer:
        """Built on first use, so a retrieval-only run never loads a language model."""
        return self.build_answerer()


CONFIGS = {
    "default": "the service as configured: token chunks, checked citations",
    "dense": "the default pipeline with dense (embedding) retrieval only",
    "bm25": "the default pipeline with BM25 keyword retrieval only",
    "whole-passages": "the default pipeline, the model reading whole passages (no excerpts)",
    "evidence-first": "the default pipeline, the model reading the sentences picked to answer",
    "naive": (
        f"{NAIVE_CHUNK_CHARS}-character chunks, top {NAIVE_TOP_K} passages, LangChain's RAG "
        "prompt, every passage listed as a source, no citation checking"
    ),
}


def parse_configs(text: str) -> list[str]:
    """``"default,naive"`` -> ``["default", "naive"]``; ``ValueError`` names an unknown one."""
    names = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in CONFIGS]
    if unknown or not names:
        raise ValueError(
            f"unknown configuration {', '.join(unknown) or '(none)'}: choose from "
            f"{', '.join(CONFIGS)}"
        )
    return names


def build_pipeline(
    name: str,
    base: SharedParts,
    dataset: str,
    corpus_fingerprint: str,
    groups: tuple[str, ...] | None = None,
) -> Pipeline:
    """The configuration ``name`` over the dataset's own collection, searched as a caller who
    may read ``groups`` (``None``: every document)."""
    settings = base.settings
    splitter: Splitter
    if name == "naive":
        splitter = CharacterSplitter(NAIVE_CHUNK_CHARS, 0)
    else:
        splitter = TokenSplitter(settings.chunk_size, settings.chunk_overlap)
    collection = collection_name(dataset, corpus_fingerprint, splitter, base.embedder.name)
    store = open_chunk_store(settings, base.embedder, collection)
    kind = {"naive": "dense", "dense": "dense", "bm25": "keyword"}.get(name)
    searches = build_retriever(settings, store, base.embedder, kind)
    retriever = RecordingRetriever(searches if groups is None else AsCaller(searches, groups))
    ingestor = Ingestor(store, base.embedder, splitter, embed_batch=settings.ingest_batch)

    def naive_answerer() -> Answerer:
        prompt_file = base.prompts.folder / "naive_rag.md"
        return NaiveAnswerService(retriever, prompt_file, base.generator, top_k=NAIVE_TOP_K)

    def default_answerer() -> Answerer:
        # The very AnswerService that qa ask and /v1/ask use, over this collection.
        return base.answerer_over(collection, retriever)

    def whole_passages_answerer() -> Answerer:
        return base.answerer_over(collection, retriever, evidence_tokens=0)

    def evidence_first_answerer() -> Answerer:
        budget = settings.evidence_tokens or EVIDENCE_FIRST_TOKENS
        return base.answerer_over(collection, retriever, evidence_tokens=budget)

    build = {
        "naive": naive_answerer,
        "whole-passages": whole_passages_answerer,
        "evidence-first": evidence_first_answerer,
    }.get(name, default_answerer)
    return Pipeline(name, CONFIGS[name], collection, ingestor, retriever, build)


def collection_name(
    dataset: str, corpus_fingerprint: str, splitter: Splitter, embedder_name: str
) -> str:
    """``eval-<dataset>-<hash of corpus, chunking and embedder>``, a valid Chroma name."""
    recipe = "|".join([corpus_fingerprint, splitter.fingerprint, embedder_name])
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", dataset).strip("-")[:40] or "dataset"
    return f"eval-{slug}-{digest}"
