"""Who is calling: every ``/v1`` request carries an API key (``Authorization: Bearer KEY``), or,
when the service has no keys file, comes from this machine and may read every document; or,
when a trusted proxy is configured, comes from it naming its user (``api.proxy``).

The check is a middleware, so it runs before a request's body is read and covers every route
under ``/v1``, those added later included; routes read the caller with ``deps.CallerDep``.
"""

import ipaddress
import logging
from pathlib import Path

from fastapi.security import HTTPBearer
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from qa_service.api.proxy import ProxyIdentityError, TrustedProxy
from qa_service.core.keys import Caller, KeyRing, KeysFileError, Role

logger = logging.getLogger(__name__)

# One answer for a missing, malformed, unknown or revoked key: it tells nothing of which keys
# exist.
KEY_REQUIRED = "a valid API key is required: send Authorization: Bearer KEY"
LOCAL_ONLY = (
    "this service has no API keys (QA_API_KEYS_FILE) and answers only requests made on its "
    "own machine"
)
KEYS_UNREADABLE = "the service cannot read its API keys"
# Without keys, the proxy's requests are its users': one that names nobody is nobody's.
PROXY_NAMES_NOBODY = "a request through the proxy must name its user"

# With no keys file: the operator at the machine, who can read the store's files anyway.
LOCAL_CALLER = Caller("local", None, Role.ADMIN)
# Headers a reverse proxy adds: a request that passed one came from elsewhere, whatever
# address it arrives from.
_FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")
_CALLER = "caller"

# Declares the scheme in the OpenAPI schema (the "Authorize" button of /docs); the check
# itself is ``Authentication``'s.
API_KEY = HTTPBearer(
    auto_error=False,
    scheme_name="API key",
    description="A key made by `qa keys add NAME --groups ...` (none needed from the service's "
    "own machine when it has no keys file).",
)


class AccessDeniedError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status_code == 401 else None
        return JSONResponse({"detail": self.detail}, self.status_code, headers=headers)


def is_loopback(host: str) -> bool:
    """``host`` (an address, or ``localhost``) is this machine.

    >>> [is_loopback(h) for h in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "10.0.0.5", "0.0.0.0")]
    [True, True, True, False, False]
    """
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def from_this_machine(client_host: str | None, headers: Headers) -> bool:
    """A request made on the service's own machine, not passed on by a proxy from elsewhere."""
    forwarded = any(name in headers for name in _FORWARDED)
    return client_host is not None and not forwarded and is_loopback(client_host)


class Access:
    """The service's rule for callers: the user a trusted ``proxy`` names, if it names one;
    otherwise the keys of ``keys_file``, or, without one, this machine only."""

    def __init__(self, keys_file: Path | None, proxy: TrustedProxy | None = None) -> None:
        self.keys = KeyRing(keys_file) if keys_file is not None else None
        self.proxy = proxy

    def caller(self, client_host: str | None, headers: Headers) -> Caller:
        """Who sent a request from ``client_host`` with ``headers``; ``AccessDeniedError`` if
        nobody the service answers."""
        if self.proxy is not None and self.proxy.named_in(headers):
            # Never a key instead: a request that names a user is that user's, or refused.
            try:
                return self.proxy.caller(client_host, headers)
            except ProxyIdentityError as error:
                raise AccessDeniedError(403, str(error)) from error
        if self.keys is None:
            if self.proxy is not None and self.proxy.trusts(client_host):
                raise AccessDeniedError(403, PROXY_NAMES_NOBODY)
            if not from_this_machine(client_host, headers):
                raise AccessDeniedError(403, LOCAL_ONLY)
            return LOCAL_CALLER
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AccessDeniedError(401, KEY_REQUIRED)
        try:
            caller = self.keys.authenticate(key.strip())
        except KeysFileError as error:
            logger.error("no key is accepted: %s", error)
            raise AccessDeniedError(503, KEYS_UNREADABLE) from error
        if caller is None:
            raise AccessDeniedError(401, KEY_REQUIRED)
        return caller

    def sees_everything(self, client_host: str | None, headers: Headers) -> bool:
        """Whether this request may learn about the store as a whole (how many chunks)."""
        try:
            return self.caller(client_host, headers).groups is None
        except AccessDeniedError:
            return False


class Authentication:
    """Answers a ``/v1`` request only for a caller ``access`` accepts, whom it hands the
    routes in the request's state; a 401 (or 403, 503) before anything else is read."""

    def __init__(self, app: ASGIApp, access: Access, prefix: str = "/v1") -> None:
        self.app = app
        self.access = access
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        guarded = path == self.prefix or path.startswith(f"{self.prefix}/")
        if scope["type"] != "http" or not guarded:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        try:
            caller = self.access.caller(client[0] if client else None, Headers(scope=scope))
        except AccessDeniedError as denied:
            await denied.response()(scope, receive, send)
            return
        scope.setdefault("state", {})[_CALLER] = caller
        await self.app(scope, receive, send)


def request_caller(scope: Scope) -> Caller | None:
    """The caller ``Authentication`` accepted for this request (``None`` outside ``/v1``)."""
    caller = scope.get("state", {}).get(_CALLER)
    return caller if isinstance(caller, Caller) else None
