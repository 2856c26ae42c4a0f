"""POST /v1/documents over real HTTP: real PDF, DOCX, text, Markdown and HTML files are stored
and ingested; every bad file, name, size, key and group gets its status code and reason, and
leaves the store and the uploads folder as they were."""

import hashlib
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.library import NAME_TAKEN, PermissionRefusedError
from qa_service.core.keys import Caller, Role
from qa_service.embedders.base import Embedder
from tests.documents_api import Api, HeldEmbedder, multipart, running_api
from tests.problems import problem
from tests.samples import HTML, MARKDOWN, docx_bytes, pdf_bytes

FILE_LIMIT = 64 * 1024
REQUEST_LIMIT = 256 * 1024
BODY_LIMIT = 16 * 1024
# Held by the embedder until a test lets it go (``test_a_question_is_answered_while_...``).
HELD = "ZEPHYR-LEDGER"


@pytest.fixture(scope="module")
def held(embedder: Embedder) -> HeldEmbedder:
    return HeldEmbedder(embedder, HELD)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, held: HeldEmbedder) -> Iterator[Api]:
    # A question's body limit well below an upload's: the upload route has its own.
    with running_api(
        tmp_path_factory.mktemp("uploads") / "data",
        held,
        max_body_bytes=BODY_LIMIT,
        max_upload_file_bytes=FILE_LIMIT,
        max_upload_bytes=REQUEST_LIMIT,
    ) as running:
        yield running


def refused(response: httpx.Response, failed: dict[str, str], **stored: list[str]) -> None:
    """A 422 whose ``failed`` gives these reasons (each the start of the one given) and whose
    other lists are ``stored``."""
    assert response.status_code == 422, response.text
    body = response.json()
    total = len(failed) + sum(len(names) for names in stored.values())
    assert body["detail"] == f"{len(failed)} of {total} files were not stored: see failed for why"
    reasons = {item["name"]: item["reason"] for item in body["failed"]}
    assert reasons.keys() == failed.keys(), body
    for name, reason in failed.items():
        assert reasons[name].startswith(reason), (name, reasons[name])
    for outcome in ("added", "updated", "skipped"):
        assert body[outcome] == stored.get(outcome, []), body


def test_real_files_of_every_type_are_stored_and_ingested(api: Api) -> None:
    files = {
        "liaison-report.pdf": pdf_bytes(),
        "training-calendar.docx": docx_bytes(),
        "roster.md": MARKDOWN.encode(),
        "operation.html": HTML.encode(),
        "bulletin.txt": b"Staff bulletin\n\nThe canteen closes early on Fridays.",
    }
    response = api.upload("editor-alpha", list(files.items()), groups="alpha")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["added"] == list(files) and body["failed"] == [] and body["chunks_written"] >= 5
    titles = {
        "liaison-report.pdf": ("pdf", "Liaison office report"),
        "training-calendar.docx": ("docx", "Training calendar"),
        "roster.md": ("md", "Duty roster"),
        "operation.html": ("html", "Border operation results"),
        "bulletin.txt": ("txt", "Staff bulletin"),
    }
    for name, content in files.items():
        # The file is kept under its name, byte for byte; its doc_id is that name.
        assert (api.uploads / name).read_bytes() == content
        found = api.get(f"/v1/documents/{name}", "reader-alpha").json()
        assert (found["doc_type"], found["title"]) == titles[name]
        assert found["groups"] == ["alpha"]
        assert found["sha256"] == hashlib.sha256(content).hexdigest()


