import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any, get_args

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Security
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa_service.answering.answer import Answer, AnswerText, RefusalReason
from qa_service.answering.records import AnswerRecord, AnswerRecords
from qa_service.api.auth import API_KEY
from qa_service.api.deps import (
    AnswererDep,
    AnswerRecordsDep,
    CallerDep,
    QuestionDep,
    answer_slot,
)
from qa_service.api.errors import ANSWER_NOT_RECORDED, MODEL_UNAVAILABLE, known_failure
from qa_service.api.schemas import (
    GUARD_ERRORS,
    AskResponse,
    BusyOut,
    ErrorOut,
    StatusOut,
    TokenOut,
)
from qa_service.api.streaming import iterate_closing
from qa_service.core.database import DatabaseError
from qa_service.core.keys import Caller
from qa_service.core.logs import current_request_id
from qa_service.core.metrics import REFUSALS, observe_answer
from qa_service.generation.base import GenerationError

logger = logging.getLogger(__name__)
# Every reason is shown in /metrics, at 0 until it happens.
for _reason in get_args(RefusalReason):
    REFUSALS.labels(reason=_reason)

router = APIRouter(
    prefix="/v1", tags=["ask"], dependencies=[Security(API_KEY), Depends(answer_slot)]
)

_RETRY_AFTER = {
    "Retry-After": {"description": "when busy: seconds to wait", "schema": {"type": "integer"}},
    "Retry-After-Ms": {"description": "when busy: the same in ms", "schema": {"type": "integer"}},
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    **GUARD_ERRORS,
    422: {"model": ErrorOut, "description": "the question is empty, too long or malformed"},
    503: {
        "model": ErrorOut | BusyOut,
        "description": "the service is loading, a part it needs is down (the database among "
        "them: an answer that cannot be recorded is not given), or it is busy: then "
        "`Retry-After` and `Retry-After-Ms` say when to come back",
        "headers": _RETRY_AFTER,
    },
}
# Before OpenAPI 3.2's itemSchema, an event stream's schema is that of one event.
_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["status", "token", "citations", "done", "error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": 'status: {"stage": "searching" | "writing" | "checking" | '
            '"translating"}; token: {"text": str, "citations": [Citation]}, text that passed '
            "the citation check; citations: [Citation]; done: the /v1/ask body; error: "
            '{"detail": str}',
        },
    },
}
_EVENTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`status` and `token` events, one `citations`, then `done` (or `error`)",
        "content": {"text/event-stream": {"schema": _EVENT}},
    },
}


def answered(answer: Answer, answer_id: str) -> AskResponse:
    """The response body of ``answer``, recorded as ``answer_id``, once it is counted and
    logged: how it ended and how long it took, never its text nor the question's."""
    observe_answer(answer.timings_ms, answer.refusal_reason)
    logger.info(
        "answered",
        extra={
            "answer_id": answer_id,
            "refused": answer.refused,
            "refusal_reason": answer.refusal_reason,
            "citations": len(answer.citations),
            "quoted": answer.quoted,
            "language": answer.language,
            "timings_ms": answer.timings_ms,
        },
    )
    return AskResponse.of(answer, answer_id)


def error_event(detail: str) -> ServerSentEvent:
    """A stream's ``error`` event, with the request's id for the person to quote."""
    return ServerSentEvent(
        json.dumps({"detail": detail, "request_id": current_request_id()}), event="error"
    )


@router.post("/ask", responses=_ERRORS)
def ask(
    question: QuestionDep, answerer: AnswererDep, caller: CallerDep, records: AnswerRecordsDep
) -> AskResponse:
    """Answer a question from the documents, every sentence cited, or refuse plainly."""
    try:
        answer = answerer.run(question)
    except GenerationError as error:
        logger.exception("the language model failed")
        raise HTTPException(503, detail=MODEL_UNAVAILABLE) from error
    try:
        record = save_record(records, answer, question.text, caller)
    except DatabaseError as error:
        raise HTTPException(503, detail=ANSWER_NOT_RECORDED) from error
    return answered(answer, record.id)


def save_record(
    records: AnswerRecords, answer: Answer, question: str, caller: Caller
) -> AnswerRecord:
    """Records ``answer`` before it is shown; ``DatabaseError`` (logged) if it cannot be."""
    try:
        return records.save(AnswerRecord.of(answer, question, caller.name))
    except DatabaseError:
        logger.exception("an answer to %s was withheld: it could not be recorded", caller.name)
        raise


@router.post("/ask/stream", response_class=EventSourceResponse, responses=_EVENTS | _ERRORS)
async def ask_stream(
    question: QuestionDep, answerer: AnswererDep, caller: CallerDep, records: AnswerRecordsDep
) -> EventSourceResponse:
    """The same answer as Server-Sent Events: ``status`` events as the work moves on,
    ``token`` events with the answer's text once each sentence has passed the citation check
    (never text that did not), one ``citations`` event, then ``done`` with the whole response
    body of ``/v1/ask``. Bad questions fail before the stream opens, with a proper 422; an
    answer that cannot be recorded ends in an ``error`` event instead of ``citations``."""

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            async with aclosing(iterate_closing(answerer.stream(question))) as answer_events:
                async for kind, value in answer_events:
                    if isinstance(value, Answer):
                        try:
                            record = await anyio.to_thread.run_sync(
                                save_record, records, value, question.text, caller
                            )
                        except DatabaseError:
                            yield error_event(ANSWER_NOT_RECORDED)
                            return
                        response = answered(value, record.id)
                        citations = response.model_dump(mode="json")["citations"]
                        yield ServerSentEvent(json.dumps(citations), event="citations")
                        yield ServerSentEvent(response.model_dump_json(), event="done")
                    elif isinstance(value, AnswerText):
                        yield ServerSentEvent(TokenOut.of(value).model_dump_json(), event=kind)
                    else:
                        yield ServerSentEvent(StatusOut(stage=value).model_dump_json(), event=kind)
        except GenerationError:
            logger.exception("the language model failed mid-stream")
            yield error_event(MODEL_UNAVAILABLE)
        except Exception as error:
            # The stream is open (200 sent): an error event is the only way left to say so.
            logger.exception("an answer failed mid-stream")
            yield error_event(known_failure(error) or "internal error")

    return EventSourceResponse(events())
