"""What the tests of the documents' routes share: a service over real HTTP with a real keys
file, uploads as multipart bodies (built by hand when a name must reach the server byte for
byte), and a snapshot of everything an upload may change."""

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from qa_service.core.config import Settings
from qa_service.core.keys import KeysFile, Role
from qa_service.embedders.base import Embedder, Vectors
from qa_service.services import Services, build_api
from tests.servers import serving

BOUNDARY = "qa-test-boundary-5d1c"


@dataclass(frozen=True)
class Api:
    url: str
    keys: dict[str, str]
    services: Services

    @property
    def uploads(self) -> Path:
        return self.services.settings.uploads_dir

    def headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[key]}"} if key else {}

    def upload(
        self,
        key: str | None,
        files: Sequence[tuple[str, bytes]],
        groups: str | None = None,
    ) -> httpx.Response:
        data = {"groups": groups} if groups is not None else None
        parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
        return httpx.post(
            f"{self.url}/v1/documents",
            files=parts,
            data=data,
            headers=self.headers(key),
            timeout=120,
        )

    def upload_raw(self, key: str | None, body: bytes) -> httpx.Response:
        headers = {**self.headers(key), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        return httpx.post(f"{self.url}/v1/documents", content=body, headers=headers, timeout=120)

    def get(self, path: str, key: str | None, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, headers=self.headers(key), timeout=60)

    def delete(self, doc_id: str, key: str | None) -> httpx.Response:
        url = f"{self.url}/v1/documents/{doc_id}"
        return httpx.delete(url, headers=self.headers(key), timeout=60)

    def ask(self, question: str, key: str | None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/v1/ask",
            json={"question": question},
            headers=self.headers(key),
            timeout=120,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def snapshot(self) -> tuple[Any, ...]:
        """The stored documents (each version and its groups), the chunk count, and every file
        under the uploads folder with its sha256 (its lock file apart)."""
        documents = [(d.doc_id, d.version, d.groups) for d in self.services.store.list_documents()]
        files = {
            path.relative_to(self.uploads).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(self.uploads.rglob("*"))
            if path.is_file() and path.name != ".lock"
        }
        return documents, self.services.store.count(), files


def multipart(parts: Sequence[tuple[str, bytes | None, bytes]]) -> bytes:
    """A multipart/form-data body (boundary ``BOUNDARY``) of ``(field, filename, content)``
    parts, the filename written between quotes exactly as given (``None``: a plain field)."""
    body = b""
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"'.encode()
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        body += f"--{BOUNDARY}\r\n".encode() + b"Content-Disposition: " + disposition + b"\r\n"
        body += b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


class HeldEmbedder(Embedder):
    """The session's real embedder, except that it holds the embedding of any text holding
    ``marker`` until ``release`` is set (``reached`` says it got there): a test sees what the
    service does while an upload is being ingested, without timing anything."""

    def __init__(self, embedder: Embedder, marker: str) -> None:
        self.embedder = embedder
        self.marker = marker
        self.name = embedder.name
        self.reached = threading.Event()
        self.release = threading.Event()

    @property
    def dimension(self) -> int:  # type: ignore[override]
        return self.embedder.dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        if any(self.marker in text for text in texts):
            self.reached.set()
            assert self.release.wait(timeout=300), "the test never released the upload"
        return self.embedder.embed(texts)


KEYS: dict[str, tuple[tuple[str, ...], Role]] = {
    "editor-alpha": (("alpha",), Role.EDITOR),
    "reader-alpha": (("alpha",), Role.READER),
    "admin-gamma": (("gamma",), Role.ADMIN),
}


@contextmanager
def running_api(
    data_dir: Path, embedder: Embedder, keys: bool = True, **settings: Any
) -> Iterator[Api]:
    """The service in extractive mode over a store of its own in ``data_dir``, with a keys file
    holding ``KEYS`` (or none: then only this machine is answered, as an admin)."""
    keys_file = KeysFile(data_dir.parent / f"{data_dir.name}-keys.json")
    made = {name: keys_file.add(name, groups, role) for name, (groups, role) in KEYS.items()}
    configured = Settings(
        data_dir=data_dir,
        chroma_url=None,
        llm="extractive",
        api_keys_file=keys_file.path if keys else None,
        **settings,
    )
    services = Services(configured, embedder=embedder)
    app = build_api(configured, services)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
        yield Api(url, made if keys else {}, services)