def test_an_uploaded_document_answers_questions(api: Api) -> None:
    text = (
        "Vehicle pool notice\n\nThe armoured vehicles of the liaison office are serviced in "
        "Tromso by the fleet contractor Borealis Motors."
    )
    response = api.upload("editor-alpha", [("vehicle-pool.txt", text.encode())])
    assert response.status_code == 200 and response.json()["added"] == ["vehicle-pool.txt"]
    answer = api.ask(
        "Where are the armoured vehicles of the liaison office serviced?", "reader-alpha"
    )
    assert not answer["refused"] and "Tromso" in answer["answer"], answer
    citation = answer["citations"][0]
    assert citation["doc_id"] == "vehicle-pool.txt"
    assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_the_same_file_again_is_skipped_and_a_changed_one_updated(api: Api) -> None:
    first = b"Shift handover\n\nThe night shift hands over at six in the morning."
    changed = b"Shift handover\n\nThe night shift hands over at seven in the morning."
    assert api.upload("editor-alpha", [("handover.txt", first)]).json()["added"] == ["handover.txt"]
    before = api.snapshot()
    again = api.upload("editor-alpha", [("handover.txt", first)])
    assert again.status_code == 200
    assert again.json() == {
        "added": [],
        "updated": [],
        "skipped": ["handover.txt"],
        "failed": [],
        "chunks_written": 0,
    }
    assert api.snapshot() == before
    update = api.upload("editor-alpha", [("handover.txt", changed)])
    assert update.status_code == 200 and update.json()["updated"] == ["handover.txt"]
    assert (api.uploads / "handover.txt").read_bytes() == changed
    text = api.get("/v1/documents/handover.txt/text", "reader-alpha", start=0, end=14).json()
    assert "seven" in text["text"] and "six" not in text["text"]


def _truncated_pdf() -> bytes:
    pdf = pdf_bytes()
    return pdf[: len(pdf) // 2]


BAD_FILES = [
    ("truncated.pdf", _truncated_pdf(), "corrupt or unreadable PDF: "),
    ("scan.txt", random.Random(7).randbytes(4096), "binary file, not text"),
    (
        "report-as-text.txt",
        pdf_bytes(),
        "the content is not text: it is a PDF (Adobe Portable Document Format file)",
    ),
    ("minutes.pdf", b"Minutes of the meeting.", "the content is not a PDF: it does not begin"),
    (
        "calendar.pdf",
        docx_bytes(),
        "the content is not a PDF: it is a DOCX file (MS Office Open XML Format Document)",
    ),
    ("letter.docx", pdf_bytes(), "the content is not a Word document (DOCX): it is a PDF"),
    ("tool.exe", b"MZ\x90\x00\x03", "unsupported file type '.exe' (txt, md, html, pdf, docx)"),
    ("notes", b"Plain words.", "unsupported file type '(none)'"),
    ("empty.md", b"", "empty file"),
    ("page.html", b"<html><body><script>x()</script></body></html>", "no text could be"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES)
def test_a_bad_file_is_refused_with_its_reason_and_changes_nothing(
    api: Api, name: str, content: bytes, reason: str
) -> None:
    before = api.snapshot()
    refused(api.upload("editor-alpha", [(name, content)]), {name: reason})
    assert api.snapshot() == before


def test_a_bad_replacement_leaves_the_stored_document_and_its_file(api: Api) -> None:
    good = b"Armoury rules\n\nWeapons are signed out at the armoury desk."
    assert api.upload("editor-alpha", [("armoury.txt", good)]).status_code == 200
    before = api.snapshot()
    response = api.upload("editor-alpha", [("armoury.txt", random.Random(3).randbytes(2048))])
    refused(response, {"armoury.txt": "binary file, not text"})
    assert api.snapshot() == before
    assert (api.uploads / "armoury.txt").read_bytes() == good


def test_good_files_of_a_mixed_upload_are_stored_and_the_bad_ones_named(api: Api) -> None:
    response = api.upload(
        "editor-alpha",
        [
            ("canteen.txt", b"Canteen\n\nLunch is served from noon."),
            ("broken.pdf", _truncated_pdf()),
            ("canteen.txt", b"Canteen\n\nA second file of the same name."),
        ],
    )
    refused(
        response,
        {
            "broken.pdf": "corrupt or unreadable PDF: ",
            # The first file of a name is the one stored.
            "canteen.txt": "the same name twice in one upload",
        },
        added=["canteen.txt"],
    )
    assert (api.uploads / "canteen.txt").read_bytes() == b"Canteen\n\nLunch is served from noon."
    assert not (api.uploads / "broken.pdf").exists()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (b"../../etc/passwd", "a file name may not hold '/' or '\\': send the name alone"),
        (b"../../escaped.txt", "a file name may not hold '/' or '\\'"),
        (b"/tmp/escaped.txt", "a file name may not hold '/' or '\\'"),
        (b"sub/escaped.txt", "a file name may not hold '/' or '\\'"),
        (b"..\\\\..\\\\escaped.txt", "a file name may not hold '/' or '\\'"),
        (b"escaped\x00.txt", "the name holds control or invisible characters"),
        ("report\u202etxt.exe".encode(), "the name holds control or invisible characters"),
        (b"..", "the name may not begin with '.'"),
        (b".lock", "the name may not begin with '.'"),
        (b".staging.txt", "the name may not begin with '.'"),
        (b"", "the file has no name"),
        ("é".encode() * 126 + b".txt", "the name is longer than 255 bytes"),
    ],
)
def test_a_name_that_is_not_a_plain_file_name_is_refused(
    api: Api, tmp_path: Path, name: bytes, reason: str
) -> None:
    before = api.snapshot()
    outside = sorted(api.uploads.parent.parent.rglob("*escaped*"))
    body = multipart([("files", name, b"A plain text file that must not escape.")])
    response = api.upload_raw("editor-alpha", body)
    refused(response, {name.decode().replace("\\\\", "\\"): reason})
    assert api.snapshot() == before
    assert sorted(api.uploads.parent.parent.rglob("*escaped*")) == outside
    assert not Path("/tmp/escaped.txt").exists() and not Path("/etc/passwd.txt").exists()


