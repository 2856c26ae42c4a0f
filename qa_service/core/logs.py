"""The service's log: one JSON object a line (or plain text in development), each line of a
request carrying that request's id.

The id lives in a context variable: the middleware that gives a request its id
(``qa_service.api.requests``) sets it, and every log line written while the request is worked
on, in worker threads too (anyio copies the context into them), gets it from a filter on the
handler. So a route, the answer service or a store logs as it always does and the line still
says which request it belongs to.

What is never logged, at any level: the text of documents, questions, answers, quotes and
feedback comments. A line says what happened (route, status, time, refusal reason, counts),
never what was asked or read (docs/deployment.md).
"""

import contextvars
import logging
from typing import Any, Literal

LogFormat = Literal["json", "text"]

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "qa_request_id", default=None
)


def current_request_id() -> str | None:
    """The id of the request being worked on, or ``None`` outside any request."""
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to each record written while a request is worked on."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id is not None:
            record.request_id = request_id
        return True


# Fields of uvicorn's records that only colour a terminal.
_TERMINAL_ONLY = ("color_message",)
# Libraries that log each call at info: Chroma's HTTP client logs every request to its server.
_QUIET = ("httpx", "httpcore", "chromadb")


def logging_config(log_format: LogFormat = "json", level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``qa serve`` (uvicorn's ``log_config``): every
    logger, uvicorn's included, writes to stderr through one handler, as JSON objects with
    ``time``, ``level``, ``logger``, ``message``, the request id and any ``extra`` fields, or
    as plain lines."""
    from pythonjsonlogger.core import RESERVED_ATTRS

    formatters: dict[str, dict[str, Any]] = {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
            "reserved_attrs": [*RESERVED_ATTRS, *_TERMINAL_ONLY],
            "json_ensure_ascii": False,
        },
        "text": {
            "()": "logging.Formatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            "defaults": {"request_id": "-"},
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {log_format: formatters[log_format]},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own loggers write through the root's handler, once.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": True},
            **{name: {"level": "WARNING"} for name in _QUIET},
        },
    }
