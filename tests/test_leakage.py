"""The leakage matrix: three API keys, public and restricted documents, every /v1 route and the
stream, over real HTTP. Nothing of a document a key may not read reaches that key: no byte of
any response holds its doc_id, its title or a fact only it holds; and every response a key gets
is the very response it would get from a store where the hidden documents were never ingested
(timings and answer ids apart), so no count, score, refusal reason or passage tells that they
exist.
"""

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.library import NAME_TAKEN
from qa_service.core.config import Settings
from qa_service.core.keys import Caller, KeysFile, Role
from qa_service.embedders.base import Embedder
from qa_service.services import Services, build_api
from tests.problems import problem
from tests.servers import serving


@dataclass(frozen=True)
class Document:
    folder: str  # the documents of a folder are ingested with its groups
    doc_id: str
    text: str
    question: str  # answered by this document only
    answer: str  # in the answer when the key may read the document
    secrets: tuple[str, ...]  # strings no other document, and no question, holds


GROUPS = {
    "public": (),
    "alpha": ("alpha",),
    "beta": ("beta",),
    "alpha-beta": ("alpha", "beta"),
    "gamma": ("gamma",),
}
DOCUMENTS = (
    Document(
        "public",
        "bulletin-7c.txt",
        "Staff bulletin\n\nThe annual conference of the organisation will be held in Lisbon on "
        "12 March 2031. Registration opens at 8 am in the main hall. Every operation report "
        "must be filed within two days, and informant payments are approved by the finance "
        "office.",
        "In which city will the annual conference of the organisation be held?",
        "Lisbon",
        ("bulletin-7c",),
    ),
    Document(
        "alpha",
        "dossier-a91.txt",
        "Dossier A91\n\nOperation Nightjar began in January 2030. In Operation Nightjar, the "
        "informant's codename is AMBERWREN. The informant meets officers at Pier 47 in Gdansk "
        "every Thursday.",
        "What is the codename of the informant in Operation Nightjar?",
        "AMBERWREN",
        ("dossier-a91", "Dossier A91", "AMBERWREN", "Gdansk", "Pier 47", "January 2030"),
    ),
    Document(
        "beta",
        "dossier-b52.txt",
        "Dossier B52\n\nOperation Sandpiper tracks a smuggling route by sea. In Operation "
        "Sandpiper, officers seized 312 kilograms of cocaine hidden in crates labelled "
        "QUILLBRACKEN. The crates arrived at the port of Valparaiso.",
        "How many kilograms of cocaine did officers seize in Operation Sandpiper?",
        "312",
        ("dossier-b52", "Dossier B52", "QUILLBRACKEN", "Valparaiso", "312 kilograms"),
    ),
    Document(
        "alpha-beta",
        "dossier-ab7.txt",
        "Dossier AB7\n\nTask Force Kestrel joins the two units. The liaison officer of Task "
        "Force Kestrel is Inspector Vashti Okonkwo. Task Force Kestrel meets in Tallinn.",
        "Who is the liaison officer of Task Force Kestrel?",
        "Vashti Okonkwo",
        ("dossier-ab7", "Dossier AB7", "Okonkwo", "Tallinn"),
    ),
    Document(
        "gamma",
        "dossier-g33.txt",
        "Dossier G33\n\nProject Halcyon concerns a seized server. The server of Project "
        "Halcyon was hosted in Reykjavik under the alias ZEPHYRLOOM.",
        "Under which alias was the server of Project Halcyon hosted?",
        "ZEPHYRLOOM",
        ("dossier-g33", "Dossier G33", "ZEPHYRLOOM", "Reykjavik"),
    ),
)
# Overlapping (alpha; alpha and beta) and disjoint (gamma) keys.
KEYS = {"analyst-a": ("alpha",), "lead-ab": ("alpha", "beta"), "auditor-g": ("gamma",)}
UNANSWERABLE = "What is the capital city of Mongolia?"


def visible(key: str) -> list[Document]:
    groups = set(KEYS[key])
    return [d for d in DOCUMENTS if not GROUPS[d.folder] or groups & set(GROUPS[d.folder])]


def hidden(key: str) -> list[Document]:
    return [d for d in DOCUMENTS if d not in visible(key)]


@dataclass
class World:
    """The service over every document, asked with each key (and changed with an editor key
    of the same groups); and, for each key, the service over only the documents that key may
    read, asked from its own machine with no keys."""

    url: str
    keys: dict[str, str]
    editor_keys: dict[str, str]
    references: dict[str, str]
    services: Services


