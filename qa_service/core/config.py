"""Service settings, read from the environment (prefix ``QA_``) or a ``.env`` file."""

import ipaddress
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa_service.core.logs import LogFormat

# The names a loopback-only service is reached by; `qa serve --host` adds the address it binds.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# A web origin as browsers send it: scheme, host and an optional port.
_ORIGIN = re.compile(r"^https?://[^/\s*?#@]+$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
# Headers with another meaning, which a proxy's identity header must not be.
_NOT_IDENTITY_HEADERS = frozenset(
    [
        "authorization",
        "host",
        "cookie",
        "content-type",
        "content-length",
        "forwarded",
        "x-forwarded-for",
        "x-real-ip",
        "origin",
    ]
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    chroma_url: str | None = None
    collection: str = "documents"
    # How long a command waits for a store another process has open embedded (qa ingest).
    store_wait_seconds: float = Field(300.0, ge=0.0)

    # cl100k tokens; MiniLM reads at most 256 word pieces, so chunks stay well below that.
    chunk_size: int = Field(200, ge=16, le=2000)
    chunk_overlap: int = Field(40, ge=0)
    # The runtime that embeds; both give the same vectors (2e-7 apart) under the same name.
    # Measured on 2 cores (bench/embed.py): onnx embeds a question in 5 ms against 10 ms but
    # 200-token passages 7-12% slower. Questions (and the citation check's short spans) are
    # what a user waits for, so onnx is the default; ingest may set torch.
    embedder: Literal["torch", "onnx"] = "onnx"
    # On 2 cores small batches are faster (bench/embed.py, two runs): 8 passages a batch embed
    # 4-7% faster than 16 on onnx, as fast on torch, and 10-18% faster than 32 on both.
    embed_batch_size: int = Field(8, ge=1)
    # Chunks embedded per call during ingest; documents are written after each such call.
    ingest_batch: int = Field(128, ge=1)

    top_k: int = Field(5, ge=1, le=100)
    # How passages are found: "hybrid" (dense and BM25 fused), "dense" or "keyword" alone.
    retriever: Literal["hybrid", "dense", "keyword"] = "hybrid"
    fusion: Literal["zscore", "rrf"] = "zscore"
    # The dense search's share in z-score fusion (the keyword search has the rest).
    fusion_weight: float = Field(0.5, ge=0.0, le=1.0)
    # Chunks each search hands to fusion; more finds more but costs fetch time.
    retrieval_candidates: int = Field(50, ge=1, le=1000)
    # Chunks one document may give an answer (merged neighbours count each), so several
    # documents get heard.
    max_passages_per_document: int = Field(2, ge=1)
    # Optional reranking of the first retrieved passages: off unless it pays for its latency.
    reranker: Literal["none", "cross-encoder", "llm"] = "none"
    reranker_model: Path | None = None
    rerank_window: int = Field(10, ge=2, le=100)
    # Below this top passage score a question is refused unread: it catches off-topic questions.
    # Measured (top-1 cosine): ClapNQ dev answerable 1st percentile 0.446, interpol-news
    # answerable minimum 0.30, off-topic 0.10-0.20. Hard unanswerables (ClapNQ's same-article
    # passages) score like answerable ones and are left to the citation check.
    min_retrieval_score: float = Field(0.25, ge=-1.0, le=1.0)
    min_support: float = Field(0.5, ge=0.0, le=1.0)
    # When no sentence of the model's answer holds up, answer with the passage sentences closest
    # to the question, quoted (checked like any answer), rather than refuse: docs/evaluation.md.
    quote_fallback: bool = True
    # Rules of the citation checker turned off, by name (docs/citations.md lists them); for
    # measuring what each one is worth (``qa eval --rules``) more than for serving.
    # Comma-separated.
    check_rules_off: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How close to the question (0.5 word overlap + 0.5 cosine) the best passage sentence must be
    # for the extractive composer, and the fallback, to quote it (docs/evaluation.md).
    quote_min_score: float = Field(0.35, ge=-1.0, le=1.0)
    # Passage text a language model is shown, in tokens: the sentences that best answer the
    # question, with their neighbours (qa_service/answering/excerpts.py). 0 shows the whole
    # passages. Prompt reading is most of the time to the first token on a CPU, but 400 has not
    # yet been shown to answer as well as whole passages (docs/evaluation.md): off by default.
    evidence_tokens: int = Field(0, ge=0)
    max_question_chars: int = Field(2000, ge=1)
    prompts_dir: Path | None = None
    llm: Literal["local", "openai", "extractive"] = "local"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    # Answers are one to three sentences; the cap ends a model that rambles or loops early.
    llm_max_tokens: int = Field(256, ge=16)
    # Fields added to every request body of the ``openai`` backend. llama.cpp's server
    # defaults to repeat_penalty 1.1, which garbles answers that must quote their passages;
    # OpenAI itself rejects unknown fields, so set QA_LLM_EXTRA_BODY='{}' for it.
    llm_extra_body: dict[str, Any] = Field(default_factory=lambda: {"repeat_penalty": 1.0})

    # The HTTP service. Requests are JSON questions of at most a few kilobytes (the question at
    # most QA_MAX_QUESTION_CHARS, a few turns of history): 1 MiB is ample, and bounds what one
    # request can make the server read and parse. Uploads have their own limits, below.
    max_body_bytes: int = Field(1_048_576, ge=1)
    # POST /v1/documents (editors' uploads): one file, and the whole request. A file is spooled
    # to a temporary file as it arrives and read whole only when it is ingested, as `qa ingest`
    # reads one (whose limit is 100 MiB).
    max_upload_file_bytes: int = Field(50 * 2**20, ge=1, le=100 * 2**20)
    max_upload_bytes: int = Field(200 * 2**20, ge=1)
    # Host names (or Starlette's "*.example.org" patterns) the service answers: a page that
    # rebinds its own name to this machine's address still sends that name, and is refused.
    # A service bound to 0.0.0.0 must list the names its users type. Comma-separated.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(LOOPBACK_HOSTS)
    )
    # Web pages (origins, "https://intranet.example.org") whose visitors' browsers may call the
    # API: the pages that embed the chat widget (docs/chat.md). None by default: the service's
    # own chat page needs none. Comma-separated; "*" is refused, as it would let any web site a
    # visitor opens ask the service and read its documents' text.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Answers computed at once, and waiting for a turn; past both, a 503 with Retry-After. The
    # local model generates one answer at a time (one KV cache, behind a lock) on 2 cores, so a
    # second answer in flight only gets its retrieval done while the first is written; each
    # answer takes ~11 s (p50, interpol-news), so two queued means a wait of ~30-45 s at most
    # rather than minutes. In extractive mode answers take a fraction of a second, and the
    # queue empties as fast.
    max_answers_in_flight: int = Field(2, ge=1)
    max_answers_queued: int = Field(2, ge=0)
    # The API keys (docs/security.md): JSON written by `qa keys`, each key stored as its sha256.
    # Without it the API answers only requests made on this machine, with every document.
    api_keys_file: Path | None = None
    # How `qa serve` logs: one JSON object a line (for the log collector), or plain text lines
    # for a person reading a terminal in development. Either way each line of a request
    # carries its id, and no line holds a question, an answer or a document's text.
    log_format: LogFormat = "json"
    # Single sign-on through the organisation's reverse proxy (docs/security.md), off unless
    # proxy_user_header is set: the header in which the proxy names the signed-in user, the one
    # naming their groups (comma-separated), and the proxy's addresses or networks, the only
    # senders whose such headers count (comma-separated). From anywhere else a request
    # carrying either header is refused.
    proxy_user_header: str | None = None
    proxy_groups_header: str | None = None
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # The service's own state (the audit log, answer records, feedback): a SQLite file under
    # QA_DATA_DIR unless this names a PostgreSQL database (postgresql+psycopg://USER:PASSWORD@
    # HOST:PORT/NAME), which replicas share.
    database_url: str | None = None
    # How long a request waits for the database (another process's write, a connection, a
    # lock) before it fails: long enough for any write the service makes, which take
    # milliseconds, short enough that a database that is down fails a question quickly.
    database_timeout_seconds: float = Field(5.0, gt=0.0)

    @field_validator(
        "chroma_url",
        "api_keys_file",
        "database_url",
        "proxy_user_header",
        "proxy_groups_header",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return value or None

    @field_validator(
        "allowed_hosts", "check_rules_off", "cors_origins", "trusted_proxies", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        # Browsers send an origin in lower case, without a trailing slash.
        origins = [origin.rstrip("/").lower() for origin in value]
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ValueError(
                    f"{origin!r} is not a web page's origin: scheme://host[:port], no path "
                    "(and not '*': list each page's origin)"
                )
        return origins

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # psycopg 3 is the driver installed; SQLAlchemy would take a bare postgresql:// for
        # psycopg2.
        value = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", value)
        if not value.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError(
                "the service's database is sqlite:///PATH or "
                "postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME"
            )
        return value

    @field_validator("proxy_user_header", "proxy_groups_header")
    @classmethod
    def _header_name(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER_NAME.match(value):
            raise ValueError(f"{value!r} is not an HTTP header name")
        if value is not None and value.lower() in _NOT_IDENTITY_HEADERS:
            raise ValueError(f"{value} is not a header for a proxy to name users in")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise ValueError(
                    f"{address!r} is not an address or network (10.0.0.5, 10.0.0.0/24, ::1)"
                ) from None
        return value

    @model_validator(mode="after")
    def _proxy_complete(self) -> "Settings":
        if self.proxy_user_header is not None and not self.trusted_proxies:
            raise ValueError(
                "QA_PROXY_USER_HEADER needs QA_TRUSTED_PROXIES: the addresses of the proxy "
                "that sets it (anyone else could name themselves)"
            )
        if self.proxy_groups_header is not None and self.proxy_user_header is None:
            raise ValueError("QA_PROXY_GROUPS_HEADER needs QA_PROXY_USER_HEADER")
        return self

    @field_validator("collection")
    @classmethod
    def _chroma_collection_name(cls, value: str) -> str:
        # Chroma's own rule, checked early so the error names the setting.
        if not 3 <= len(value) <= 512:
            raise ValueError("collection name must be 3 to 512 characters")
        return value

    @model_validator(mode="after")
    def _upload_limits(self) -> "Settings":
        if self.max_upload_bytes < self.max_upload_file_bytes:
            raise ValueError("QA_MAX_UPLOAD_BYTES must be at least QA_MAX_UPLOAD_FILE_BYTES")
        return self

    @cached_property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @cached_property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @cached_property
    def uploads_dir(self) -> Path:
        """Where the files uploaded over HTTP are kept, each under its doc_id."""
        return self.data_dir / "uploads"

    @property
    def database_file(self) -> Path:
        """The SQLite database used when ``QA_DATABASE_URL`` is not set."""
        return self.data_dir / "service.db"
