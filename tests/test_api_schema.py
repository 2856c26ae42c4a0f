"""Property-based tests of the HTTP API from its own OpenAPI schema (schemathesis): a real
server in extractive mode over a small store gets valid and invalid requests for every
operation (with its API key, without one and with a wrong one), and never answers with a 5xx,
nor with a 4xx that is not a JSON ``{"detail": ...}``.

Each operation is run through hypothesis directly (``APIOperation.as_strategy``):
schemathesis's own pytest loader for a schema from a fixture needs pytest internals that
pytest 9 no longer has. 50 examples per operation and mode, derandomized: ~20 s.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import BaseSchema, Case, GenerationMode

from qa_service.core.config import Settings
from qa_service.core.keys import KeysFile, Role
from qa_service.embedders.base import Embedder
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS
from tests.servers import serving


def schemathesis_config(key: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "checks": {
                # A body over QA_MAX_BODY_BYTES is as refused as a malformed one; a request
                # without its key is refused (401) before anything else is read; an upload
                # that is not multipart/form-data is a 415.
                "negative_data_rejection": {"expected-statuses": [400, 401, 413, 415, 422]},
                # A question of spaces, or longer than QA_MAX_QUESTION_CHARS (a setting), is
                # refused by the answer service (422) though the schema cannot say so.
                "positive_data_acceptance": {"enabled": False},
            },
            # Requests carry this API key; schemathesis also sends them without it and with
            # a wrong one, and expects a 401.
            "auth": {"openapi": {"API key": {"bearer": key}}},
        }
    )


# The longest path and query uvicorn's HTTP parser (httptools) takes; a longer one gets its
# plain-text 400. A negative example of a bounded query parameter can pass it when each
# character is four bytes, percent-encoded as twelve.
REQUEST_LINE_LIMIT = 65_535

# Read from the app's schema at collection, without loading any model. Invalid requests only
# for operations that take input.
CASES = [
    (method.upper(), path, mode)
    for path, methods in build_api(Settings()).openapi()["paths"].items()
    for method, operation in methods.items()
    for mode in GenerationMode
    if mode == GenerationMode.POSITIVE or {"requestBody", "parameters"} & set(operation)
]


@pytest.fixture(scope="module")
def api_schema(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[BaseSchema]:
    data_dir = tmp_path_factory.mktemp("schema") / "data"
    keys = KeysFile(data_dir.parent / "keys.json")
    # An editor: uploads and deletions are run too, not only refused.
    key = keys.add("schemathesis", groups=("staff",), role=Role.EDITOR)
    configured = Settings(
        data_dir=data_dir, chroma_url=None, llm="extractive", api_keys_file=keys.path
    )
    built = Services(configured, embedder=embedder)
    built.ingestor.run([INTERPOL_NEWS])
    app = build_api(built.settings, built)
    with serving(app) as url:
        assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
        yield schemathesis.openapi.from_url(f"{url}/openapi.json", config=schemathesis_config(key))


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_input_breaks_the_api(
    api_schema: BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=50,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: Case[Any]) -> None:
        response = case.call(timeout=30)
        if len(response.request.path_url) > REQUEST_LINE_LIMIT:
            # Refused by uvicorn (httptools) before any of the service's code runs, in its own
            # words: no route sees a query string of tens of thousands of encoded characters.
            assert response.status_code == 400, case.as_curl_command()
            return
        assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
        if 400 <= response.status_code < 500:
            content_type = response.headers.get("content-type", [""])[0]
            assert content_type.startswith("application/json"), case.as_curl_command()
            assert "detail" in response.json(), (case.as_curl_command(), response.text[:500])
        # And the rest of what schemathesis checks (CONFIG): statuses, content types, headers
        # and bodies as documented, invalid requests refused.
        case.validate_response(response)

    check()