def _ingest(services: Services, corpus: Path, folders: set[str]) -> None:
    for folder in sorted(folders):
        report = services.ingestor.run([corpus / folder], GROUPS[folder])
        assert report.ok and report.added, report


def _serve(stack: ExitStack, services: Services) -> str:
    app = build_api(services.settings, services)
    url = stack.enter_context(serving(app))
    assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
    return url


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[World]:
    root = tmp_path_factory.mktemp("leakage")
    corpus = root / "corpus"
    for document in DOCUMENTS:
        (corpus / document.folder).mkdir(parents=True, exist_ok=True)
        (corpus / document.folder / document.doc_id).write_text(document.text, encoding="utf-8")
    keys_file = KeysFile(root / "keys.json")
    keys = {name: keys_file.add(name, groups) for name, groups in KEYS.items()}
    editor_keys = {
        name: keys_file.add(f"{name}-editor", groups, Role.EDITOR) for name, groups in KEYS.items()
    }

    def services(name: str, keys_path: Path | None) -> Services:
        settings = Settings(
            data_dir=root / name, chroma_url=None, llm="extractive", api_keys_file=keys_path
        )
        return Services(settings, embedder=embedder)

    with ExitStack() as stack:
        everything = services("all", keys_file.path)
        _ingest(everything, corpus, set(GROUPS))
        url = _serve(stack, everything)
        references = {}
        for key in KEYS:
            own = services(f"only-{key}", None)
            _ingest(own, corpus, {document.folder for document in visible(key)})
            references[key] = _serve(stack, own)
        yield World(url, keys, editor_keys, references, everything)


