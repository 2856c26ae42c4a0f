"""The FastAPI application: gathers the routers, the request guards and the error handlers."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from qa_service.api import errors
from qa_service.api.auth import Authentication
from qa_service.api.middleware import BodySizeLimit, CrossOrigin, TrustedHosts
from qa_service.api.requests import RequestIds, RequestLog
from qa_service.api.routes import ask, chat, documents, feedback, health, metrics
from qa_service.api.state import AppServices, ServiceState
from qa_service.core.config import Settings


def create_app(settings: Settings, load: Callable[[], AppServices]) -> FastAPI:
    """The API over the services ``load`` returns; it is called in the background as the app
    starts (``qa_service.services.build_api`` passes the composition root)."""
    state = ServiceState(settings, load)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.load_in_background()
        yield

    # /docs and /redoc from Swagger UI's and ReDoc's files shipped in fastapi-offline, not
    # from a CDN: they work offline and run no third-party code.
    app = FastAPIOffline(title="qa-service", version="0.1.0", lifespan=lifespan)
    app.state.qa = state
    app.include_router(health.router)
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(feedback.router)
    app.include_router(chat.router)
    app.include_router(metrics.router)
    # The last added runs first: an unknown host is refused before its body is read; a
    # browser's preflight (no key, no body) is answered before the key is checked, and every
    # refusal, a 401 included, carries the CORS headers the widget's page needs to read it;
    # a caller without a key is refused before the body is read. Every request, refused or
    # not, gets its id first, and its log line and count (``requests``).
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        routes={("POST", "/v1/documents"): settings.max_upload_bytes},
    )
    app.add_middleware(Authentication, access=state.access)
    app.add_middleware(CrossOrigin, origins=settings.cors_origins)
    app.add_middleware(TrustedHosts, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(RequestLog)
    app.add_middleware(RequestIds)
    errors.install(app)
    return app
