"""The composition root: builds the pipeline's parts from settings, each once and only when first
needed, or takes the ones it is given (tests and ``qa eval`` share one embedding model and one
language model across several collections)."""

from functools import cached_property

from fastapi import FastAPI

from ingest.library import DocumentChange, DocumentLibrary, log_change
from ingest.pipeline import Ingestor
from ingest.split import TokenSplitter
from qa_service.answering.compose import Composer, ExtractiveComposer, GenerativeComposer
from qa_service.answering.excerpts import Excerpter
from qa_service.answering.service import AnswerService
from qa_service.api.main import create_app
from qa_service.citations.checker import CitationChecker
from qa_service.citations.rules import RuleSet
from qa_service.core.audit import AuditLog
from qa_service.core.config import Settings
from qa_service.core.database import Database
from qa_service.core.offline import enforce_offline
from qa_service.embedders.base import Embedder
from qa_service.embedders.factory import build_embedder
from qa_service.generation.base import Generator
from qa_service.generation.factory import build_generator
from qa_service.generation.prompts import Prompts
from qa_service.retrieval.base import Retriever
from qa_service.retrieval.factory import build_retriever
from qa_service.retrieval.rerank import (
    CrossEncoderReranker,
    LanguageModelReranker,
    Reranker,
    RerankingRetriever,
)
from qa_service.stores.chroma import ChromaChunkStore, open_chunk_store


class Services:
    def __init__(
        self,
        settings: Settings,
        collection: str | None = None,
        *,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        retriever: Retriever | None = None,
    ) -> None:
        """Parts given here are used as they are; the others are built from ``settings``."""
        self.settings = settings
        self.collection = collection or settings.collection
        self._embedder = embedder
        self._generator = generator
        self._retriever = retriever
        # Checked now: a misspelt rule name stops the service before it answers anything.
        self.rules = RuleSet(off=settings.check_rules_off)
        enforce_offline(settings.cache_dir)

    @cached_property
    def embedder(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        return build_embedder(self.settings)

    @cached_property
    def store(self) -> ChromaChunkStore:
        return open_chunk_store(self.settings, self.embedder, self.collection)

    @cached_property
    def splitter(self) -> TokenSplitter:
        return TokenSplitter(self.settings.chunk_size, self.settings.chunk_overlap)

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(
            self.store, self.embedder, self.splitter, embed_batch=self.settings.ingest_batch
        )

    @cached_property
    def library(self) -> DocumentLibrary:
        """Uploads, ingest runs and deletions: every change of the store, each written to the
        log and to the audit log once it is made (``record_change``)."""
        return DocumentLibrary(
            self.store, self.ingestor, self.settings.uploads_dir, on_change=self.record_change
        )

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(Database.from_settings(self.settings))

    def record_change(self, change: DocumentChange) -> None:
        """A change of the store, logged and audited under who made it; ``DatabaseError`` if
        the audit record cannot be written (the change stands: say so)."""
        log_change(change)
        kind = "removed" if change.action == "deleted" else change.action
        self.audit.documents_changed(change.caller, groups=change.groups, **{kind: [change.doc_id]})

    @cached_property
    def retriever(self) -> Retriever:
        if self._retriever is not None:
            return self._retriever
        retriever = build_retriever(self.settings, self.store, self.embedder)
        if self.settings.reranker == "none":
            return retriever
        return RerankingRetriever(retriever, self.reranker, self.settings.rerank_window)

    @cached_property
    def reranker(self) -> Reranker:
        if self.settings.reranker == "cross-encoder":
            if self.settings.reranker_model is None:
                raise ValueError("QA_RERANKER=cross-encoder needs QA_RERANKER_MODEL (a folder)")
            return CrossEncoderReranker(self.settings.reranker_model)
        if self.generator is None:
            raise ValueError("QA_RERANKER=llm needs a language model (QA_LLM local or openai)")
        return LanguageModelReranker(self.generator, self.prompts)

    @cached_property
    def prompts(self) -> Prompts:
        return Prompts(self.settings.prompts_dir)

    @cached_property
    def generator(self) -> Generator | None:
        """The language model, or ``None`` in extractive mode."""
        if self._generator is not None:
            return self._generator
        if self.settings.llm == "extractive":
            return None
        return build_generator(self.settings)

    @cached_property
    def quoter(self) -> ExtractiveComposer:
        """Quotes the passage sentences closest to the question: the composer without a
        language model, and the fallback with one."""
        return ExtractiveComposer(
            self.embedder, self.prompts, min_score=self.settings.quote_min_score
        )

    @cached_property
    def checker(self) -> CitationChecker:
        return CitationChecker(
            self.embedder,
            min_support=self.settings.min_support,
            document_text=self.store.document_text,
            rules=self.rules,
        )

    @cached_property
    def answerer(self) -> AnswerService:
        composer: Composer = (
            GenerativeComposer(self.generator, self.prompts)
            if self.generator is not None
            else self.quoter
        )
        return AnswerService(
            self.retriever,
            composer,
            self.checker,
            self.prompts,
            assistant=self.generator,
            fallback=self.quoter
            if self.generator is not None and self.settings.quote_fallback
            else None,
            excerpter=Excerpter(self.embedder, self.settings.evidence_tokens)
            if self.generator is not None and self.settings.evidence_tokens > 0
            else None,
            top_k=self.settings.top_k,
            min_retrieval_score=self.settings.min_retrieval_score,
            max_question_chars=self.settings.max_question_chars,
        )

    def answerer_over(
        self, collection: str, retriever: Retriever, evidence_tokens: int | None = None
    ) -> AnswerService:
        """The same answer service over another collection, sharing this one's models
        (``evidence_tokens``: another budget of passage text for the model)."""
        settings = self.settings
        if evidence_tokens is not None:
            settings = settings.model_copy(update={"evidence_tokens": evidence_tokens})
        return Services(
            settings,
            collection,
            embedder=self.embedder,
            generator=self.generator,
            retriever=retriever,
        ).answerer

    def warm_up(self) -> None:
        """Everything a first question would load: the store, the retriever, the models."""
        self.store.count()
        self.retriever  # noqa: B018 - built now, not on the first question
        self.answerer.warm_up()


def build_api(settings: Settings, services: Services | None = None) -> FastAPI:
    """The HTTP API over ``services``, or over services built from ``settings`` as it starts."""

    def load() -> Services:
        return services or Services(settings)

    return create_app(settings, load)
