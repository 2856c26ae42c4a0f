import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from qa_service.api.deps import StateDep
from qa_service.api.errors import STORE_UNAVAILABLE

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "still loading, or the store is down"}})
def readyz(state: StateDep, request: Request) -> JSONResponse:
    """The store and the models are loaded and the store answers. How many chunks it holds is
    told only to a caller who may read them all: to anyone else, a count that grows when a
    restricted document comes in would tell that it exists."""
    if state.services is None:
        return JSONResponse({"detail": state.error or "loading"}, status_code=503)
    try:
        chunks = state.services.store.count()
    except Exception:
        logger.exception("the store did not answer")
        return JSONResponse({"detail": STORE_UNAVAILABLE}, status_code=503)
    client = request.client.host if request.client else None
    if not state.access.sees_everything(client, request.headers):
        return JSONResponse({"status": "ready"})
    return JSONResponse(
        {"status": "ready", "collection": state.services.collection, "chunks": chunks}
    )
