"""What the service counts and times, for ``GET /metrics`` (Prometheus' text format).

The metrics live in one registry of this process: the parts that count call the small
functions below (the request middleware, the answer routes, feedback, and whatever adds or
deletes documents: the ingest pipeline, the upload routes), and ``/metrics`` shows them.
Each serving process has its own counts; Prometheus adds up replicas. Labels are a closed set
(route templates, statuses, reasons, ratings, outcomes), never a question, a key or a doc_id.
"""

from collections.abc import Mapping
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

DocumentOutcome = Literal["added", "updated", "deleted", "failed"]

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# From an extractive answer (a fraction of a second) to the local model on two cores (~11 s
# p50, a queue's wait on top).
_ANSWER_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 12, 20, 30, 60, 120)

HTTP_REQUESTS = Counter(
    "qa_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
ANSWER_SECONDS = Histogram(
    "qa_answer_seconds",
    "Time to a whole answer (refusals included), from the question to the last check",
    buckets=_ANSWER_BUCKETS,
    registry=REGISTRY,
)
FIRST_TOKEN_SECONDS = Histogram(
    "qa_answer_first_token_seconds",
    "Time from the question to the first checked text given out (a stream's first token "
    "event); refusals give none",
    buckets=_ANSWER_BUCKETS,
    registry=REGISTRY,
)
REFUSALS = Counter(
    "qa_refusals",
    "Answers that were refusals, by reason (retrieval, composer, unsupported)",
    ["reason"],
    registry=REGISTRY,
)
FEEDBACK = Counter(
    "qa_feedback", "Feedback given on answers, by rating", ["rating"], registry=REGISTRY
)
DOCUMENTS = Counter(
    "qa_ingest_documents",
    "Documents added, updated, deleted, or that failed to ingest, by this process",
    ["outcome"],
    registry=REGISTRY,
)
# Known label values are shown at 0 before the first event: a rate over a missing series is
# no rate at all.
for _rating in ("up", "down"):
    FEEDBACK.labels(rating=_rating)
for _outcome in ("added", "updated", "deleted", "failed"):
    DOCUMENTS.labels(outcome=_outcome)


def count_request(method: str, route: str, status: int) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()


def observe_answer(timings_ms: Mapping[str, float], refusal_reason: str | None) -> None:
    """An answer given: its ``timings_ms`` (``total`` and, when text was given out,
    ``first_sentence``) and, for a refusal, why."""
    if "total" in timings_ms:
        ANSWER_SECONDS.observe(timings_ms["total"] / 1000)
    if "first_sentence" in timings_ms:
        FIRST_TOKEN_SECONDS.observe(timings_ms["first_sentence"] / 1000)
    if refusal_reason is not None:
        REFUSALS.labels(reason=refusal_reason).inc()


def count_feedback(rating: str) -> None:
    """Feedback given, rated ``up`` or ``down``."""
    FEEDBACK.labels(rating=rating).inc()


def count_documents(outcome: DocumentOutcome, documents: int = 1) -> None:
    """``documents`` more documents added, updated, deleted or failed: for the ingest pipeline
    and the upload routes to call once they are stored (or refused)."""
    if documents:
        DOCUMENTS.labels(outcome=outcome).inc(documents)


def exposition(accept: str = "") -> tuple[bytes, str]:
    """The metrics and their content type, in the format the scraper's ``Accept`` header asks
    for: Prometheus' text format (0.0.4) unless it asks for a later one or OpenMetrics."""
    encoder, content_type = choose_encoder(accept)
    return encoder(REGISTRY), content_type
