"""``POST /v1/feedback``: a rating of an answer, kept with the answer's record for a person to
turn into evaluation cases (``qa feedback export``)."""

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Security

from qa_service.answering.feedback import UnknownAnswerError
from qa_service.api.auth import API_KEY
from qa_service.api.deps import CallerDep, FeedbackLogDep
from qa_service.api.schemas import GUARD_ERRORS, ErrorOut, FeedbackOut, FeedbackRequest
from qa_service.core.metrics import count_feedback

router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=[Security(API_KEY)])

NO_SUCH_ANSWER = "no such answer"
_ERRORS: dict[int | str, dict[str, Any]] = {
    **GUARD_ERRORS,
    404: {"model": ErrorOut, "description": "no answer of the caller's has this `answer_id`"},
    422: {"model": ErrorOut, "description": "the body is malformed"},
    503: {"model": ErrorOut, "description": "the service's database cannot be reached"},
}


@router.post("/feedback", status_code=201, responses=_ERRORS)
async def give_feedback(
    body: FeedbackRequest, caller: CallerDep, feedback: FeedbackLogDep
) -> FeedbackOut:
    """Rate an answer up or down, with an optional comment. With the answer's `id`, the
    question, answer, citations and passages it was made from are kept with it; a caller
    rates only its own answers (another caller's id is as unknown as one that does not exist).
    Rating the same answer again replaces the rating (a thumb changed, a comment added)."""
    try:
        kept = await anyio.to_thread.run_sync(feedback.give, body.to_feedback(caller.name))
    except UnknownAnswerError as error:
        raise HTTPException(404, detail=NO_SUCH_ANSWER) from error
    count_feedback(kept.rating)
    return FeedbackOut.of(kept)
