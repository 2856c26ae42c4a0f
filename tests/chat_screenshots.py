"""The chat's pictures in docs/images: the widget on an intranet page, answering with a source
open, at a desktop's width and a phone's. ``make screenshots`` (or ``python -m
tests.chat_screenshots``) takes them again after a change to the widget."""

import tempfile
from pathlib import Path

from playwright.sync_api import Browser, ViewportSize

from qa_service.embedders.sentence_transformer import SentenceTransformerEmbedder
from tests.chat_pages import ask, chat_site, chromium, widget
from tests.conftest import REPO

IMAGES = REPO / "docs" / "images"
QUESTION = "Who heads Morocco's judicial police?"
SIZES = {
    "chat-widget-desktop.png": (ViewportSize(width=1280, height=820), 1),
    "chat-widget-phone.png": (ViewportSize(width=390, height=844), 2),
}


def take(browser: Browser, host: str, name: str) -> Path:
    viewport, scale = SIZES[name]
    context = browser.new_context(viewport=viewport, device_scale_factor=scale)
    page = context.new_page()
    page.goto(f"{host}/plain")
    widget(page).locator(".launcher").click()
    answer = ask(page, QUESTION, 1)
    answer.locator(".text .chip").first.click()
    answer.locator(".card mark").wait_for()
    # The question asked in sight, above its answer.
    answer.evaluate("article => article.previousElementSibling.scrollIntoView({block: 'start'})")
    page.mouse.move(0, 0)
    # The focus ring of the chip's card stays out of the picture.
    page.evaluate("document.querySelector('qa-chat').shadowRoot.activeElement.blur()")
    path = IMAGES / name
    page.screenshot(path=str(path))
    context.close()
    return path


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    embedder = SentenceTransformerEmbedder()
    with (
        tempfile.TemporaryDirectory() as folder,
        chat_site(Path(folder), embedder) as (host, _),
        chromium() as browser,
    ):
        for name in SIZES:
            print(take(browser, host, name))


if __name__ == "__main__":
    main()