def test_a_long_name_is_not_sent_back_whole(api: Api) -> None:
    response = api.upload("editor-alpha", [("n" * 3000 + ".txt", b"Text.")])
    assert response.status_code == 422
    assert response.json()["failed"] == [
        {"name": "n" * 255 + "…", "reason": "the name is longer than 255 bytes"}
    ]
    # A part's header line past 4 KiB is refused by the multipart parser itself.
    longer = api.upload("editor-alpha", [("n" * 5000 + ".txt", b"Text.")])
    assert (longer.status_code, problem(longer)) == (400, {"detail": "Invalid multipart data."})


def test_a_windows_path_is_cut_to_its_file_name_by_the_multipart_parser(api: Api) -> None:
    body = multipart([("files", b"C:\\\\Users\\\\clerk\\\\duty-rota.txt", b"Duty rota\n\nTwo.")])
    response = api.upload_raw("editor-alpha", body)
    assert response.status_code == 200 and response.json()["added"] == ["duty-rota.txt"]
    assert (api.uploads / "duty-rota.txt").read_bytes() == b"Duty rota\n\nTwo."


def test_an_over_size_file_is_a_413_and_nothing_is_stored(api: Api) -> None:
    before = api.snapshot()
    big = b"Too long a line of text. " * (FILE_LIMIT // 25 + 1)
    response = api.upload("editor-alpha", [("small.txt", b"Small."), ("big.txt", big)])
    assert response.status_code == 413
    assert problem(response) == {
        "detail": f"the file 'big.txt' is over the limit of {FILE_LIMIT} bytes for one file"
    }
    assert api.snapshot() == before


def test_an_over_size_request_is_a_413_before_it_is_read(api: Api) -> None:
    before = api.snapshot()
    files = [(f"part-{n}.txt", b"Forty thousand bytes. " * 2800) for n in range(5)]
    response = api.upload("editor-alpha", files)
    assert response.status_code == 413
    assert problem(response) == {"detail": f"the request body is over {REQUEST_LIMIT} bytes"}
    # Without a Content-Length (chunked), as soon as the bytes received pass the limit.
    body = multipart([("files", name.encode(), content) for name, content in files])

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    headers = {
        **api.headers("editor-alpha"),
        "Content-Type": "multipart/form-data; boundary=qa-test-boundary-5d1c",
    }
    chunked = httpx.post(f"{api.url}/v1/documents", content=chunks(), headers=headers)
    assert chunked.status_code == 413
    assert problem(chunked) == {"detail": f"the request body is over {REQUEST_LIMIT} bytes"}
    assert api.snapshot() == before


def test_the_upload_limit_is_the_upload_route_s_only(api: Api) -> None:
    text = b"Long notice. " * (BODY_LIMIT // 13 + 100)
    response = api.upload("editor-alpha", [("long-notice.txt", b"Long notice\n\n" + text)])
    assert response.status_code == 200, response.text
    question = httpx.post(
        f"{api.url}/v1/ask",
        json={"question": "x" * BODY_LIMIT},
        headers=api.headers("reader-alpha"),
    )
    assert question.status_code == 413
    assert problem(question) == {"detail": f"the request body is over {BODY_LIMIT} bytes"}


def test_a_reader_may_not_upload(api: Api) -> None:
    before = api.snapshot()
    response = api.upload("reader-alpha", [("reader.txt", b"A reader's file.")])
    assert response.status_code == 403
    assert problem(response) == {
        "detail": "this key's role (reader) may not change documents: an editor key is needed"
    }
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("key", "content_type", "status"),
    [("reader-alpha", "multipart/form-data; boundary=x", 403), ("editor-alpha", "text/plain", 415)],
)
def test_a_refused_upload_is_answered_before_its_body_is_sent(
    api: Api, key: str, content_type: str, status: int
) -> None:
    """The request announces a body and sends none: the refusal comes all the same, so the
    server did not wait to read it."""
    host, port = api.url.removeprefix("http://").split(":")
    head = (
        f"POST /v1/documents HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {api.keys[key]}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {REQUEST_LIMIT}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=60) as connection:
        connection.sendall(head.encode())
        answer = connection.recv(65536)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]


@pytest.mark.parametrize(
    ("groups", "status", "detail"),
    [
        ("beta", 403, "this key may not give documents groups it does not hold: beta"),
        ("alpha,beta,gamma", 403, "this key may not give documents groups it does not hold: "),
        ("bad group!", 422, "group 'bad group!' is not allowed"),
    ],
)
def test_an_editor_gives_only_groups_it_holds(
    api: Api, groups: str, status: int, detail: str
) -> None:
    before = api.snapshot()
    response = api.upload("editor-alpha", [("widen.txt", b"Widened.")], groups=groups)
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)
    assert api.snapshot() == before


