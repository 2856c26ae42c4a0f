"""Request and response bodies of the HTTP API (the shapes in CONTRACT.md)."""

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ingest.library import UploadReport
from qa_service.answering.answer import Answer, AnswerText, RefusalReason, Stage
from qa_service.answering.feedback import Feedback, NewFeedback, Rating
from qa_service.answering.question import Question, Turn
from qa_service.citations.citation import Citation, SentenceCheck
from qa_service.core.schema import GROUP_NAME, DocumentInfo, Filters


def _unicode(text: str) -> str:
    # JSON can escape half of a UTF-16 pair ("\ud800"), which no UTF-8 text can hold: not a
    # document id, nor a response. Pydantic refuses it in a str field but not in a list's items.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not Unicode text (an unpaired surrogate)") from None
    return text


Text = Annotated[str, AfterValidator(_unicode)]


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_ids: list[Text] | None = Field(None, max_length=1000)
    doc_types: list[Literal["txt", "md", "html", "pdf", "docx"]] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    groups: list[Annotated[str, Field(pattern=GROUP_NAME.pattern)]] | None = Field(
        None,
        max_length=100,
        description="search only documents of these groups (and those with no groups): "
        "they narrow the API key's groups, never widen them",
    )


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Length and emptiness are checked by the answer service, so the message is the same
    # for the API and the command line.
    question: str = Field(max_length=100_000)
    top_k: int | None = Field(None, ge=1, le=50)
    history: list[TurnIn] = Field(default_factory=list, max_length=50)
    filters: FiltersIn | None = None

    def to_question(self, groups: tuple[str, ...] | None) -> Question:
        wanted = self.filters or FiltersIn()
        return Question(
            text=self.question,
            history=tuple(Turn(turn.role, turn.content) for turn in self.history),
            filters=Filters(
                doc_ids=tuple(wanted.doc_ids) if wanted.doc_ids is not None else None,
                doc_types=tuple(wanted.doc_types) if wanted.doc_types is not None else None,
                groups=groups,
                date_from=wanted.date_from,
                date_to=wanted.date_to,
            ),
            top_k=self.top_k,
        )


class PassageOut(BaseModel):
    chunk_id: str
    doc_id: str
    title: str | None
    text: str
    start: int
    end: int
    score: float
    page: int | None = None


class AskResponse(BaseModel):
    id: str = Field(description="the answer's id, to send feedback on it")
    answer: str
    refused: bool
    citations: list[Citation]
    passages: list[PassageOut]
    timings_ms: dict[str, float]
    standalone_question: str
    language: str
    refusal_reason: RefusalReason | None = Field(
        default=None,
        description="retrieval: nothing relevant enough was found; composer: the model found "
        "no answer in the passages; unsupported: no sentence of its draft was backed by a passage",
    )

    quoted: bool = Field(
        default=False,
        description="the model's own answer was not backed by the passages, so the answer "
        "quotes the passage sentences closest to the question",
    )

    checks: list[SentenceCheck] = Field(
        default_factory=list,
        description="the verdict on each sentence of the draft (then of the quote, when the "
        "draft did not hold up): kept or dropped, by which rule (support: the support measure "
        "alone) and why; the rules are listed in docs/citations.md",
    )

    passage_tokens: int | None = Field(
        default=None,
        description="passage text in the language model's prompt, in tiktoken tokens: the "
        "sentences picked to answer from (QA_EVIDENCE_TOKENS); null when no model was prompted",
    )

    @classmethod
    def of(cls, answer: Answer, answer_id: str) -> "AskResponse":
        return cls(
            id=answer_id,
            answer=answer.answer,
            refused=answer.refused,
            citations=answer.citations,
            passages=[
                PassageOut(**{k: v for k, v in asdict(p).items() if k != "metadata"})
                for p in answer.passages
            ],
            timings_ms=answer.timings_ms,
            standalone_question=answer.standalone_question,
            language=answer.language,
            refusal_reason=answer.refusal_reason,
            quoted=answer.quoted,
            checks=answer.checks,
            passage_tokens=answer.passage_tokens,
        )


class FeedbackRequest(BaseModel):
    """A rating of an answer, as the person saw it, with an optional comment."""

    model_config = ConfigDict(extra="forbid")
    answer_id: Text | None = Field(
        None,
        max_length=100,
        description="the answer's `id` (from `/v1/ask` or the stream's `done` event): the "
        "question, answer, citations and passages it was made from are kept with the feedback",
    )
    question: Text = Field(max_length=100_000)
    answer: Text = Field(max_length=100_000)
    rating: Rating
    comment: Text | None = Field(
        None, max_length=4000, description="what was wrong with it, or anything to add"
    )

    def to_feedback(self, given_by: str) -> NewFeedback:
        return NewFeedback(
            rating=self.rating,
            question=self.question,
            answer=self.answer,
            given_by=given_by,
            answer_id=self.answer_id,
            comment=self.comment or None,
        )


class FeedbackOut(BaseModel):
    """Feedback as it is kept: one per answer and caller, the last given."""

    id: str = Field(description="the feedback's id")
    answer_id: str | None
    rating: Rating
    comment: str | None

    @classmethod
    def of(cls, feedback: Feedback) -> "FeedbackOut":
        return cls(
            id=feedback.id,
            answer_id=feedback.answer_id,
            rating=feedback.rating,
            comment=feedback.comment,
        )


