"""A real service answering from interpol-news without a model, the intranet-like pages that
embed its chat widget with one tag, and the browser that opens them: Debian's Chromium driven
by Playwright. For the browser tests (tests/test_chat_browser.py) and the screenshots in
docs/images (``python -m tests.chat_screenshots``)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, Playwright, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from qa_service.core.config import Settings
from qa_service.embedders.base import Embedder
from qa_service.services import Services, build_api
from tests.conftest import INTERPOL_NEWS
from tests.servers import serving

CHROMIUM = Path("/usr/bin/chromium")
QUESTION = "Where did the Chiefs of Police meet?"
FOLLOW_UP = "What was discussed there?"
# A document whose text and title hold markup: the chat must show it as characters.
XSS_TITLE = "Canteen notice <img src=x onerror=window.__qaXss=1>"
XSS_TEXT = (
    f"{XSS_TITLE}\n\n"
    "The canteen menu board shows <img src=x onerror=window.__qaXss=2> and "
    "<script>window.__qaXss=3</script> beside the soup of the day.\n"
)
XSS_QUESTION = "What does the canteen menu board show beside the soup of the day?"
KEY = "widget-test-key"

# A page of the organisation's intranet, plain; the widget is the one script tag at its end.
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Staff intranet</title>
<style>
body {{ margin: 0; font: 16px/1.55 Georgia, serif; color: #222; background: #fafafa; }}
header {{ background: #3a4750; color: #fff; padding: 14px 32px; font: 600 18px Arial, sans-serif; }}
nav {{ background: #e9ecef; padding: 8px 32px; font: 14px Arial, sans-serif; }}
nav a {{ color: #234; margin-right: 18px; }}
main {{ max-width: 760px; padding: 24px 32px; }}
h1 {{ font: 600 26px Arial, sans-serif; margin: 0 0 12px; }}
{style}
</style>
</head>
<body>
<header>Staff intranet</header>
<nav><a href="#">News</a><a href="#">Procedures</a><a href="#">Directory</a>
<a href="#">IT help</a></nav>
<main>
<h1>Regional cooperation: news digest</h1>
<p id="host-text">This week's digest gathers press coverage of the regional police chiefs'
meetings and of the cybercrime training programme. Ask the documents with the button below
and right: every answer quotes the articles it comes from.</p>
<p>Questions about the digest go to the communications unit.</p>
</main>
<script src="{api}/widget.js" data-endpoint="{api}" data-key="{key}" defer></script>
</body>
</html>
"""
# A host page whose rules would wreck any widget that shared its styles.
HOSTILE_STYLE = """
* { color: red !important; font-size: 40px !important; font-family: serif !important;
    line-height: 3 !important; letter-spacing: 3px !important; }
div, p, section, button, textarea, h2, ol, li, article {
    padding: 30px !important; margin: 12px !important; background: yellow !important;
    border: 6px solid green !important; display: block !important; }
"""


def _host_app(api: dict[str, str]) -> Starlette:
    def page(request: Request) -> HTMLResponse:
        style = HOSTILE_STYLE if request.path_params["name"] == "hostile" else ""
        return HTMLResponse(PAGE.format(api=api["url"], key=KEY, style=style))

    return Starlette(routes=[Route("/{name}", page)])


@contextmanager
def chat_site(
    data_dir: Path, embedder: Embedder, api_keys_file: Path | None = None
) -> Iterator[tuple[str, str]]:
    """The intranet pages (at ``host/plain`` and ``host/hostile``) and the service answering
    from interpol-news and a notice holding markup, which lets the pages' origin call it (with
    ``api_keys_file``, only with a key); yields (host URL, service URL)."""
    notices = data_dir / "notices"
    notices.mkdir(parents=True)
    (notices / "canteen.txt").write_text(XSS_TEXT, encoding="utf-8")
    api: dict[str, str] = {}
    with serving(_host_app(api)) as host:
        settings = Settings(
            data_dir=data_dir / "data",
            llm="extractive",
            cors_origins=[host],
            api_keys_file=api_keys_file,
        )
        services = Services(settings, embedder=embedder)
        services.ingestor.run([INTERPOL_NEWS, notices])
        app = build_api(settings, services)
        with serving(app) as url:
            assert app.state.qa.wait(timeout=120) and app.state.qa.services is not None
            api["url"] = url
            yield host, url


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright never downloads a browser of its own."""
    with sync_playwright() as playwright:
        yield launch(playwright)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)


def widget(page: Page) -> Locator:
    """The chat's shadow root, where Playwright's CSS locators pierce."""
    return page.locator("qa-chat")


def ask(page: Page, question: str, answers: int) -> Locator:
    """Types ``question``, sends it with Enter and waits for the ``answers``-th answer to end."""
    chat = widget(page)
    chat.locator(".composer textarea").fill(question)
    chat.locator(".composer textarea").press("Enter")
    answer = chat.locator("article.msg.bot").nth(answers - 1)
    answer.locator(".actions, .refusal, .error").first.wait_for()
    return answer


def tab_to(page: Page, kind: str, key: str = "Tab") -> dict[str, Any]:
    """Presses ``key`` until an element of class ``kind`` has the focus; what it is then."""
    for _ in range(30):
        page.keyboard.press(key)
        now = focused(page)
        if kind in now["cls"].split():
            return now
    raise AssertionError(f"{key} never reached a {kind}")


def focused(page: Page) -> dict[str, Any]:
    """What has the keyboard focus, inside the widget's shadow root too."""
    found: dict[str, Any] = page.evaluate(
        """() => {
            let element = document.activeElement;
            while (element && element.shadowRoot && element.shadowRoot.activeElement) {
                element = element.shadowRoot.activeElement;
            }
            return {
                tag: element ? element.tagName.toLowerCase() : null,
                cls: element ? element.getAttribute("class") || "" : "",
                text: element ? element.textContent : "",
                label: element ? element.getAttribute("aria-label") || "" : "",
            };
        }"""
    )
    return found
