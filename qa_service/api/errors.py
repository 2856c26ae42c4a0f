"""How errors reach a caller: a short JSON ``{"detail": ...}`` in plain words. Never a stack
trace, an exception's class, a server path or URL (the log keeps those), nor a copy of a large
input."""

import logging
from typing import Any

import httpx
from chromadb.errors import ChromaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from qa_service.api.admission import OverloadedError
from qa_service.core.database import DatabaseError
from qa_service.core.offline import OfflineResourceError
from qa_service.generation.base import GenerationError
from qa_service.stores.protocol import StoreError

logger = logging.getLogger(__name__)

STORE_UNAVAILABLE = "the document store cannot be reached"
MODEL_UNAVAILABLE = "the language model is unavailable"
DATABASE_UNAVAILABLE = "the service's database cannot be reached"
# Every answer is recorded before it is shown (docs/security.md): one that cannot be is withheld.
ANSWER_NOT_RECORDED = (
    "the answer could not be recorded (the service's database cannot be reached), so it is "
    "not shown"
)
# Which part is down, by the exception that said so; anything else is said in general terms.
# Chroma's own errors and a lost connection to its server come from the store mid-answer.
_UNAVAILABLE: tuple[tuple[type[Exception], str], ...] = (
    (StoreError, STORE_UNAVAILABLE),
    (ChromaError, STORE_UNAVAILABLE),
    (httpx.TransportError, STORE_UNAVAILABLE),
    (GenerationError, MODEL_UNAVAILABLE),
    (OfflineResourceError, "the embedding model cannot be loaded"),
    (DatabaseError, DATABASE_UNAVAILABLE),
)

# A body of 1 MiB can hold tens of thousands of unknown keys, one error each.
_MAX_ERRORS = 20
_MAX_TEXT = 200


def unavailable(error: Exception) -> str:
    """What to tell a caller about ``error`` from a part the service cannot work without."""
    return known_failure(error) or "the service could not load its models or its store"


def known_failure(error: Exception) -> str | None:
    """What to tell a caller about a part that failed while answering, or ``None`` if the
    error is not one of a part going down."""
    for kind, message in _UNAVAILABLE:
        if isinstance(error, kind):
            return message
    return None


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(OverloadedError, _overloaded)
    for kind, _ in _UNAVAILABLE:
        app.add_exception_handler(kind, _part_down)
    # Any other error is answered (a 500 with the request's id) and logged by
    # ``requests.RequestIds``.


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    # FastAPI's own handler echoes each error's ``input``, the whole body for a missing field.
    assert isinstance(error, RequestValidationError)
    errors: list[dict[str, Any]] = []
    for problem in error.errors():
        short = {
            "loc": [_clip(part) for part in problem["loc"]],
            "msg": _clip(problem["msg"]),
            "type": problem["type"],
        }
        # The body is checked once for each dependency that takes the question.
        if short not in errors:
            errors.append(short)
        if len(errors) == _MAX_ERRORS:
            break
    return JSONResponse({"detail": errors}, status_code=422)


def _clip(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    # A location can be a key of the body, of any length, with an unpaired surrogate ("\ud800")
    # that no UTF-8 response can carry.
    return value[:_MAX_TEXT].encode("utf-8", "backslashreplace").decode("utf-8")


async def _overloaded(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OverloadedError)
    return JSONResponse(
        {"detail": "the service is busy: retry later", "retry_after_ms": error.retry_after_ms},
        status_code=503,
        headers={
            "Retry-After": error.retry_after_header,
            "Retry-After-Ms": str(error.retry_after_ms),
        },
    )


async def _part_down(request: Request, error: Exception) -> JSONResponse:
    logger.error("%s %s: %s", request.method, request.url.path, unavailable(error), exc_info=error)
    return JSONResponse({"detail": unavailable(error)}, status_code=503)
