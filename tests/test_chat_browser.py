"""The chat in a real browser: Debian's headless Chromium, driven by Playwright, on an intranet
page of another origin that embeds the widget with one script tag, and on the service's own
page. The service is real (uvicorn on a loopback port) and answers from interpol-news without a
model."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Request,
    Response,
    Route,
    ViewportSize,
    sync_playwright,
)

from qa_service.core.keys import KeysFile
from qa_service.embedders.base import Embedder
from tests.chat_pages import (
    CHROMIUM,
    FOLLOW_UP,
    KEY,
    QUESTION,
    XSS_QUESTION,
    XSS_TITLE,
    ask,
    chat_site,
    focused,
    launch,
    tab_to,
    widget,
)
from tests.conftest import INTERPOL_NEWS, environment_without_settings

ARABIC_QUESTION = "أين اجتمع رؤساء الشرطة؟"
DESKTOP = ViewportSize(width=1280, height=860)

# Records, in order, what the chat shows as an answer comes: status changes, answer text, the
# sources list (added once the answer is done).
WATCH_RENDERING = """() => {
    window.__steps = [];
    const root = document.querySelector("qa-chat").shadowRoot;
    new MutationObserver((records) => {
        for (const record of records) {
            const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
            if (node.closest(".status")) window.__steps.push("status");
            else if (node.closest(".text") && record.addedNodes.length) window.__steps.push("text");
            for (const added of record.addedNodes) {
                if (added.nodeType === 1 && added.matches(".sources")) {
                    window.__steps.push("sources");
                }
            }
        }
    }).observe(root, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def site_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chat")


@pytest.fixture(scope="module")
def site(site_folder: Path, embedder: Embedder) -> Iterator[tuple[str, str]]:
    with chat_site(site_folder, embedder) as urls:
        yield urls


@pytest.fixture(scope="module")
def keyed_site(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[str, str]]:
    """The service with a keys file, whose page asks for a key; yields its URL and a key."""
    root = tmp_path_factory.mktemp("keyed")
    key = KeysFile(root / "keys.json").add("staff", groups=())
    with chat_site(root, embedder, api_keys_file=root / "keys.json") as (_, api):
        yield api, key


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"no browser at {CHROMIUM}: `make browser` installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def opened(page: Page, url: str) -> list[Request]:
    """Opens ``url``, then the chat (on an intranet page); the requests the page makes."""
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(url)
    if "/plain" in url or "/hostile" in url:
        widget(page).locator(".launcher").click()
    return requests


def test_a_conversation_on_an_intranet_page(site: tuple[str, str], page: Page) -> None:
    host, api = site
    requests = opened(page, f"{host}/plain")
    chat = widget(page)
    assert page.locator("qa-chat").count() == 1
    page.evaluate(WATCH_RENDERING)

    answer = ask(page, QUESTION, 1)
    text = answer.locator(".text").inner_text()
    assert "Lyon" in text
    # The checked text is shown as it comes, then its sources once the answer is done.
    steps: list[str] = page.evaluate("window.__steps")
    assert "status" in steps[: steps.index("text")] and steps.index("text") < steps.index("sources")
    asked = next(r for r in requests if r.url == f"{api}/v1/ask/stream")
    headers = asked.all_headers()
    assert headers["authorization"] == f"Bearer {KEY}" and headers["origin"] == host
    assert json.loads(asked.post_data or "") == {"question": QUESTION, "history": []}

    chip = answer.locator(".text .chip").first
    assert chip.get_attribute("aria-expanded") == "false"
    chip.click()
    mark = answer.locator(".card mark")
    mark.wait_for()
    quote = mark.inner_text()
    assert "INTERPOL headquarters in Lyon" in quote and quote.rstrip(".") in text
    context = answer.locator(".card .context").inner_text()
    assert quote in context and len(context) > len(quote) + 100
    assert answer.locator(".card h3").inner_text() == "000_bacf7507a92bc4d7.txt"
    assert chip.get_attribute("aria-expanded") == "true"
    # Only the conversation scrolls: nothing in it (a button's hidden label below the fold)
    # stretches the panel, whose header and question box stay in place.
    panel = chat.locator(".panel")
    assert panel.evaluate("p => [p.scrollTop, p.scrollHeight - p.clientHeight]") == [0, 0]
    document = (host, api)
    assert all(request.url.startswith(document) for request in requests)

    follow_up = ask(page, FOLLOW_UP, 2)
    sent = [r for r in requests if r.url == f"{api}/v1/ask/stream"][-1]
    user, assistant = json.loads(sent.post_data or "")["history"]
    assert user == {"role": "user", "content": QUESTION} and assistant["role"] == "assistant"
    # The answer as the service gave it, its markers the chips shown.
    assert "Lyon [1]" in assistant["content"]
    assert re.sub(r"\[(\d+)\]", r"\1", assistant["content"]) == text
    # The question as the service understood it, when it differs from what was typed.
    assert QUESTION in follow_up.locator(".understood").inner_text()
    assert follow_up.locator(".text .chip").count() >= 1
    assert answer.locator(".understood").count() == 0
    assert chat.locator(".msg.user").all_inner_texts() == [QUESTION, FOLLOW_UP]


@pytest.mark.parametrize("where", ["intranet", "service"])
def test_markup_in_documents_is_shown_as_text(
    site: tuple[str, str], page: Page, where: str
) -> None:
    host, api = site
    opened(page, f"{host}/plain" if where == "intranet" else f"{api}/")
    answer = ask(page, XSS_QUESTION, 1)
    assert "<img src=x onerror=window.__qaXss=2>" in answer.locator(".text").inner_text()
    assert "<script>window.__qaXss=3</script>" in answer.locator(".text").inner_text()
    assert answer.locator(".source-title").inner_text() == XSS_TITLE
    answer.locator(".text .chip").first.click()
    answer.locator(".card mark").wait_for()
    assert answer.locator(".card h3").inner_text() == XSS_TITLE
    assert "<script>" in answer.locator(".card .context").inner_text()
    page.wait_for_timeout(300)  # time for an image's error, had one been made
    assert page.evaluate("window.__qaXss") is None
    assert (
        page.evaluate(
            "document.querySelector('qa-chat').shadowRoot.querySelectorAll('img, script').length"
        )
        == 0
    )


def test_arabic_reads_right_to_left(site: tuple[str, str], page: Page) -> None:
    host, _ = site
    opened(page, f"{host}/plain")
    answer = ask(page, ARABIC_QUESTION, 1)
    question = widget(page).locator(".msg.user").first
    assert question.get_attribute("dir") == "rtl"
    assert question.evaluate("e => getComputedStyle(e).direction") == "rtl"
    # Without a model to translate, the documents (in English) do not answer it: said in Arabic.
    assert answer.get_attribute("dir") == "rtl" and answer.get_attribute("lang") == "ar"
    refusal = answer.locator(".refusal p").first
    assert refusal.inner_text() == "الوثائق لا تذكر ذلك."
    assert refusal.evaluate("e => getComputedStyle(e).direction") == "rtl"


def test_the_whole_flow_by_keyboard(site: tuple[str, str], page: Page) -> None:
    host, _ = site
    page.goto(f"{host}/plain")
    chat = widget(page)

    tab_to(page, "launcher")
    page.keyboard.press("Enter")
    assert chat.locator(".panel").is_visible() and focused(page)["tag"] == "textarea"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    answer = chat.locator("article.msg.bot").first
    answer.locator(".actions").wait_for()

    chip = tab_to(page, "chip", "Shift+Tab")
    assert chip["label"].startswith("Source ")
    outline = page.evaluate(
        "() => getComputedStyle(document.querySelector('qa-chat').shadowRoot.activeElement)"
        ".outlineStyle"
    )
    assert outline == "solid"  # the focus is seen
    page.keyboard.press("Enter")
    answer.locator(".card mark").wait_for()
    assert focused(page)["tag"] == "h3"
    tab_to(page, "context")  # the passage scrolls by keyboard
    page.keyboard.press("Escape")
    assert answer.locator(".card").count() == 0 and "chip" in focused(page)["cls"]
    page.keyboard.press("Escape")
    assert not chat.locator(".panel").is_visible() and "launcher" in focused(page)["cls"]


def test_the_host_pages_styles_do_not_reach_the_widget(site: tuple[str, str], page: Page) -> None:
    host, _ = site
    measured = []
    for name in ("plain", "hostile"):
        opened(page, f"{host}/{name}")
        ask(page, QUESTION, 1)
        measured.append(
            widget(page).evaluate_all(
                """chats => {
                    const root = chats[0].shadowRoot;
                    const parts = [".launcher", ".panel", ".head h2", ".msg.user", "article",
                                   ".text", ".chip", "textarea", ".send"];
                    return parts.map(selector => {
                        const element = root.querySelector(selector);
                        const style = getComputedStyle(element);
                        const box = element.getBoundingClientRect();
                        return [selector, box.x, box.y, box.width, box.height, style.color,
                                style.backgroundColor, style.fontSize, style.fontFamily,
                                style.lineHeight, style.letterSpacing, style.padding];
                    });
                }"""
            )
        )
        host_text = page.locator("#host-text").evaluate("e => getComputedStyle(e).fontSize")
        # The hostile page's rules are in force on its own text.
        assert host_text == ("40px" if name == "hostile" else "16px")
    assert measured[0] == measured[1]


def test_the_service_page_runs_with_no_inline_script(site: tuple[str, str], page: Page) -> None:
    _, api = site
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    response = page.goto(f"{api}/")
    assert (
        response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    )
    answer = ask(page, QUESTION, 1)
    assert "Lyon" in answer.locator(".text").inner_text()
    assert not [text for text in problems if "Content Security Policy" in text]
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__inline = 1";
            document.body.append(script);
        }"""
    )
    assert page.evaluate("window.__inline") is None
    assert any("Content Security Policy" in text for text in problems)


def test_errors_are_said_plainly_with_a_retry_and_an_answer_can_be_stopped(
    site: tuple[str, str], page: Page
) -> None:
    _, api = site
    page.goto(f"{api}/")
    chat = widget(page)
    busy = {
        "detail": "the service is busy: retry later",
        "retry_after_ms": 7000,
        "request_id": "busy-4242",
    }
    page.route(
        "**/v1/ask/stream",
        lambda route: route.fulfill(status=503, headers={"Retry-After": "7"}, json=busy),
    )
    failed = ask(page, QUESTION, 1)
    assert (
        failed.locator(".error")
        .inner_text()
        .startswith("The service is busy answering others. Try again in 7 seconds.")
    )
    # The id the service logged the request under, for the person to quote.
    assert failed.locator(".request-id").inner_text() == "Request id: busy-4242"
    page.unroute("**/v1/ask/stream")
    failed.locator(".retry").click()
    answer = chat.locator("article.msg.bot").first
    answer.locator(".actions").wait_for()
    assert chat.locator("article.msg.bot").count() == 1 and chat.locator(".error").count() == 0

    cut = 'event: status\r\ndata: {"stage": "searching"}\r\n\r\n'
    page.route(
        "**/v1/ask/stream",
        lambda route: route.fulfill(body=cut, headers={"content-type": "text/event-stream"}),
    )
    lost = ask(page, FOLLOW_UP, 2)
    assert "The connection was lost" in lost.locator(".error").inner_text()
    page.unroute("**/v1/ask/stream")

    held: list[Route] = []
    page.route("**/v1/ask/stream", lambda route: held.append(route))  # never answered
    chat.locator(".composer textarea").fill(FOLLOW_UP)
    chat.locator(".composer textarea").press("Enter")
    stop = chat.locator(".send.stop")
    stop.wait_for()
    assert stop.get_attribute("title") == "Stop"
    stop.click()
    stopped = chat.locator("article.msg.bot").nth(2)
    assert stopped.locator(".note").inner_text() == "Stopped."
    assert chat.locator(".send.stop").count() == 0
    # Only the answered question is history: the failed and stopped ones are not.
    assert page.evaluate("document.querySelector('qa-chat').history.length") == 2


def test_the_script_adds_one_element_and_no_globals(site: tuple[str, str], page: Page) -> None:
    host, _ = site
    page.goto(f"{host}/plain")
    widget(page).locator(".launcher").wait_for()
    body = page.evaluate("[...document.body.children].map(e => e.tagName.toLowerCase())")
    assert body[-2:] == ["script", "qa-chat"]
    assert page.evaluate("typeof QaChat + typeof AnswerView + typeof h") == "undefined" * 3


STORED_KEY = "sessionStorage.getItem('qa-chat-key')"


def test_the_service_page_asks_for_a_key_and_again_when_it_is_refused(
    keyed_site: tuple[str, str], page: Page
) -> None:
    api, key = keyed_site
    asked: list[Response] = []
    page.on("response", lambda r: asked.append(r) if r.url.endswith("/v1/ask/stream") else None)
    page.goto(f"{api}/")
    chat = widget(page)
    form = chat.locator(".key-form")
    form.wait_for()
    # The key box is the page's first question, labelled, and has the focus.
    assert focused(page)["tag"] == "input" and chat.locator(".key-title").inner_text() == (
        "This service asks for an API key."
    )
    key_box = chat.locator(".key-form input")
    assert key_box.get_attribute("type") == "password"
    assert chat.locator(f"label[for='{key_box.get_attribute('id')}']").inner_text() == "API key"

    page.keyboard.type("qa_not-a-key")
    page.keyboard.press("Enter")
    assert not form.is_visible() and focused(page)["tag"] == "textarea"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    refused = chat.locator("article.msg.bot").first
    refused.locator(".error").wait_for()
    assert refused.locator(".error p").first.inner_text() == (
        "The service did not accept this key (401). Enter another one."
    )
    assert refused.locator(".request-id .id").inner_text() == asked[-1].headers["x-request-id"]
    # The form is offered again, with the focus; the refused key is not kept.
    assert form.is_visible() and focused(page)["tag"] == "input"
    assert "did not accept this key" in chat.locator(".key-title").inner_text()
    assert page.evaluate(STORED_KEY) is None

    page.keyboard.type(key)
    page.keyboard.press("Enter")
    # The question goes again, with the key, in place of the refused one.
    answer = chat.locator("article.msg.bot").first
    answer.locator(".actions").wait_for()
    assert "Lyon" in answer.locator(".text").inner_text()
    assert chat.locator("article.msg.bot").count() == 1 and chat.locator(".error").count() == 0
    assert asked[-1].request.headers["authorization"] == f"Bearer {key}"
    assert page.evaluate(STORED_KEY) == key

    # Kept for this tab: a reload asks for nothing, another tab asks again.
    page.reload()
    widget(page).locator(".composer textarea").wait_for()
    assert not widget(page).locator(".key-form").is_visible()
    assert "Lyon" in ask(page, QUESTION, 1).locator(".text").inner_text()
    other = page.context.new_page()
    other.goto(f"{api}/")
    widget(other).locator(".key-form").wait_for()
    assert other.evaluate(STORED_KEY) is None
    other.close()

    # The key button opens the form, which can forget the key.
    toggle = widget(page).locator("button[title='API key']")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    widget(page).locator(".key-forget").click()
    assert page.evaluate(STORED_KEY) is None
    assert widget(page).locator(".key-title").inner_text().startswith("The key is forgotten.")


def test_the_page_asks_for_no_key_without_a_keys_file(site: tuple[str, str], page: Page) -> None:
    _, api = site
    page.goto(f"{api}/")
    chat = widget(page)
    chat.locator(".composer textarea").wait_for()
    assert chat.locator(".key-form").count() == 0 and chat.locator("[title='API key']").count() == 0


COMMENT = "It says where, but I asked about the meeting in Rabat."


def exported_down(site_folder: Path) -> list[dict[str, Any]]:
    """``qa feedback export --rating down`` on the site's service, as a person would run it."""
    environment = environment_without_settings()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "qa"), "feedback", "export", "--rating", "down"],
        env={**environment, "QA_DATA_DIR": str(site_folder / "data")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_thumbs_down_with_a_comment_becomes_a_candidate_case(
    site: tuple[str, str], site_folder: Path, page: Page
) -> None:
    host, api = site
    requests = opened(page, f"{host}/plain")
    answer = ask(page, QUESTION, 1)
    down = answer.locator(".thumb-down")
    assert down.get_attribute("aria-pressed") == "false" and down.get_attribute("title") == (
        "Not helpful"
    )
    down.click()
    assert down.get_attribute("aria-pressed") == "true"
    assert answer.locator(".thumb-up").get_attribute("aria-pressed") == "false"
    comment = answer.locator(".comment textarea")
    label = answer.locator(f"label[for='{comment.get_attribute('id')}']")
    assert label.inner_text() == "What was wrong with it? (optional)"
    comment.fill(COMMENT)
    answer.locator(".send-comment").click()
    note = answer.locator(".feedback-note")
    note.filter(has_text="Thank you: your comment was sent.").wait_for()

    sent = [r for r in requests if r.url == f"{api}/v1/feedback" and r.method == "POST"]
    first, second = [json.loads(r.post_data or "") for r in sent]
    # The rating at once, then again with the comment: the service keeps the last.
    shown = answer.locator(".text").inner_text()
    assert re.sub(r"\[(\d+)\]", r"\1", first["answer"]) == shown
    assert first == {
        "question": QUESTION,
        "answer": first["answer"],
        "answer_id": first["answer_id"],
        "rating": "down",
    }
    assert second == {**first, "comment": COMMENT}
    [case] = [case for case in exported_down(site_folder) if case["feedback"]["comment"] == COMMENT]
    assert case["question"] == QUESTION and case["answerable"] and case["answers"] == []
    # Kept with the answer's record: the answer and the quotes it was given with.
    assert case["feedback"]["answer_id"] == first["answer_id"]
    assert case["feedback"]["given_answer"] == first["answer"]
    quotes = case["feedback"]["quotes"]
    assert quotes and all(
        quote["quote"] in (INTERPOL_NEWS / quote["doc_id"]).read_text(encoding="utf-8")
        for quote in quotes
    )


def test_the_whole_feedback_flow_by_keyboard(
    site: tuple[str, str], site_folder: Path, page: Page
) -> None:
    host, _ = site
    page.goto(f"{host}/plain")
    chat = widget(page)

    tab_to(page, "launcher")
    page.keyboard.press("Enter")
    page.keyboard.type(XSS_QUESTION)
    page.keyboard.press("Enter")
    answer = chat.locator("article.msg.bot").first
    answer.locator(".actions").wait_for()

    # Back from the question box: the answer's last controls are its thumbs.
    assert tab_to(page, "thumb-down", "Shift+Tab")["text"] == "Not helpful"
    page.keyboard.press("Shift+Tab")
    assert "thumb-up" in focused(page)["cls"]
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    # The comment box takes the focus; Enter sends the comment.
    has_focus = "e => e.getRootNode().activeElement === e"
    assert answer.locator(".comment textarea").evaluate(has_focus)
    assert answer.locator(".thumb-down").get_attribute("aria-pressed") == "true"
    page.keyboard.type("The soup is not what I asked about.")
    page.keyboard.press("Enter")
    answer.locator(".feedback-note").filter(has_text="your comment was sent").wait_for()
    # The focus goes back to the thumb pressed, and the chat says it was sent.
    assert "thumb-down" in focused(page)["cls"]
    said = chat.locator("[role=status]", has_text="Thank you: your comment was sent.")
    said.wait_for(state="attached")
    cases = [c for c in exported_down(site_folder) if c["question"] == XSS_QUESTION]
    assert [c["feedback"]["comment"] for c in cases] == ["The soup is not what I asked about."]
