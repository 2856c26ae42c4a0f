"""An error response as a test compares it: its body without the request's id, once that id is
checked to be the one the response's ``X-Request-ID`` names (every JSON error body carries it:
qa_service/api/requests.py)."""

import json
from collections.abc import Mapping
from typing import Any, Protocol


class Response(Protocol):
    """A response of httpx, or of Starlette's TestClient (which has its own httpx)."""

    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


def problem(response: Response) -> dict[str, Any]:
    """The JSON error body of ``response`` without its ``request_id``."""
    body = dict(response.json())
    assert body.pop("request_id") == response.headers["x-request-id"], response.text
    return body


def error_event(data: str, response: Response) -> dict[str, Any]:
    """A stream's ``error`` event's data without its ``request_id`` (the stream's own)."""
    error = dict(json.loads(data))
    assert error.pop("request_id") == response.headers["x-request-id"], data
    return error
