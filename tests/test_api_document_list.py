"""GET /v1/documents (paged, narrowed by groups), GET /v1/documents/{doc_id} and
DELETE /v1/documents/{doc_id} over real HTTP, with real keys: each key lists, reads and deletes
only the documents of its groups, and one it may not read is as unknown as one that is not."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa_service.embedders.base import Embedder
from tests.documents_api import Api, running_api
from tests.problems import problem

# doc_id -> (groups, text): the public documents, alpha's and gamma's.
CORPUS = {
    "public": {
        f"notice-{n}.txt": f"Notice {n}\n\nThe lobby opens at {n + 6} in the morning."
        for n in range(1, 6)
    },
    "alpha": {
        "alpha-brief.txt": "Alpha brief\n\nThe alpha unit meets in room 12.",
        "alpha-plan.md": "# Alpha plan\n\nThe plan is reviewed each March.",
    },
    "gamma": {
        "gamma-ledger.txt": "Gamma ledger\n\nThe courier is paid through ORCHIDVAULT.",
    },
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("listing")
    with running_api(root / "data", embedder) as running:
        for folder, documents in CORPUS.items():
            for doc_id, text in documents.items():
                (root / folder).mkdir(exist_ok=True)
                (root / folder / doc_id).write_text(text, encoding="utf-8")
            groups = () if folder == "public" else (folder,)
            report = running.services.library.ingest([root / folder], groups)
            assert report.added == sorted(documents), report
        yield running


def listed(api: Api, key: str, **params: Any) -> list[str]:
    response = api.get("/v1/documents", key, **params)
    assert response.status_code == 200, response.text
    return [document["doc_id"] for document in response.json()["documents"]]


def readable(*folders: str) -> list[str]:
    return sorted(doc_id for folder in folders for doc_id in CORPUS[folder])


def test_a_key_lists_the_documents_of_its_groups_by_doc_id(api: Api) -> None:
    assert listed(api, "reader-alpha") == readable("public", "alpha")
    assert listed(api, "admin-gamma") == readable("public", "gamma")
    body = api.get("/v1/documents", "reader-alpha").json()
    assert body["next_cursor"] is None
    brief = next(d for d in body["documents"] if d["doc_id"] == "alpha-brief.txt")
    stored = api.services.store.list_documents()
    info = next(d for d in stored if d.doc_id == "alpha-brief.txt")
    assert brief == {
        "doc_id": "alpha-brief.txt",
        "title": "Alpha brief",
        "doc_type": "txt",
        "groups": ["alpha"],
        "chunks": info.n_chunks,
        "chars": len(CORPUS["alpha"]["alpha-brief.txt"]),
        "date": None,
        "ingested_at": info.ingested_at,
        "sha256": info.content_hash,
    }


def test_pages_follow_each_other_and_do_not_move(api: Api) -> None:
    everything = listed(api, "reader-alpha")
    first = api.get("/v1/documents", "reader-alpha", limit=3).json()
    assert [d["doc_id"] for d in first["documents"]] == everything[:3]
    assert first["next_cursor"] == everything[2]
    # A document that comes before the cursor does not shift the next page.
    early = api.upload("editor-alpha", [("aaa-early.txt", b"Early\n\nFirst in line.")])
    assert early.status_code == 200
    pages: list[str] = [d["doc_id"] for d in first["documents"]]
    cursor = first["next_cursor"]
    while cursor is not None:
        page = api.get("/v1/documents", "reader-alpha", limit=3, cursor=cursor).json()
        assert 1 <= len(page["documents"]) <= 3
        pages += [d["doc_id"] for d in page["documents"]]
        cursor = page["next_cursor"]
    assert pages == everything
    assert listed(api, "reader-alpha") == sorted([*everything, "aaa-early.txt"])
    assert api.delete("aaa-early.txt", "editor-alpha").status_code == 200


def test_a_cursor_past_the_end_gives_an_empty_last_page(api: Api) -> None:
    body = api.get("/v1/documents", "reader-alpha", cursor="zzz").json()
    assert body == {"documents": [], "next_cursor": None}


def test_groups_narrow_the_list_and_never_widen_it(api: Api) -> None:
    assert listed(api, "reader-alpha", groups="alpha") == readable("public", "alpha")
    assert listed(api, "reader-alpha", groups="") == readable("public")
    # A group the key does not hold adds nothing.
    assert listed(api, "reader-alpha", groups="gamma") == readable("public")
    assert listed(api, "reader-alpha", groups="alpha,gamma") == readable("public", "alpha")


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"groups": "bad group!"}, "group 'bad group!' is not allowed"),
        ({"limit": 0}, None),
        ({"limit": 1001}, None),
        ({"limit": "many"}, None),
    ],
)
def test_a_bad_listing_request_is_a_422(
    api: Api, params: dict[str, Any], detail: str | None
) -> None:
    response = api.get("/v1/documents", "reader-alpha", **params)
    assert response.status_code == 422
    if detail is not None:
        assert response.json()["detail"].startswith(detail)
    else:
        assert response.json()["detail"][0]["loc"] == ["query", "limit"]


def test_one_document_s_metadata_and_a_hidden_one_as_unknown_as_a_missing_one(api: Api) -> None:
    found = api.get("/v1/documents/alpha-plan.md", "reader-alpha")
    assert found.status_code == 200
    assert (found.json()["title"], found.json()["doc_type"]) == ("Alpha plan", "md")
    missing = api.get("/v1/documents/no-such.txt", "reader-alpha")
    hidden = api.get("/v1/documents/gamma-ledger.txt", "reader-alpha")
    assert (missing.status_code, problem(missing)) == (404, {"detail": "no such document"})
    assert (hidden.status_code, problem(hidden)) == (404, problem(missing))


def test_an_editor_deletes_a_document_it_may_read_with_its_file(api: Api) -> None:
    text = b"Parking rules\n\nVisitors park in the north yard behind the depot."
    assert api.upload("editor-alpha", [("parking.txt", text)], "alpha").status_code == 200
    asked = api.ask("Where do visitors park?", "reader-alpha")
    assert [c["doc_id"] for c in asked["citations"]] == ["parking.txt"]
    response = api.delete("parking.txt", "editor-alpha")
    assert response.status_code == 200
    assert response.json()["deleted"] == "parking.txt" and response.json()["chunks"] >= 1
    assert not (api.uploads / "parking.txt").exists()
    assert "parking.txt" not in listed(api, "reader-alpha")
    assert api.get("/v1/documents/parking.txt", "reader-alpha").status_code == 404
    assert api.ask("Where do visitors park?", "reader-alpha")["citations"] == []
    again = api.delete("parking.txt", "editor-alpha")
    assert (again.status_code, problem(again)) == (404, {"detail": "no such document"})


def test_a_document_ingested_from_a_folder_is_deleted_without_touching_its_file(
    api: Api, tmp_path: Path
) -> None:
    (tmp_path / "doomed.txt").write_text("Doomed\n\nThis notice expires.", encoding="utf-8")
    assert api.services.library.ingest([tmp_path / "doomed.txt"]).added == ["doomed.txt"]
    assert api.delete("doomed.txt", "editor-alpha").status_code == 200
    assert (tmp_path / "doomed.txt").exists()
    assert "doomed.txt" not in listed(api, "admin-gamma")


def test_a_hidden_document_s_delete_is_the_missing_one_s_404(api: Api) -> None:
    before = api.snapshot()
    missing = api.delete("no-such.txt", "editor-alpha")
    hidden = api.delete("gamma-ledger.txt", "editor-alpha")
    assert (missing.status_code, problem(missing)) == (404, {"detail": "no such document"})
    assert (hidden.status_code, problem(hidden)) == (404, problem(missing))
    assert api.snapshot() == before


def test_a_reader_may_not_delete_any_document(api: Api) -> None:
    before = api.snapshot()
    refusals = {
        doc_id: api.delete(doc_id, "reader-alpha")
        for doc_id in ("alpha-brief.txt", "gamma-ledger.txt", "no-such.txt")
    }
    for response in refusals.values():
        assert response.status_code == 403
        assert problem(response) == {
            "detail": "this key's role (reader) may not change documents: an editor key is needed"
        }
    assert api.snapshot() == before