def ask(url: str, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.post(f"{url}{path}", json=body, headers=headers, timeout=120)
    assert response.status_code == 200, response.text
    return response


def comparable(response: httpx.Response) -> Any:
    """The response without what differs between two runs of the same question (timings, and
    the answer's id)."""
    if response.headers["content-type"].startswith("text/event-stream"):
        events = []
        for block in response.text.replace("\r\n", "\n").strip().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            events.append((fields.get("event"), _without_run_details(json.loads(fields["data"]))))
        return events
    return _without_run_details(response.json())


def _without_run_details(value: Any) -> Any:
    """``value`` without what differs between two stores of the same files, or two runs of the
    same question: timings, an answer's id, and when a document was ingested."""
    if isinstance(value, dict):
        answer = "timings_ms" in value
        return {
            k: _without_run_details(v)
            for k, v in value.items()
            if k not in ("timings_ms", "ingested_at") and not (answer and k == "id")
        }
    if isinstance(value, list):
        return [_without_run_details(item) for item in value]
    return value


def assert_nothing_of(documents: list[Document], response: httpx.Response) -> None:
    raw = response.content.lower()
    for document in documents:
        for secret in document.secrets:
            assert secret.lower().encode() not in raw, (secret, response.text[:2000])


def requests_of(key: str) -> list[dict[str, Any]]:
    """Every question the matrix asks with ``key``: each document's, an unanswerable one, and,
    for each document the key may not read, ways of reaching for it."""
    bodies: list[dict[str, Any]] = [{"question": d.question} for d in DOCUMENTS]
    bodies.append({"question": UNANSWERABLE})
    for document in hidden(key):
        bodies += [
            # Filters cannot widen the key's groups, nor name a document it may not read.
            {"question": document.question, "filters": {"groups": list(GROUPS[document.folder])}},
            {"question": document.question, "filters": {"doc_ids": [document.doc_id]}},
            # History cannot bring a hidden document back into the search.
            {
                "question": "And who gave that order?",
                "history": [{"role": "user", "content": document.question}],
            },
            {"question": document.question, "top_k": 50},
        ]
    return bodies


def as_the_key_searches(key: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the groups ``key`` searches with: its own, or those of them it asks for."""
    filters = body.get("filters", {})
    requested = filters.get("groups")
    groups = Caller(key, KEYS[key], Role.READER).narrowed(
        tuple(requested) if requested is not None else None
    )
    return {**body, "filters": {**filters, "groups": list(groups or ())}}


@pytest.mark.parametrize("key", list(KEYS))
@pytest.mark.parametrize("path", ["/v1/ask", "/v1/ask/stream"])
def test_a_key_gets_nothing_of_a_document_it_may_not_read(
    world: World, key: str, path: str
) -> None:
    for body in requests_of(key):
        response = ask(world.url, path, body, world.keys[key])
        assert_nothing_of(hidden(key), response)
        # The same bytes (timings and answer ids apart) as from a store that never held the
        # hidden documents, asked for the same groups.
        reference = ask(world.references[key], path, as_the_key_searches(key, body))
        assert comparable(response) == comparable(reference), body


@pytest.mark.parametrize("key", list(KEYS))
def test_a_key_reads_the_documents_of_its_groups(world: World, key: str) -> None:
    """The matrix's other half, without which it would prove nothing: each key is answered
    from every document it may read, and refused for every one it may not, just as for a
    question no document answers."""
    unanswerable = ask(world.url, "/v1/ask", {"question": UNANSWERABLE}, world.keys[key]).json()
    assert unanswerable["refused"]
    for document in DOCUMENTS:
        body = ask(world.url, "/v1/ask", {"question": document.question}, world.keys[key]).json()
        if document in visible(key):
            assert not body["refused"] and document.answer in body["answer"], (key, body)
            assert {c["doc_id"] for c in body["citations"]} == {document.doc_id}
        else:
            assert body["refused"] and body["citations"] == [], (key, body)
            assert body["refusal_reason"] in ("retrieval", "unsupported", "composer")


def test_filters_narrow_a_key_to_fewer_groups(world: World) -> None:
    kestrel = next(d for d in DOCUMENTS if d.doc_id == "dossier-ab7.txt")
    narrowed = {"question": kestrel.question, "filters": {"groups": ["beta"]}}
    body = ask(world.url, "/v1/ask", narrowed, world.keys["lead-ab"]).json()
    assert not body["refused"] and kestrel.answer in body["answer"]
    none = {"question": kestrel.question, "filters": {"groups": []}}
    response = ask(world.url, "/v1/ask", none, world.keys["lead-ab"])
    assert response.json()["refused"]
    assert_nothing_of([d for d in DOCUMENTS if GROUPS[d.folder]], response)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer qa_not-a-key"},
        {"Authorization": "Token qa_not-a-key"},
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        {"Authorization": "bearer"},
    ],
)
@pytest.mark.parametrize("path", ["/v1/ask", "/v1/ask/stream", "/v1/documents", "/v1"])
def test_without_a_valid_key_every_v1_route_is_one_401(
    world: World, headers: dict[str, str], path: str
) -> None:
    response = httpx.post(f"{world.url}{path}", json={"question": "x"}, headers=headers)
    assert response.status_code == 401
    assert problem(response) == {
        "detail": "a valid API key is required: send Authorization: Bearer KEY"
    }
    assert response.headers["www-authenticate"] == "Bearer"


def test_health_and_readiness_say_nothing_of_the_documents(world: World) -> None:
    for key in [None, *world.keys.values()]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        assert httpx.get(f"{world.url}/healthz", headers=headers).json() == {"status": "ok"}
        assert httpx.get(f"{world.url}/readyz", headers=headers).json() == {"status": "ready"}


@pytest.mark.parametrize("key", list(KEYS))
def test_a_hidden_document_s_text_is_as_unknown_as_a_missing_one(world: World, key: str) -> None:
    """``GET /v1/documents/{doc_id}/text`` (the chat's "open in context"): a document the key
    may not read answers exactly as one that does not exist, and a readable one is shown."""
    headers = {"Authorization": f"Bearer {world.keys[key]}"}
    params = {"start": 0, "end": 10}

    def text_of(doc_id: str) -> httpx.Response:
        url = f"{world.url}/v1/documents/{doc_id}/text"
        return httpx.get(url, params=params, headers=headers, timeout=60)

    missing = text_of("no-such-document.txt")
    assert missing.status_code == 404
    for document in hidden(key):
        response = text_of(document.doc_id)
        assert (response.status_code, problem(response)) == (404, problem(missing))
        assert_nothing_of(hidden(key), response)
    for document in visible(key):
        response = text_of(document.doc_id)
        assert response.status_code == 200 and response.json()["doc_id"] == document.doc_id


def _get(url: str, path: str, key: str | None = None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{url}{path}", params=params, headers=headers, timeout=60)


def narrowed(key: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the groups ``key`` lists with: those of its own that it names."""
    if "groups" not in params:
        return params
    requested = tuple(params["groups"].split(","))
    groups = Caller(key, KEYS[key], Role.READER).narrowed(requested) or ()
    return {**params, "groups": ",".join(groups)}


@pytest.mark.parametrize("key", list(KEYS))
def test_a_key_lists_only_the_documents_it_may_read(world: World, key: str) -> None:
    """``GET /v1/documents``, whole, a page at a time, and narrowed by groups (those of hidden
    documents too): the very lists of a store that never held the hidden documents."""
    requests: list[dict[str, Any]] = [{}, {"limit": 1}]
    requests += [{"groups": ",".join(GROUPS[d.folder])} for d in hidden(key)]
    for params in requests:
        cursor: str | None = ""
        while cursor is not None:
            page = {**params, **({"cursor": cursor} if cursor else {})}
            response = _get(world.url, "/v1/documents", world.keys[key], **page)
            assert response.status_code == 200, response.text
            assert_nothing_of(hidden(key), response)
            reference = _get(world.references[key], "/v1/documents", None, **narrowed(key, page))
            assert comparable(response) == comparable(reference), page
            cursor = response.json()["next_cursor"]
    listed = _get(world.url, "/v1/documents", world.keys[key]).json()["documents"]
    assert [d["doc_id"] for d in listed] == sorted(d.doc_id for d in visible(key))


@pytest.mark.parametrize("key", list(KEYS))
def test_a_hidden_document_s_metadata_and_deletion_are_a_missing_one_s(
    world: World, key: str
) -> None:
    """``GET`` and ``DELETE /v1/documents/{doc_id}``: a document the key may not read answers
    exactly as one that does not exist (a reader's delete is refused alike for both), and
    nothing is deleted; a readable one's metadata is the reference's."""
    before = world.services.store.list_documents()
    reader, editor = world.keys[key], world.editor_keys[key]
    missing = _get(world.url, "/v1/documents/no-such-document.txt", reader)
    missing_delete = httpx.delete(
        f"{world.url}/v1/documents/no-such-document.txt",
        headers={"Authorization": f"Bearer {editor}"},
    )
    assert missing.status_code == missing_delete.status_code == 404
    for document in hidden(key):
        url = f"{world.url}/v1/documents/{document.doc_id}"
        for response, expected in (
            (_get(world.url, f"/v1/documents/{document.doc_id}", reader), missing),
            (_get(world.url, f"/v1/documents/{document.doc_id}", editor), missing),
            (httpx.delete(url, headers={"Authorization": f"Bearer {editor}"}), missing_delete),
        ):
            assert (response.status_code, problem(response)) == (404, problem(expected))
            assert_nothing_of(hidden(key), response)
        refusal = httpx.delete(url, headers={"Authorization": f"Bearer {reader}"})
        visible_refusal = httpx.delete(
            f"{world.url}/v1/documents/{visible(key)[0].doc_id}",
            headers={"Authorization": f"Bearer {reader}"},
        )
        assert refusal.status_code == 403 and problem(refusal) == problem(visible_refusal)
    for document in visible(key):
        response = _get(world.url, f"/v1/documents/{document.doc_id}", reader)
        reference = _get(world.references[key], f"/v1/documents/{document.doc_id}")
        assert response.status_code == 200 and comparable(response) == comparable(reference)
        assert_nothing_of(hidden(key), response)
    assert world.services.store.list_documents() == before


@pytest.mark.parametrize("key", list(KEYS))
def test_an_upload_cannot_replace_or_reveal_a_hidden_document(world: World, key: str) -> None:
    """An editor naming a hidden document's doc_id is refused (its name is taken), and learns
    nothing else of it: not its title, groups or facts; the document is untouched."""
    before = world.services.store.list_documents()
    for document in hidden(key):
        response = httpx.post(
            f"{world.url}/v1/documents",
            files=[("files", (document.doc_id, b"Replacement.\n\nNothing of note."))],
            headers={"Authorization": f"Bearer {world.editor_keys[key]}"},
            timeout=60,
        )
        assert response.status_code == 422
        assert response.json()["failed"] == [{"name": document.doc_id, "reason": NAME_TAKEN}]
        # The doc_id is the caller's own text; nothing else of the document is sent.
        others = [s for s in document.secrets if s.lower() not in document.doc_id.lower()]
        assert_nothing_of([replace(document, secrets=tuple(others))], response)
        assert not (world.services.settings.uploads_dir / document.doc_id).exists()
    assert world.services.store.list_documents() == before