def test_groups_are_kept_on_update_unless_given(api: Api) -> None:
    name = "rota-alpha.txt"
    assert api.upload("editor-alpha", [(name, b"Rota\n\nOne.")], groups="alpha").status_code == 200
    assert api.upload("editor-alpha", [(name, b"Rota\n\nTwo.")]).json()["updated"] == [name]
    # Without groups, the document that exists keeps its own: it is not made public.
    assert api.get(f"/v1/documents/{name}", "editor-alpha").json()["groups"] == ["alpha"]
    assert api.get(f"/v1/documents/{name}", "admin-gamma").status_code == 404
    # An empty groups field makes it public, as an editor may.
    public = api.upload("editor-alpha", [(name, b"Rota\n\nTwo.")], groups="")
    assert public.json()["updated"] == [name]
    assert api.get(f"/v1/documents/{name}", "admin-gamma").json()["groups"] == []


def test_a_name_taken_by_a_document_the_key_may_not_read_is_not_replaced(api: Api) -> None:
    hidden = b"Gamma dossier\n\nThe courier is known as NIGHTHERON."
    assert api.upload("admin-gamma", [("gamma-dossier.txt", hidden)], "gamma").status_code == 200
    before = api.snapshot()
    response = api.upload("editor-alpha", [("gamma-dossier.txt", b"Overwritten.")])
    refused(response, {"gamma-dossier.txt": NAME_TAKEN})
    assert b"NIGHTHERON" not in response.content
    assert api.snapshot() == before
    assert (api.uploads / "gamma-dossier.txt").read_bytes() == hidden


