"""GET /v1/documents/{doc_id}/text: a citation's quote in its document's text, for the caller's
groups only, with its title and page."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa_service.api.routes.documents import context_window
from qa_service.core.keys import KeysFile
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS, ON_THIS_MACHINE
from tests.problems import problem
from tests.samples import pdf_bytes

LYON = "000_bacf7507a92bc4d7.txt"
# Pages longer than a chunk, so that the last chunks begin on page 2.
PAGES = [
    "The liaison office in Nairobi opened on 3 March. " * 25,
    "The cybercrime unit trains analysts in digital forensics. " * 25,
]


@pytest.fixture
def client(extractive: Services, tmp_path: Path) -> Iterator[TestClient]:
    private = tmp_path / "private"
    (private / "handbook").mkdir(parents=True)
    (private / "handbook" / "travel.md").write_text(
        "# Travel\n\nMissions abroad are booked by the travel desk.\n", encoding="utf-8"
    )
    (private / "report.pdf").write_bytes(pdf_bytes(PAGES))
    extractive.ingestor.run([INTERPOL_NEWS])
    extractive.ingestor.run([private], groups=("hr",))
    app = build_api(extractive.settings, extractive)
    with TestClient(app, base_url="http://localhost", client=ON_THIS_MACHINE) as test_client:
        assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
        yield test_client


def test_the_quote_in_its_context_with_title_and_offsets(client: TestClient) -> None:
    answer = client.post("/v1/ask", json={"question": "Where did the Chiefs of Police meet?"})
    citation = answer.json()["citations"][0]
    response = client.get(
        f"/v1/documents/{citation['doc_id']}/text",
        params={"start": citation["start"], "end": citation["end"], "context": 200},
    )
    assert response.status_code == 200
    found = response.json()
    text = (INTERPOL_NEWS / citation["doc_id"]).read_text(encoding="utf-8")
    assert found["quote"] == citation["quote"] == text[citation["start"] : citation["end"]]
    assert found["text"] == text[found["offset"] : found["offset"] + len(found["text"])]
    quoted = found["text"][found["start"] - found["offset"] : found["end"] - found["offset"]]
    assert quoted == citation["quote"]
    # About 200 characters after the quote, cut between words; this quote opens the document.
    assert found["offset"] == 0 and 200 <= len(found["text"]) - len(quoted) < 280
    assert found["text"][-1] != " " and text[len(found["text"])].isspace()
    assert found["chars"] == len(text) and found["page"] is None
    assert found["doc_id"] == LYON and found["title"] == citation["title"]


def test_a_pdf_quote_has_its_page_and_a_path_id_its_folder(client: TestClient) -> None:
    found = client.get("/v1/documents/report.pdf/text", params={"start": 0, "end": 10}).json()
    assert found["page"] == 1 and found["title"] == "Liaison office report"
    # The page the passage holding the quote begins on.
    last = found["chars"] - 10
    later = client.get("/v1/documents/report.pdf/text", params={"start": last, "end": last + 9})
    assert later.json()["page"] == 2 and "forensics" in later.json()["quote"]
    travel = client.get("/v1/documents/handbook/travel.md/text", params={"start": 0, "end": 8})
    assert travel.status_code == 200 and travel.json()["quote"] == "# Travel"
    encoded = client.get("/v1/documents/handbook%2Ftravel.md/text?start=0&end=8")
    assert encoded.json() == travel.json()


def test_unknown_documents_and_offsets_outside_are_refused(client: TestClient) -> None:
    missing = client.get("/v1/documents/nope.txt/text", params={"start": 0, "end": 1})
    assert missing.status_code == 404 and problem(missing) == {"detail": "no such document"}
    chars = len((INTERPOL_NEWS / LYON).read_text(encoding="utf-8"))
    for start, end in ((5, 4), (0, chars + 1), (-1, 3)):
        response = client.get(f"/v1/documents/{LYON}/text", params={"start": start, "end": end})
        assert response.status_code == 422, (start, end)
        assert "detail" in response.json()
    beyond = client.get(f"/v1/documents/{LYON}/text", params={"start": 0, "end": chars + 1})
    assert problem(beyond) == {
        "detail": f"start and end must lie within the document (0 to {chars})"
    }
    assert client.get(f"/v1/documents/{LYON}/text").status_code == 422
    # Any doc_id reaches the route, a line break in it too: its parameters are checked first.
    odd = client.get("/v1/documents/a%0Ab/text", params={"start": 0, "end": 1})
    assert problem(odd) == {"detail": "no such document"}
    assert client.get("/v1/documents/a%0Ab/text", params={"start": "x"}).status_code == 422


def test_the_callers_groups_apply_as_for_questions(
    extractive: Services, client: TestClient, tmp_path: Path
) -> None:
    keys_file = KeysFile(tmp_path / "keys.json")
    keys = {groups: keys_file.add(f"key-{index}", groups) for index, groups in enumerate(GROUPS)}
    keyed = extractive.settings.model_copy(update={"api_keys_file": keys_file.path})
    params = {"start": 0, "end": 5}
    app = build_api(keyed, extractive)
    with TestClient(app, base_url="http://localhost", client=ON_THIS_MACHINE) as keyed_client:
        assert app.state.qa.wait(timeout=120)
        for groups, readable in ((("finance",), False), (("hr",), True), ((), False)):
            headers = {"Authorization": f"Bearer {keys[groups]}"}
            private = keyed_client.get(
                "/v1/documents/report.pdf/text", params=params, headers=headers
            )
            # Another group's document is as unknown as a missing one.
            assert private.status_code == (200 if readable else 404), groups
            # A document ingested without groups is everyone's.
            lyon = keyed_client.get(f"/v1/documents/{LYON}/text", params=params, headers=headers)
            assert lyon.status_code == 200
            answer = keyed_client.post(
                "/v1/ask", json={"question": "When did the liaison office open?"}, headers=headers
            )
            cited = {citation["doc_id"] for citation in answer.json()["citations"]}
            assert ("report.pdf" in cited) == readable, groups


GROUPS: list[tuple[str, ...]] = [("finance",), ("hr",), ()]


@pytest.mark.parametrize(
    ("start", "end", "context", "shown"),
    [
        (15, 19, 6, "three. Four five"),
        (16, 18, 3, "three. Four five"),
        (15, 19, 0, "Four"),
        (0, 3, 100, "One two three. Four five six."),
        (9, 12, 2, "three."),
    ],
)
def test_the_context_is_cut_between_words(start: int, end: int, context: int, shown: str) -> None:
    text = "One two three. Four five six."
    first, last = context_window(text, start, end, context)
    assert text[first:last] == shown
