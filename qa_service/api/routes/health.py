from fastapi import APIRouter
from fastapi.responses import JSONResponse

from qa_service.api.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "still loading, or the store is down"}})
def readyz(state: StateDep) -> JSONResponse:
    """The store and the models are loaded and the store answers."""
    if state.services is None:
        return JSONResponse({"detail": state.error or "loading"}, status_code=503)
    try:
        chunks = state.services.store.count()
    except Exception as error:
        return JSONResponse({"detail": f"store unavailable: {error}"}, status_code=503)
    return JSONResponse(
        {"status": "ready", "collection": state.services.collection, "chunks": chunks}
    )