@pytest.mark.parametrize(
    ("content_type", "body", "status", "detail"),
    [
        ("application/json", b'{"files": []}', 415, "send the files as multipart/form-data"),
        (None, multipart([("groups", None, b"alpha")]), 422, "no files: send each file as a "),
        (None, multipart([("files", None, b"x")]), 422, "each 'files' part must be a file"),
        (None, multipart([("documents", b"a.txt", b"x")]), 422, "unknown fields: documents"),
        (None, b"--qa-test-boundary-5d1c\r\nnot a part", 400, "Invalid multipart data."),
        ("multipart/form-data", b"x", 400, "Missing boundary in multipart."),
    ],
)
def test_a_body_that_is_not_an_upload_is_refused(
    api: Api, content_type: str | None, body: bytes, status: int, detail: str
) -> None:
    before = api.snapshot()
    if content_type is None:
        response = api.upload_raw("editor-alpha", body)
    else:
        headers = {**api.headers("editor-alpha"), "Content-Type": content_type}
        response = httpx.post(f"{api.url}/v1/documents", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["detail"].startswith(detail)
    assert api.snapshot() == before


def test_a_question_is_answered_while_a_long_upload_is_ingested(
    api: Api, held: HeldEmbedder
) -> None:
    """The upload's chunks are held at the embedder until the question is answered: had the
    ingest blocked the event loop, or held anything a question needs, the question would
    never be answered and the test would fail."""
    held.release.clear()
    held.reached.clear()
    assert api.upload("editor-alpha", [("ferry.txt", FERRY)]).status_code == 200
    upload: dict[str, Any] = {}
    text = f"Long annex\n\n{HELD} " + "The annex lists every ledger of the harbour. " * 1200

    def send() -> None:
        upload["response"] = api.upload("editor-alpha", [("long-annex.txt", text.encode())])

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert held.reached.wait(timeout=120), "the upload never reached the embedder"
        answer = api.ask("Which port does the night ferry to Gotland leave from?", "reader-alpha")
        assert not answer["refused"] and "Nynashamn" in answer["answer"], answer
        assert "response" not in upload
    finally:
        held.release.set()
        sender.join(timeout=300)
    assert upload["response"].status_code == 200
    assert upload["response"].json()["added"] == ["long-annex.txt"]


FERRY = b"Ferry notice\n\nThe night ferry to Gotland leaves from Nynashamn at midnight."


def test_uploads_of_one_name_are_made_one_after_the_other(api: Api, held: HeldEmbedder) -> None:
    """Two uploads of one name at once: the first is held while it is ingested; the second
    arrives and waits its turn (its bytes are received meanwhile), then finds the first one's
    document and updates it. The store and the uploads folder end on the second's bytes."""
    held.release.clear()
    held.reached.clear()
    first, second = (f"Tide table\n\n{HELD} The tide turns at {hour}." for hour in ("one", "two"))
    staging = api.uploads / ".staging"
    responses: dict[str, httpx.Response] = {}

    def send(label: str, text: str) -> None:
        responses[label] = api.upload("editor-alpha", [("tide-table.txt", text.encode())])

    one = threading.Thread(target=send, args=("first", first))
    two = threading.Thread(target=send, args=("second", second))
    one.start()
    try:
        assert held.reached.wait(timeout=120)
        two.start()
        # The second upload's bytes are in a staging folder of their own, waiting for the lock.
        while len(list(staging.iterdir())) < 2:
            assert two.is_alive()
            time.sleep(0.05)
    finally:
        held.release.set()
        one.join(timeout=300)
        two.join(timeout=300)
    assert responses["first"].json()["added"] == ["tide-table.txt"]
    assert responses["second"].json()["updated"] == ["tide-table.txt"]
    assert (api.uploads / "tide-table.txt").read_bytes() == second.encode()
    stored = api.get("/v1/documents/tide-table.txt", "editor-alpha").json()
    assert stored["sha256"] == hashlib.sha256(second.encode()).hexdigest()
    assert list(staging.iterdir()) == []


def test_without_a_keys_file_the_caller_on_this_machine_may_upload(
    tmp_path: Path, embedder: Embedder
) -> None:
    with running_api(tmp_path / "data", embedder, keys=False) as local:
        response = local.upload(None, [("local.txt", b"Local\n\nUploaded on the machine.")], "x")
        assert response.status_code == 200 and response.json()["added"] == ["local.txt"]
        assert local.get("/v1/documents/local.txt", None).json()["groups"] == ["x"]


def test_the_library_refuses_a_reader_whoever_calls_it(api: Api) -> None:
    """The role is the library's rule, not only the route's: ``qa`` commands and any later
    caller go through the same check."""
    with pytest.raises(PermissionRefusedError, match=r"^this key's role \(reader\)"):
        api.services.library.upload([], None, Caller("r", ("alpha",), Role.READER))
