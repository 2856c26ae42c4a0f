"""What every request passes before a route: its Host is one of ours, its body is small enough,
and a web page of another origin calling it is one of the allowed ones (CORS).

Both answer in the API's error shape, a JSON ``{"detail": ...}``; Starlette's own versions
(``TrustedHostMiddleware``, and ``RequestBodyLimitMiddleware`` behind FastAPI's
``max_body_size``) answer in plain text.
"""

from collections.abc import Mapping, Sequence

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HOST_PASSED = "qa.host_passed"


class TrustedHosts:
    """Answers only requests whose Host header is an allowed name: Starlette's check (its
    ``*.example.org`` patterns, ports and IPv6 literals), refusing with a JSON 400.

    ``allowed_hosts`` are plain names and addresses; IPv6 ones are given without brackets.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        # Starlette compares the host as written in the header: IPv6 literals in brackets.
        patterns = [f"[{host}]" if ":" in host else host for host in allowed_hosts]
        self._check = TrustedHostMiddleware(self._passed, patterns, www_redirect=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def refuse_as_json(message: Message) -> None:
            if scope.get(_HOST_PASSED):
                await send(message)
            elif message["type"].endswith("http.response.start"):  # websocket denials too
                # Starlette's refusal, whose plain-text body is dropped.
                refusal = JSONResponse(
                    {"detail": "unknown host: this service answers only its names"}, 400
                )
                await refusal(scope, receive, send)

        await self._check(scope, receive, refuse_as_json)

    async def _passed(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_HOST_PASSED] = True
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` past the limit. An HTTPException, so FastAPI's body parsing lets
    it through to the exception handlers (any other error there becomes a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"the request body is over {limit} bytes")


class BodySizeLimit:
    """Refuses a request body over ``max_bytes`` with a 413: at once when Content-Length says
    so, otherwise (chunked bodies) as soon as the bytes received pass the limit, so at most
    ``max_bytes`` and one chunk are ever read.

    ``routes`` gives some routes, by method and path, a limit of their own (uploads).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, routes: Mapping[tuple[str, str], int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get((scope["method"], scope["path"]), self.max_bytes)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(limit, scope, receive, send)
            return

        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # Raised where no exception handler made it a response.
            if started:
                raise
            await _refuse(limit, scope, receive, send)


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    error = BodyTooLarge(limit)
    await JSONResponse({"detail": error.detail}, error.status_code)(scope, receive, send)


class CrossOrigin(CORSMiddleware):
    """Lets the web pages of ``origins`` (those embedding the chat widget) call the API from
    their visitors' browsers: with a key in ``Authorization`` and a JSON body, and reading the
    ``Retry-After`` of a busy service and every response's ``X-Request-ID``. A preflight from
    any other page gets a JSON 400."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "Retry-After-Ms", "X-Request-ID"],
            # An intranet page may call a service on a more private address (Chrome asks).
            allow_private_network=True,
            max_age=600,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        return JSONResponse(
            {"detail": f"cross-origin request refused: {refused} not allowed"},
            400,
            headers={k: v for k, v in response.headers.items() if k.startswith("access-control")},
        )
