import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import iterate_in_threadpool

from qa_service.answer import Answer, QuestionError
from qa_service.api.deps import ServicesDep
from qa_service.api.schemas import AskRequest, AskResponse
from qa_service.generate.base import GenerationError

router = APIRouter(prefix="/v1", tags=["ask"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "the question is empty, too long or malformed"},
    503: {"description": "the service is loading or the language model is unavailable"},
}


@router.post("/ask", responses=_ERRORS)
def ask(body: AskRequest, services: ServicesDep) -> AskResponse:
    """Answer a question from the documents, every sentence cited, or refuse plainly."""
    try:
        return AskResponse.of(services.answerer.run(body.to_question(groups=None)))
    except QuestionError as error:
        raise HTTPException(422, detail=str(error)) from error
    except GenerationError as error:
        raise HTTPException(503, detail=str(error)) from error


@router.post("/ask/stream", responses=_ERRORS)
async def ask_stream(body: AskRequest, services: ServicesDep) -> EventSourceResponse:
    """The same answer as Server-Sent Events: ``token`` deltas, then one ``citations``
    event, then ``done`` with the whole response body of ``/v1/ask``."""
    question = body.to_question(groups=None)
    # Bad questions fail before the stream opens, so they get a proper 422.
    try:
        services.answerer.validate(question)
    except QuestionError as error:
        raise HTTPException(422, detail=str(error)) from error

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            async for kind, value in iterate_in_threadpool(services.answerer.stream(question)):
                if isinstance(value, Answer):
                    response = AskResponse.of(value)
                    citations = response.model_dump(mode="json")["citations"]
                    yield ServerSentEvent(json.dumps(citations), event="citations")
                    yield ServerSentEvent(response.model_dump_json(), event="done")
                else:
                    yield ServerSentEvent(json.dumps({"text": value}), event=kind)
        except GenerationError as error:
            yield ServerSentEvent(json.dumps({"detail": str(error)}), event="error")

    return EventSourceResponse(events())
