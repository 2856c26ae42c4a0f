"""The FastAPI application: gathers the routers and the error handlers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from qa_service.api.routes import ask, health
from qa_service.api.state import ServiceState
from qa_service.core.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    state = ServiceState(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.load_in_background()
        yield

    app = FastAPI(title="qa-service", version="0.1.0", lifespan=lifespan)
    app.state.qa = state
    app.include_router(health.router)
    app.include_router(ask.router)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # Never a stack trace to the caller; the log has it.
        return JSONResponse({"detail": "internal error"}, status_code=500)

    return app
