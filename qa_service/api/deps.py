"""What routes may ask for, as ``Annotated`` aliases."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from ingest.library import DocumentLibrary, PermissionRefusedError, require_role
from qa_service.answering.feedback import FeedbackLog
from qa_service.answering.question import Question, QuestionError
from qa_service.answering.records import AnswerRecords
from qa_service.answering.service import AnswerService
from qa_service.api.auth import KEY_REQUIRED, request_caller
from qa_service.api.schemas import AskRequest
from qa_service.api.state import AppServices, ServiceState
from qa_service.core.keys import Caller, Role


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.qa
    return state


def get_services(state: Annotated[ServiceState, Depends(get_state)]) -> AppServices:
    if state.services is None:
        raise HTTPException(503, detail=state.error or "the service is still loading")
    return state.services


def get_caller(request: Request) -> Caller:
    """Who is calling, as ``auth.Authentication`` accepted them before the route ran."""
    caller = request_caller(request.scope)
    if caller is None:  # a route outside the authenticated prefix that asks for a caller
        raise HTTPException(401, detail=KEY_REQUIRED, headers={"WWW-Authenticate": "Bearer"})
    return caller


StateDep = Annotated[ServiceState, Depends(get_state)]
ServicesDep = Annotated[AppServices, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(get_caller)]


def get_editor(caller: CallerDep, state: StateDep) -> Caller:
    """The caller, if its key may add and delete documents: a 403 otherwise, before a byte of
    the request's body is read. Every change is audited (``Services.record_change``), so with
    the database down a change is refused before it is made (503, ``DatabaseError``)."""
    try:
        require_role(caller, Role.EDITOR)
    except PermissionRefusedError as refused:
        raise HTTPException(403, detail=str(refused)) from refused
    state.database.check()
    return caller


EditorDep = Annotated[Caller, Depends(get_editor)]


def get_library(services: ServicesDep) -> DocumentLibrary:
    return services.library


LibraryDep = Annotated[DocumentLibrary, Depends(get_library)]


def get_answerer(services: ServicesDep) -> AnswerService:
    return services.answerer


AnswererDep = Annotated[AnswerService, Depends(get_answerer)]


def get_answer_records(state: StateDep) -> AnswerRecords:
    """Where answers are recorded, checked first: when the database is down a question is
    refused at once (503, ``DatabaseError``), not after its answer was worked out."""
    state.answers.check()
    return state.answers


AnswerRecordsDep = Annotated[AnswerRecords, Depends(get_answer_records)]


def get_feedback_log(state: StateDep) -> FeedbackLog:
    return state.feedback


FeedbackLogDep = Annotated[FeedbackLog, Depends(get_feedback_log)]


def get_reader_groups(caller: CallerDep) -> tuple[str, ...] | None:
    """The groups whose documents the caller may read, for ``Filters.groups`` (``None``: every
    document). Every route that reads documents takes it."""
    return caller.narrowed(None)


ReaderGroupsDep = Annotated[tuple[str, ...] | None, Depends(get_reader_groups)]


def get_question(body: AskRequest, answerer: AnswererDep, caller: CallerDep) -> Question:
    """The question asked, searching only the documents the caller may read (the groups it
    asks for narrow its own, never widen them), checked the way the command line checks it
    (422 if it cannot be)."""
    requested = body.filters.groups if body.filters is not None else None
    groups = caller.narrowed(tuple(requested) if requested is not None else None)
    question = body.to_question(groups)
    try:
        answerer.validate(question)
    except QuestionError as error:
        raise HTTPException(422, detail=str(error)) from error
    return question


QuestionDep = Annotated[Question, Depends(get_question)]


async def answer_slot(state: StateDep, question: QuestionDep) -> AsyncIterator[None]:
    """Holds one of the answer slots until the response is sent, a stream's last event
    included; a 503 with Retry-After when none is free and the queue is full. It takes the
    question only to come after it: a bad request is refused without queueing."""
    async with state.admission.slot():
        yield
