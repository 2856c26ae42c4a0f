"""What every request leaves behind: an id that follows it everywhere, one log line and one
count.

``RequestIds`` runs first: it gives the request its id (a plain ``X-Request-ID`` the client
sent, or a new one), which every log line written for the request carries
(``qa_service.core.logs``), every response returns as ``X-Request-ID``, and every JSON error
body returns as ``request_id`` beside ``detail``, so that a person can quote it and the
operator find the request's lines. ``RequestLog``, just inside it, writes the request's line
(method, route template, status, time, caller) and counts it for ``/metrics``.
"""

import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa_service.api.auth import request_caller
from qa_service.core.logs import REQUEST_ID
from qa_service.core.metrics import count_request

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# A client's own id is kept when it is short and plain: it goes into log lines and headers.
_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# A request no route matches: its path is not a label (anyone can make up paths).
UNMATCHED = "unmatched"


def request_id_of(headers: Headers) -> str:
    """The id a request goes by: the client's ``X-Request-ID`` if short and plain, otherwise
    a new one.

    >>> request_id_of(Headers({"x-request-id": "ticket-4242"}))
    'ticket-4242'
    >>> len(request_id_of(Headers({"x-request-id": "<script>"})))
    32
    """
    given = headers.get(REQUEST_ID_HEADER, "")
    return given if _PLAIN_ID.fullmatch(given) else uuid.uuid4().hex


class RequestIds:
    """Gives each request its id; see the module's docstring. An error no handler answered
    is logged here, with the id, and answered with a JSON 500 that carries it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(Headers(scope=scope))
        token = REQUEST_ID.set(request_id)
        started = False
        error_start: Message | None = None
        error_body = bytearray()

        async def send_with_id(message: Message) -> None:
            nonlocal started, error_start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                is_json = headers.get("content-type", "").startswith("application/json")
                if message["status"] >= 400 and is_json:
                    error_start = message  # sent with its body, once the id is in it
                    return
                started = True
            elif message["type"] == "http.response.body" and error_start is not None:
                error_body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = with_request_id(bytes(error_body), request_id)
                if body != error_body:  # a HEAD request's empty body keeps its length
                    MutableHeaders(scope=error_start)["content-length"] = str(len(body))
                started = True
                await send(error_start)
                message = {"type": "http.response.body", "body": body}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("the request failed")
            if started:
                raise  # the response is under way: the server can only cut it
            internal = {"detail": "internal error", "request_id": request_id}
            await JSONResponse(internal, 500, headers={REQUEST_ID_HEADER: request_id})(
                scope, receive, send
            )
        finally:
            REQUEST_ID.reset(token)


def with_request_id(body: bytes, request_id: str) -> bytes:
    """A JSON error body with ``request_id`` beside its ``detail``; any other body as it is.

    >>> with_request_id(b'{"detail":"no such document"}', "abc")
    b'{"detail":"no such document","request_id":"abc"}'
    """
    try:
        error: Any = json.loads(body)
    except ValueError:
        return body
    if not isinstance(error, dict) or "detail" not in error:
        return body
    error["request_id"] = request_id
    return json.dumps(error, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class RequestLog:
    """One log line and one count per request, by route template (``/v1/documents/{doc_id}/
    text``), so that neither grows with the paths callers make up. Requests refused before
    routing (a 401, a 413) are put down to the route they were for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status: int | None = None

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                # Counted before the client can see the response, so a scrape it makes next
                # sees it counted.
                status = message["status"]
                count_request(scope["method"], route_template(scope), status)
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            if status is None:  # failed before any response: ``RequestIds`` answers a 500
                status = 500
                count_request(scope["method"], route_template(scope), status)
            route = route_template(scope)
            caller = request_caller(scope)
            client = scope.get("client")
            logger.info(
                "%s %s %d",
                scope["method"],
                route,
                status,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - began) * 1000, 1),
                    "client": client[0] if client else None,
                    "caller": caller.name if caller is not None else None,
                },
            )


def route_template(scope: Scope) -> str:
    """The path template of the route that answers the request, or would have: the first that
    matches it whole, else the first whose path matches (a 405), as the router picks."""
    app = scope.get("app")
    if app is None:
        return UNMATCHED
    partial: str | None = None
    for route in iter_route_contexts(app.router.routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.path_format or UNMATCHED
        if match is Match.PARTIAL and partial is None:
            partial = route.path_format
    return partial or UNMATCHED