class StatusOut(BaseModel):
    """A stream's ``status`` event: what the service is doing now."""

    stage: Stage


class TokenOut(BaseModel):
    """A stream's ``token`` event: answer text that passed the citation check, and the
    citations its ``[n]`` markers stand for. The ``text`` of all of them, joined, is the answer."""

    text: str
    citations: list[Citation]

    @classmethod
    def of(cls, piece: AnswerText) -> "TokenOut":
        return cls(text=piece.text, citations=list(piece.citations))


class ProblemOut(BaseModel):
    """One reason a request body was refused: where in it, and what is wrong."""

    loc: list[str | int]
    msg: str
    type: str


RequestId = Annotated[
    str,
    Field(
        description="the request's id, also in the `X-Request-ID` header: quote it to whoever "
        "runs the service, who finds the request's log lines by it"
    ),
]


class ErrorOut(BaseModel):
    """Every 4xx and 5xx body: the reason in plain words, or the body's problems (422), and
    the request's id."""

    detail: str | list[ProblemOut]
    request_id: RequestId


# What the guards in front of every /v1 route refuse, before the route runs (``middleware``,
# ``auth``): each route's documented responses start from these.
GUARD_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "an unknown Host, or a body that is not text"},
    401: {"model": ErrorOut, "description": "no API key, or one that is not valid"},
    403: {
        "model": ErrorOut,
        "description": "without a keys file: a request from another machine",
    },
    413: {"model": ErrorOut, "description": "the request body is over QA_MAX_BODY_BYTES"},
}


class DocumentOut(BaseModel):
    """A document as the store keeps it (the version stored now)."""

    doc_id: str
    title: str | None
    doc_type: Literal["txt", "md", "html", "pdf", "docx"]
    groups: list[str] = Field(description="the groups that may read it; empty: every caller")
    chunks: int = Field(description="how many chunks it was split into")
    chars: int = Field(description="the length of its text, in characters")
    date: dt.date | None = Field(description="its date, from the file's own metadata")
    ingested_at: str = Field(description="when this version was stored (ISO 8601, UTC)")
    sha256: str = Field(description="the sha256 of the file's bytes")

    @classmethod
    def of(cls, document: DocumentInfo) -> "DocumentOut":
        return cls(
            doc_id=document.doc_id,
            title=document.title,
            doc_type=document.doc_type,
            groups=list(document.groups),
            chunks=document.n_chunks,
            chars=document.chars,
            date=document.date,
            ingested_at=document.ingested_at,
            sha256=document.content_hash,
        )


class DocumentPageOut(BaseModel):
    documents: list[DocumentOut] = Field(description="by doc_id")
    next_cursor: str | None = Field(
        description="the `cursor` that gets the next page; null on the last page"
    )


class FailedUploadOut(BaseModel):
    name: str = Field(description="the file's name as sent (cut at 255 characters)")
    reason: str


class UploadOut(BaseModel):
    """What an upload did with each file, by doc_id (a file's name is its doc_id)."""

    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(
        default_factory=list, description="the same bytes and groups as stored already"
    )
    failed: list[FailedUploadOut] = Field(default_factory=list)
    chunks_written: int = 0

    @classmethod
    def of(cls, report: UploadReport) -> "UploadOut":
        return cls(
            added=report.added,
            updated=report.updated,
            skipped=report.skipped,
            failed=[
                FailedUploadOut(name=_clip(name), reason=reason)
                for name, reason in report.failed.items()
            ],
            chunks_written=report.chunks_written,
        )


class UploadRefusedOut(UploadOut):
    """An upload of which a file, or all of it, was refused: why, and what became of each
    file (the others are stored)."""

    detail: str

    @classmethod
    def of(cls, report: UploadReport) -> "UploadRefusedOut":
        failed = len(report.failed)
        total = failed + len(report.added) + len(report.updated) + len(report.skipped)
        return cls(
            detail=f"{failed} of {total} files were not stored: see failed for why",
            **UploadOut.of(report).model_dump(),
        )


class DeletedOut(BaseModel):
    deleted: str = Field(description="the doc_id")
    chunks: int = Field(description="how many chunks went with it")


def _clip(name: str, limit: int = 255) -> str:
    return name if len(name) <= limit else name[:limit] + "…"


class BusyOut(BaseModel):
    detail: str
    retry_after_ms: int = Field(description="the estimated wait, also in `Retry-After-Ms`")
    request_id: RequestId


class DocumentTextOut(BaseModel):
    """A document's text around a quote: what a citation opened in context shows."""

    doc_id: str
    title: str | None
    page: int | None = Field(
        description="the page the passage holding the quote begins on (PDFs); null for "
        "documents without pages"
    )
    text: str = Field(
        description="the document's text from `offset`: the quote with about `context` "
        "characters either side, cut between words"
    )
    offset: int = Field(description="where `text` starts in the document")
    start: int
    end: int
    quote: str = Field(
        description="the document's text between `start` and `end`: `text[start - offset:end "
        "- offset]`"
    )
    chars: int = Field(description="the document's length in characters")
